"""Reading an outbox stream through a consumer group: new entries, and stalled ones reclaimed.

Every outbox (webhook events, connector pushes, outbound mail) is a Redis Stream the
change's own script appended to. A worker reads it through a consumer group, so an
entry a worker read but never acknowledged stays pending: a worker killed mid-delivery
leaves it there, and another (or the same one restarted) claims it once it has been
idle for ``visibility_ms`` and its backoff has run out. What a delivery is, and when it
is acknowledged, is the worker's business; this module only hands out the due entries.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import redis

from .calendar_pool import CalendarPool
from .cooldown import Cooldowns

#: One due entry: (stream entry id, its fields, which attempt this is: 1 = first).
Due = tuple[str, dict[str, str], int]


@dataclass(frozen=True)
class RetryPolicy:
    #: An entry read but not acknowledged is reclaimed after this long idle.
    visibility_ms: int = 30_000
    #: Retry n waits ``backoff_base_ms * 2**(n-1)`` (capped), and at least visibility.
    backoff_base_ms: int = 1_000
    backoff_cap_ms: int = 10 * 60_000
    max_attempts: int = 10
    batch: int = 100
    #: The longest a worker spends on one calendar's entries in one pass before it goes
    #: on to the next calendar (one worker serves them all). What is left is offered
    #: first on the next pass as the same attempt, so a slow receiver or calendar server
    #: costs the calendars behind it this plus one call per pass, not a batch of timeouts.
    calendar_budget_seconds: float = 10.0
    #: A target (webhook endpoint, calendar connector) that failed without answering is
    #: not called for this long; each such failure in a row doubles it, up to
    #: ``backoff_cap_ms``. A calendar whose every target is cooling down is not read
    #: meanwhile (coordinator/cooldown.py).
    cooldown_seconds: float = 30.0
    #: How many calendars a worker serves at once, one thread each (calendar_pool.py):
    #: a calendar whose server takes its whole deadline holds one thread, not the pass.
    calendars_at_once: int = 4

    def __post_init__(self) -> None:
        if not self.cooldown_seconds > 0:
            raise ValueError(f"cooldown_seconds must be above 0, got {self.cooldown_seconds}")
        if not (isinstance(self.calendars_at_once, int) and self.calendars_at_once >= 1):
            raise ValueError(f"calendars_at_once must be 1 or more, got {self.calendars_at_once}")

    def calendar_pool(self, name: str) -> CalendarPool:
        """A worker's pool for the calendars of its passes, by this policy."""
        return CalendarPool(self.calendars_at_once, name)

    def cooldowns(self) -> Cooldowns:
        """A worker's cool-down book for its targets, by this policy."""
        return Cooldowns(
            self.cooldown_seconds, max(self.cooldown_seconds, self.backoff_cap_ms / 1000)
        )

    def retry_wait(self, attempts: int) -> int:
        """How long after its ``attempts``-th try an entry is tried again (ms)."""
        backoff = self.backoff_base_ms * 2 ** max(0, attempts - 1)
        return max(self.visibility_ms, min(self.backoff_cap_ms, backoff))


def consumer_name(worker: object) -> str:
    """A consumer name unique to this process and worker object."""
    return f"{socket.gethostname()}-{os.getpid()}-{id(worker):x}"


class StreamReader:
    """One consumer of a group over any number of outbox streams."""

    def __init__(self, client: Any, group: str, consumer: str, policy: RetryPolicy) -> None:
        self.r = client
        self.group = group
        self.consumer = consumer
        self.policy = policy
        #: Streams whose group this reader has made sure of (once per process).
        self._grouped: set[str] = set()
        #: Per stream, entries read before their ``not_before_ms``: (fields, attempt).
        self._held: dict[str, dict[str, tuple[dict[str, str], int]]] = {}

    def ensure_group(self, stream: str) -> None:
        if stream in self._grouped:
            return
        try:
            self.r.xgroup_create(stream, self.group, id="0", mkstream=True)
        except redis.exceptions.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._grouped.add(stream)

    def due(self, stream: str, skip: frozenset[str] | set[str] = frozenset()) -> list[Due]:
        """Reclaimable entries (past their backoff), then new ones; ``skip`` ids are held
        by this worker already."""
        self.ensure_group(stream)
        try:
            out = list(self.reclaim(stream, skip))
            fresh = self.r.xreadgroup(
                self.group, self.consumer, {stream: ">"}, count=self.policy.batch
            )
        except redis.exceptions.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            self._grouped.discard(stream)  # the stream was removed: make it again next time
            return []
        for _, items in fresh or []:
            out += [(eid, fields, 1) for eid, fields in items]
        return out

    def past_window(self, stream: str, clock: Callable[[], int]) -> tuple[list[Due], int]:
        """:meth:`due` entries whose ``not_before_ms`` (an arbitration window) has passed
        by ``clock`` (the store's, in ms), and the time it gave (0 if nothing was read).

        The clock is read after the entries, so one written before the read is never
        judged by an older time. An entry still inside its window is held by this reader
        and offered again on a later call, rather than left pending until the visibility
        timeout reclaims it (30 s by default)."""
        held = self._held.setdefault(stream, {})
        entries = [(eid, fields, n) for eid, (fields, n) in held.items()]
        entries += self.due(stream, skip=set(held))
        if not entries:
            return [], 0
        now = clock()
        ready: list[Due] = []
        for eid, fields, n in entries:
            if now < int(fields.get("not_before_ms") or 0):
                held[eid] = (fields, n)
            else:
                held.pop(eid, None)
                ready.append((eid, fields, n))
        return ready, now

    def handle_in_turn(
        self,
        stream: str,
        entries: list[Due],
        handle: Callable[[str, dict[str, str], int], int],
        *,
        go_on: Callable[[], bool] = lambda: True,
    ) -> int:
        """``handle`` entries in order while ``go_on()`` holds (the calendar's targets are
        not all cooling down), the first whatever the time, the rest while the policy's
        ``calendar_budget_seconds`` lasts; hold what is left (see :meth:`hold`). Returns
        the sum of what ``handle`` returned."""
        end = time.monotonic() + self.policy.calendar_budget_seconds
        total = 0
        for i, (eid, fields, n) in enumerate(entries):
            if not go_on() or (i and time.monotonic() >= end):
                self.hold(stream, entries[i:])
                break
            total += handle(eid, fields, n)
        return total

    def hold(self, stream: str, entries: list[Due]) -> None:
        """Keep entries this worker read but did not get to (its time for the stream ran
        out): :meth:`past_window` offers them first next time, as the same attempt. A
        worker that dies meanwhile leaves them pending, for another to reclaim."""
        held = self._held.setdefault(stream, {})
        for eid, fields, n in entries:
            held[eid] = (fields, n)

    def reclaim(self, stream: str, skip: frozenset[str] | set[str] = frozenset()) -> Iterator[Due]:
        p = self.policy
        pending = self.r.xpending_range(
            stream, self.group, min="-", max="+", count=p.batch, idle=p.visibility_ms
        )
        for entry in pending:
            if entry["message_id"] in skip:
                continue
            n = int(entry["times_delivered"])
            wait = p.retry_wait(n)
            if int(entry["time_since_delivered"]) < wait:
                continue
            claimed = self.r.xclaim(stream, self.group, self.consumer, wait, [entry["message_id"]])
            for eid, fields in claimed:
                if fields:
                    yield eid, fields, n + 1

    def touch(self, stream: str, entry_id: str) -> None:
        """Reset the entry's idle time (it is being worked on now), so no other worker
        reclaims it during a slow delivery."""
        self.r.xclaim(stream, self.group, self.consumer, 0, [entry_id], justid=True)


def run_rounds(
    stop: threading.Event,
    one_round: Callable[[], int],
    *,
    what: str,
    log: logging.Logger,
    idle_wait_seconds: float = 0.2,
) -> None:
    """Call ``one_round`` until ``stop``: at once again while it did work, after
    ``idle_wait_seconds`` when it did none, after a second when Redis is gone or the
    round raised (a bug in one round must not end the worker)."""
    while not stop.is_set():
        try:
            if one_round() == 0:
                stop.wait(idle_wait_seconds)
        except redis.exceptions.ConnectionError as exc:
            log.warning("%s lost Redis: %s", what, exc)
            stop.wait(1.0)
        except Exception:
            log.exception("%s round failed", what)
            stop.wait(1.0)
