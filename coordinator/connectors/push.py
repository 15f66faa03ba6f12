"""Push: make the owner's real calendar agree with the bookings, from the per-calendar outbox.

The booking's own script appends ``{booking_id, type, not_before_ms}`` to
``P..'cxoutbox'`` (see ``_lib.lua``) in the same atomic step as the change. A pusher
reads it through a consumer group; an entry is handled only once its arbitration
window has closed (``not_before_ms``, server clock) and then converges the calendar to
the booking's CURRENT state: a live commit gets its one VEVENT (UID from the booking id,
``If-None-Match: *``), anything else has it deleted. So a loser never reaches the
calendar, a retry never makes a second event, and an entry handled twice (a pusher
killed before it acknowledged) changes nothing the second time. Failures back off
exponentially; after ``max_attempts`` the entry moves to ``P..'cxoutbox:dead'``. A
connector whose server failed to answer cools down (coordinator/cooldown.py): it is
neither pushed to nor pulled meanwhile, and a calendar whose every push target is
cooling down is not read.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from ..bookings import Bookings
from ..cooldown import Cooldowns
from ..outbox import RetryPolicy, StreamReader, consumer_name
from ..store.records import read_booking
from .adapters.base import CalendarAdapter, RemoteRef
from .errors import ConnectorError, ConnectorUnreachable
from .ical import booking_event, booking_uid
from .models import Connector
from .pull import server_now_ms
from .registry import Connectors

log = logging.getLogger("coordinator.connectors")
GROUP = "push"
_DONE_TTL_SECONDS = 7 * 24 * 3600


def note_outcome(cooldowns: Cooldowns, connector_id: str, exc: ConnectorError) -> None:
    """Cool the connector down if its server did not answer; an answer, even a refusal,
    ends a cool-down."""
    if isinstance(exc, ConnectorUnreachable):
        seconds = cooldowns.failed(connector_id, exc.error)
        log.info("connector %s is not called again for %g s", connector_id, seconds)
    else:
        cooldowns.answered(connector_id)


@dataclass(frozen=True)
class PushSettings(RetryPolicy):
    """The push outbox's retry policy (visibility, backoff, attempts; coordinator/outbox.py)."""


class Pusher:
    """Delivers every calendar's push outbox; several may run (they share the group)."""

    def __init__(
        self,
        engine: Bookings,
        connectors: Connectors,
        settings: PushSettings | None = None,
        *,
        consumer: str | None = None,
        cooldowns: Cooldowns | None = None,
    ) -> None:
        self.bookings = engine
        self.r = engine.redis
        self.keys = engine.keys
        self.connectors = connectors
        self.settings = settings or PushSettings()
        self.consumer = consumer or consumer_name(self)
        self.reader = StreamReader(self.r, GROUP, self.consumer, self.settings)
        #: connector id -> (the connector it was built for, its adapter).
        self._adapters: dict[str, tuple[Connector, CalendarAdapter]] = {}
        #: Connectors whose server just failed to answer are not called for a while
        #: (coordinator/cooldown.py); the sync worker's pulls share this book.
        self.cooldowns = cooldowns or self.settings.cooldowns()
        #: Per calendar, its push targets' ids when it was last served (see _calendar).
        self._target_ids: dict[str, list[str]] = {}
        #: Calendars are served a few at a time (calendar_pool.py); each connector's
        #: adapter has its own session and sockets, used by one calendar's thread.
        self.pool = self.settings.calendar_pool("push")

    def run_once(self) -> int:
        """Handle every due entry of every calendar; returns how many were settled."""
        owners = [u for u in self.connectors.owners() if self.r.exists(self.keys.push_targets(u))]
        return self.pool.serve(owners, self._calendar)

    def _calendar(self, user_id: str) -> int:
        if self.cooldowns.all_cooling(self._target_ids.get(user_id, ())):
            # Every calendar server it pushed to failed to answer just now. The owner may
            # have connected another since: its list is one small read, its entries are not.
            listed = [c.connector_id for c in self.connectors.list(user_id) if c.pushes]
            self._target_ids[user_id] = listed
            if self.cooldowns.all_cooling(listed):
                return 0
        stream = self.keys.push_outbox(user_id)
        # An entry inside its arbitration window waits in the reader until it is due.
        entries, _ = self.reader.past_window(stream, lambda: server_now_ms(self.bookings, user_id))
        if not entries:
            return 0
        targets = [c for c in self.connectors.list(user_id) if c.pushes]
        ids = self._target_ids[user_id] = [c.connector_id for c in targets]
        return self.reader.handle_in_turn(
            stream,
            entries,
            lambda eid, fields, attempt: self._handle(
                user_id, stream, eid, fields, attempt, targets
            ),
            go_on=lambda: not self.cooldowns.all_cooling(ids),
        )

    def _adapter(self, c: Connector) -> CalendarAdapter:
        """This pusher's adapter for ``c``, kept across passes (rebuilt if ``c`` changed)."""
        cached = self._adapters.get(c.connector_id)
        if cached is not None and cached[0] == c:
            return cached[1]
        if cached is not None:
            cached[1].close()
        adapter = self.connectors.adapter(c)
        self._adapters[c.connector_id] = (c, adapter)
        return adapter

    def _drop(self, connector_id: str) -> None:
        cached = self._adapters.pop(connector_id, None)
        if cached is not None:
            cached[1].close()

    def close(self) -> None:
        for _, adapter in list(self._adapters.values()):
            adapter.close()
        self._adapters.clear()

    def _handle(
        self,
        user_id: str,
        stream: str,
        eid: str,
        fields: dict[str, str],
        attempt: int,
        targets: list[Connector],
    ) -> int:
        k = self.keys
        bid = fields["booking_id"]
        rec = read_booking(self.r.hget(k.bookings(user_id), bid), bid)
        present = bool(rec and rec["status"] == "COMMITTED" and not rec.get("lost_in_window"))
        done_key = k.prefix(user_id) + f"cxdone:{eid}"
        done = set(self.r.smembers(done_key))
        ok = True
        for c in targets:
            if c.connector_id in done:
                continue
            if self.cooldowns.remaining(c.connector_id) > 0:
                ok = False  # it failed to answer just now: a failed attempt, no call made
                continue
            try:
                self._converge(c, self._adapter(c), bid, rec if present else None)
            except ConnectorError as exc:
                self._drop(c.connector_id)  # reconnect next time (the server may be back)
                log.info("push of %s to %s failed: %s", bid, c.connector_id, exc.detail)
                note_outcome(self.cooldowns, c.connector_id, exc)
                self.connectors.record_error(c, exc)
                ok = False
                continue
            self.cooldowns.answered(c.connector_id)
            pipe = self.r.pipeline(transaction=False)
            pipe.sadd(done_key, c.connector_id)
            pipe.expire(done_key, _DONE_TTL_SECONDS)
            pipe.hset(
                k.connector_state(user_id, c.connector_id),
                "last_push_ms",
                str(server_now_ms(self.bookings, user_id)),
            )
            pipe.execute()
        if ok:
            self._settle(stream, eid, done_key)
            return 1
        if attempt >= self.settings.max_attempts:
            self.r.xadd(stream + ":dead", {**fields, "attempts": str(attempt)})
            self._settle(stream, eid, done_key)
            log.error("push of %s dead-lettered after %d attempts", bid, attempt)
        return 0

    def _settle(self, stream: str, eid: str, done_key: str) -> None:
        pipe = self.r.pipeline(transaction=False)
        pipe.xack(stream, GROUP, eid)
        pipe.xdel(stream, eid)
        pipe.delete(done_key)
        pipe.execute()

    def _converge(
        self, c: Connector, adapter: CalendarAdapter, bid: str, rec: dict[str, Any] | None
    ) -> None:
        """Make ``c``'s calendar hold ``rec``'s event if it is a live commit, else none."""
        pushed_key = self.keys.connector_pushed(c.user_id, c.connector_id)
        uid = booking_uid(bid)
        stored = self.r.hget(pushed_key, bid)
        if rec is not None:
            if stored:
                return  # already on the calendar (bookings do not move in place)
            made = adapter.create(uid, booking_event(rec, c.user_id))
            self.r.hset(pushed_key, bid, json.dumps({"href": made.href, "etag": made.etag}))
            return
        ref: RemoteRef | None = RemoteRef(**json.loads(stored)) if stored else None
        href_for = getattr(adapter, "href_for", None)
        if ref is None and href_for is not None:
            ref = RemoteRef(href_for(uid))  # a create may have landed before a crash
        if ref is not None:
            adapter.delete(ref)
        self.r.hdel(pushed_key, bid)
