"""The sync worker: pulls each connector when due and pushes every calendar's outbox.

Run it standalone (``coordinator connectors sync``) or inside ``coordinator serve``
(its lifespan starts one unless switched off). Several workers may run: a pull takes a
per-connector lease, and pushes share a consumer group. A failing calendar is recorded
in its connector's status and retried on the next round; it never stops the worker.
Pulls, like pushes, run a few calendars at once on the pusher's pool
(coordinator/calendar_pool.py), and a connector cooling down is not pulled.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from ..bookings import Bookings
from ..cooldown import Cooldowns
from ..outbox import run_rounds
from .errors import ConnectorError
from .push import Pusher, PushSettings, note_outcome
from .registry import Connectors

log = logging.getLogger("coordinator.connectors")


class SyncWorker:
    """Pull every ``pull_interval_seconds``; push as soon as an entry is due."""

    def __init__(
        self,
        engine: Bookings,
        connectors: Connectors,
        *,
        pull_interval_seconds: float = 60.0,
        push: PushSettings | None = None,
        consumer: str | None = None,
        cooldowns: Cooldowns | None = None,
    ) -> None:
        self.connectors = connectors
        self.pull_interval = pull_interval_seconds
        self.pusher = Pusher(engine, connectors, push, consumer=consumer, cooldowns=cooldowns)
        #: Shared with the pusher: a server that failed a push is not pulled either.
        self.cooldowns = self.pusher.cooldowns
        self._next_pull: dict[str, float] = {}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def run_once(self) -> tuple[int, int]:
        """One round: the pulls that are due, then the pushes. Returns (pulls, pushes)."""
        now = time.monotonic()
        due: list[str] = []
        for user_id in self.connectors.owners():
            for c in self.connectors.list(user_id):
                if not c.pulls or self._next_pull.get(c.connector_id, 0.0) > now:
                    continue
                if self.cooldowns.remaining(c.connector_id) > 0:
                    continue  # its server failed to answer just now (cooldown.py)
                self._next_pull[c.connector_id] = now + self.pull_interval
                due.append(c.connector_id)
        # A few at a time, on the pusher's pool: a slow calendar holds one thread.
        pulls = self.pusher.pool.serve(due, self._pull)
        return pulls, self.pusher.run_once()

    def _pull(self, connector_id: str) -> int:
        try:
            self.connectors.sync(connector_id)
        except ConnectorError as exc:  # recorded in status by sync()
            log.info("pull of %s failed: %s", connector_id, exc.detail)
            note_outcome(self.cooldowns, connector_id, exc)
            return 0
        self.cooldowns.answered(connector_id)
        return 1

    def run_forever(self, stop: threading.Event, idle_wait_seconds: float = 0.1) -> None:
        try:
            self._loop(stop, idle_wait_seconds)
        finally:
            self.pusher.close()

    def _loop(self, stop: threading.Event, idle_wait_seconds: float) -> None:
        run_rounds(
            stop,
            lambda: sum(self.run_once()),
            what="connector sync",
            log=log,
            idle_wait_seconds=idle_wait_seconds,
        )

    def start(self) -> None:
        """Run in a daemon thread (as ``coordinator serve`` does)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self.run_forever, args=(self._stop,), name="connector-sync", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None


def start_connector_sync(coord: Any) -> SyncWorker | None:
    """The worker ``coordinator serve`` runs in its lifespan (None when switched off)."""
    if not coord.settings.run_connector_sync:
        return None
    worker = SyncWorker(
        coord.bookings,
        coord.connectors,
        pull_interval_seconds=coord.settings.connector_pull_interval_seconds,
    )
    worker.start()
    return worker
