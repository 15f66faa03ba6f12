"""Deliver outbox events to webhook endpoints: at least once, with backoff, crash-safe.

Events are already persisted (by the Lua step that made the change) before any
network call. Each calendar's outbox is a Redis Stream read through a consumer
group, so an event a dispatcher read but never acknowledged stays pending: a
dispatcher killed mid-delivery leaves it there, and the next one claims it once
it has been idle long enough and delivers it. An event is acknowledged only
when every subscribed endpoint answered 2xx; the endpoints that already
answered are remembered so a retry goes only to the others. After
``max_attempts`` an event moves to the calendar's dead-letter stream.

An endpoint whose delivery failed without an answer (refused, timed out, cut off at its
deadline) cools down (coordinator/cooldown.py): while every endpoint of a calendar is
cooling down, its outbox is not read; while one of several is, its share of an event
is a failed attempt with no call made (``CoolingDown`` in the delivery log). A pass
serves a few calendars at once (coordinator/calendar_pool.py), so a slow receiver holds
one thread, not the pass.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from ..buckets import from_ms
from ..cooldown import Cooldowns
from ..coordinator import Coordinator
from ..deadlines import Deadline, SocketSet
from ..outbound import unsafe_cause
from ..outbox import RetryPolicy, StreamReader, consumer_name, run_rounds
from ..store.records import read_booking
from . import deliveries
from .registry import Endpoint, Webhooks
from .signing import HEADER, sign
from .urls import guarded_client

log = logging.getLogger("coordinator.webhooks")
GROUP = "dispatch"
#: The delivery log's error for an endpoint skipped while it cools down (no call made).
_COOLING_DOWN = "CoolingDown"
_DONE_TTL_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class DispatchSettings(RetryPolicy):
    """The outbox's retry policy (visibility, backoff, attempts) and the HTTP timeout.

    ``http_timeout_seconds`` bounds each connect and read, and the whole delivery too:
    a receiver that sends its answer a byte at a time is cut off when it passes, so it
    cannot hold the deliveries of every calendar queued behind it."""

    http_timeout_seconds: float = 10.0


def _iso(ms: Any) -> str | None:
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC).isoformat() if ms else None


def envelope(fields: dict[str, str], extra: dict[str, Any] | None = None) -> bytes:
    """The delivered JSON body: ``{id, type, created, data}``; receivers dedupe on data.id."""
    data = {**json.loads(fields["data"]), **(extra or {})}
    if "start_ms" in data:
        data["start"], data["end"] = _iso(data.pop("start_ms")), _iso(data.pop("end_ms", None))
    for slot in [
        *(data.get("slots") or []),
        data.get("resolved_slot") or {},
        *(data.get("counter_slots") or []),
    ]:
        if "start_ms" in slot:
            slot["start_time"] = _iso(slot.pop("start_ms"))
            slot["end_time"] = _iso(slot.pop("end_ms", None))
    if "expires_ms" in data:
        data["expires_at"] = _iso(data.pop("expires_ms"))
    created = int(fields["id"].rsplit("_", 1)[1].split("-")[0])
    body = {"id": fields["id"], "type": fields["type"], "created": _iso(created), "data": data}
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


class Dispatcher:
    """One delivery worker; several may run at once (they share the consumer group)."""

    def __init__(
        self,
        coord: Coordinator,
        settings: DispatchSettings | None = None,
        *,
        consumer: str | None = None,
        cooldowns: Cooldowns | None = None,
    ) -> None:
        self.coord = coord
        self.r = coord.redis
        self.hooks = Webhooks(coord.store)
        self.settings = settings or DispatchSettings()
        self.consumer = consumer or consumer_name(self)
        self.reader = StreamReader(self.r, GROUP, self.consumer, self.settings)
        #: Calendars are served a few at a time (calendar_pool.py). Each calendar being
        #: served borrows an HTTP client of its own, since a delivery's deadline shuts
        #: down every socket of its client; clients are kept between passes (pooled
        #: connections), at most one per calendar served at once.
        self.pool = self.settings.calendar_pool("webhooks")
        self._local = threading.local()
        self._clients: list[httpx.Client] = []
        self._idle: list[tuple[httpx.Client, SocketSet]] = []
        self._clients_lock = threading.Lock()
        #: Per endpoint, the last ``_post``'s (status code, error), for the delivery log.
        self._outcomes: dict[str, tuple[int | None, str | None]] = {}
        #: Endpoints that just failed to answer are not called for a while (cooldown.py).
        self.cooldowns = cooldowns or self.settings.cooldowns()
        #: Per calendar, its endpoints' ids when it was last read: while every one is
        #: cooling down the calendar's events are not read (see _calendar).
        self._endpoint_ids: dict[str, list[str]] = {}

    def close(self) -> None:
        with self._clients_lock:
            clients, self._clients, self._idle = self._clients, [], []
        for client in clients:
            client.close()

    @contextmanager
    def _client_for_calendar(self) -> Iterator[None]:
        """Lend this thread a client (and its sockets) while it serves one calendar.
        Every connection is checked against the SSRF policy again when it opens (DNS
        rebinding)."""
        with self._clients_lock:
            pair = self._idle.pop() if self._idle else None
        if pair is None:
            sockets = SocketSet()
            client = guarded_client(self.settings.http_timeout_seconds, sockets=sockets)
            pair = (client, sockets)
            with self._clients_lock:
                self._clients.append(client)
        self._local.pair = pair
        try:
            yield
        finally:
            self._local.pair = None
            with self._clients_lock:
                self._idle.append(pair)

    # -- one pass ------------------------------------------------------------------------

    def run_once(self) -> int:
        """Read new and reclaimable events of every calendar; return deliveries made."""
        return self.pool.serve(list(self.hooks.owners()), self._calendar)

    def run_forever(self, stop: threading.Event, idle_wait_seconds: float = 0.2) -> None:
        run_rounds(
            stop,
            self.run_once,
            what="webhook dispatcher",
            log=log,
            idle_wait_seconds=idle_wait_seconds,
        )

    def _calendar(self, user_id: str) -> int:
        if self.cooldowns.all_cooling(self._endpoint_ids.get(user_id, ())):
            # Every receiver it had failed to answer just now. The owner may have added
            # (or removed) one since: its list is one small read, its events are not.
            listed = [ep.endpoint_id for ep in self.hooks.list(user_id)]
            self._endpoint_ids[user_id] = listed
            if self.cooldowns.all_cooling(listed):
                return 0
        stream = self.coord.store.keys.prefix(user_id) + "outbox"
        # The clock that set not_before_ms; an entry inside its window waits in the reader.
        entries, now_ms = self.reader.past_window(
            stream, lambda: self.coord.store.server_now_ms(user_id)
        )
        if not entries:
            return 0
        endpoints = self.hooks.list(user_id)
        ids = self._endpoint_ids[user_id] = [ep.endpoint_id for ep in endpoints]
        with self._client_for_calendar():
            return self.reader.handle_in_turn(
                stream,
                entries,
                lambda eid, f, n: self._handle(user_id, stream, eid, f, n, endpoints, now_ms),
                go_on=lambda: not self.cooldowns.all_cooling(ids),
            )

    def _handle(
        self,
        user_id: str,
        stream: str,
        eid: str,
        fields: dict[str, str],
        attempt: int,
        endpoints: list[Endpoint],
        now_ms: int,
    ) -> int:
        if fields["type"] == "booking.committed" and self._lost_in_window(user_id, fields):
            self.r.xack(stream, GROUP, eid)
            return 0
        done_key = deliveries.done_key(self.coord.store.keys, user_id, fields["id"])
        done = set(self.r.smembers(done_key))
        body = envelope(fields, self._booking_extras(user_id, fields))
        ok = True
        sent = 0
        tried: list[tuple[Endpoint, bool]] = []
        for ep in endpoints:
            if fields["type"] not in ep.events or ep.endpoint_id in done:
                continue
            if fields.get("only", ep.endpoint_id) != ep.endpoint_id:
                continue  # a redelivery the owner asked for one endpoint only
            self._outcomes.pop(ep.endpoint_id, None)
            if self.cooldowns.remaining(ep.endpoint_id) > 0:
                # It failed to answer just now: a failed attempt, with no call made.
                self._outcomes[ep.endpoint_id] = (None, _COOLING_DOWN)
                delivered = False
            else:
                delivered = self._post(ep, body, fields)
            tried.append((ep, delivered))
            if delivered:
                self.r.sadd(done_key, ep.endpoint_id)
                self.r.expire(done_key, _DONE_TTL_SECONDS)
                sent += 1
            else:
                ok = False
        dead = not ok and attempt >= self.settings.max_attempts
        self._log_attempts(user_id, fields, attempt, tried, now_ms, dead)
        if ok:
            self.r.xack(stream, GROUP, eid)
        elif dead:
            dead_letters = self.coord.store.keys.prefix(user_id) + "outbox:dead"
            self.r.xadd(dead_letters, {**fields, "attempts": str(attempt)})
            self.r.xack(stream, GROUP, eid)
            log.error("webhook event %s dead-lettered after %d attempts", fields["id"], attempt)
        return sent

    def _log_attempts(
        self,
        user_id: str,
        fields: dict[str, str],
        attempt: int,
        tried: list[tuple[Endpoint, bool]],
        now_ms: int,
        dead: bool,
    ) -> None:
        """One delivery-log line per endpoint tried (see deliveries.py)."""
        retry = None if dead else from_ms(now_ms + self.settings.retry_wait(attempt))
        for ep, delivered in tried:
            status, error = self._outcomes.get(ep.endpoint_id, (None, None))
            entry = deliveries.Delivery(
                event_id=fields["id"],
                type=fields["type"],
                attempt=attempt,
                at=from_ms(now_ms),
                ok=delivered,
                status_code=status,
                error=error,
                next_retry_at=None if delivered else retry,
                dead_lettered=dead and not delivered,
            )
            deliveries.record(self.r, self.coord.store.keys, user_id, ep.endpoint_id, entry)

    def _booking_extras(self, user_id: str, fields: dict[str, str]) -> dict[str, Any]:
        """A booking event carries the booking's conferencing link (stored with the claim)."""
        bid = (
            json.loads(fields["data"]).get("booking_id")
            if fields["type"].startswith("booking.")
            else None
        )
        raw = self.r.hget(self.coord.store.keys.bookings(user_id), bid) if bid else None
        rec = read_booking(raw, bid) if bid else None
        conferencing = rec.get("conferencing") if rec else None
        return {"conferencing": conferencing} if conferencing else {}

    def _lost_in_window(self, user_id: str, fields: dict[str, str]) -> bool:
        bid = json.loads(fields["data"])["booking_id"]
        rec = read_booking(self.r.hget(self.coord.store.keys.bookings(user_id), bid), bid)
        return bool(rec and rec.get("lost_in_window"))

    def _post(self, ep: Endpoint, body: bytes, fields: dict[str, str]) -> bool:
        headers = {
            "Content-Type": "application/json",
            HEADER: sign(ep.secret, body),
            "X-AgentDraft-Event": fields["type"],
            "X-AgentDraft-Event-Id": fields["id"],
        }
        http, sockets = self._local.pair  # lent by _client_for_calendar
        deadline = Deadline(self.settings.http_timeout_seconds, sockets)
        try:
            # Only the status is read: the receiver's body is left unread (the connection
            # is closed), so an endless or huge one costs neither memory nor the time of
            # every delivery queued behind it; the deadline cuts off a trickled answer.
            with deadline, http.stream("POST", ep.url, content=body, headers=headers) as resp:
                status = resp.status_code
        except httpx.HTTPError as exc:
            error = "DeadlineExceeded" if deadline.expired else type(exc).__name__
            why = f"no answer within {deadline.seconds:g} s" if deadline.expired else exc
            log.info("webhook %s to %s failed: %s", fields["id"], ep.url, why)
            if unsafe_cause(exc) is None:  # a refusal of our own made no call to wait for
                seconds = self.cooldowns.failed(ep.endpoint_id, error)
                log.info("webhook endpoint %s is not called again for %g s", ep.url, seconds)
            self._outcomes[ep.endpoint_id] = (None, error)
            return False
        self.cooldowns.answered(ep.endpoint_id)
        self._outcomes[ep.endpoint_id] = (status, None)
        return 200 <= status < 300
