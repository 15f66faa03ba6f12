"""Background work of a long-running server: restart a dead embedded engine, deliver webhooks.

The embedded engine is a ``redis-server`` the package starts itself; when it
dies, nothing else would start it again, and every request would answer 503
until someone reopened the data folder. :class:`StoreWatch` pings the store
every second from a daemon thread; when the embedded engine does not answer it
calls :func:`~coordinator.store.embedded.open_embedded` for the same folder,
which starts a fresh server on the same data (AOF + RDB) and socket, so the
coordinator's own connection pool simply reconnects. A user-run Redis is only
watched (redis-py reconnects by itself when it comes back); state changes are
logged either way.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from ..store.embedded import open_embedded
from ..webhooks.dispatcher import Dispatcher
from .observe import WEBHOOK_DELIVERIES

log = logging.getLogger("coordinator.server")


class StoreWatch:
    def __init__(
        self, redis_client: Any, *, embedded_dir: str | Path | None, interval: float = 1.0
    ) -> None:
        self.redis = redis_client
        self.embedded_dir = embedded_dir
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.restarts = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="store-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        down = False
        while not self._stop.wait(self.interval):
            try:
                self.redis.ping()
            except Exception as exc:  # any failure means "not answering"
                if not down:
                    log.warning("store not answering: %s", exc)
                down = True
                self._restart_embedded()
                continue
            if down:
                log.warning("store answering again")
                down = False

    def _restart_embedded(self) -> None:
        if self.embedded_dir is None:
            return
        try:
            open_embedded(self.embedded_dir).close()
        except Exception as exc:
            log.warning("embedded engine restart failed: %s", exc)
            return
        self.restarts += 1
        log.warning("embedded engine in %s restarted", self.embedded_dir)


class CountingDispatcher(Dispatcher):
    """The dispatcher, counting each delivery attempt in the server's metrics."""

    def _post(self, ep: Any, body: bytes, fields: dict[str, str]) -> bool:
        ok = super()._post(ep, body, fields)
        WEBHOOK_DELIVERIES.labels("delivered" if ok else "failed").inc()
        return ok


class WebhookThread:
    """A webhook dispatcher running in the server process (``serve --dispatch``)."""

    def __init__(self, coord: Any) -> None:
        self.dispatcher = CountingDispatcher(coord)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.dispatcher.run_forever, args=(self._stop,), name="webhooks", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
        self.dispatcher.close()
