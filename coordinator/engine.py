"""Booking transitions: validate, make one script call, map the reply.

Each public method checks its input first (a bad request never reaches Redis),
then makes the single atomic call for its transition, then turns the script's
small JSON reply into a :class:`~coordinator.models.Booking` or a typed error.
The only extra round trips are the arbitration-window wait of a winning write
from an agent that is not its owner's top-ranked one (a BLPOP that returns the
moment a better write displaces it) and a read to confirm the outcome.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Literal

from .buckets import check_buffer, check_interval, cover, parse_time, to_ms
from .errors import (
    AgentDraftError,
    AuthError,
    Conflict,
    Gone,
    IdempotencyMismatch,
    InvalidState,
    NotFound,
    ValidationError,
)
from .models import Booking, Displacement
from .settings import Settings
from .store.connect import MAX_BLOCK_SECONDS, STORE_ERRORS, unavailable
from .store.keys import Keys
from .store.scripts import Scripts

Mode = Literal["hold", "commit"]

MAX_TITLE = 500
MAX_METADATA_BYTES = 8 * 1024
MAX_IDEMPOTENCY_KEY = 255
_MAX_WINNER_CHAIN = 16
#: Longest single BLPOP; kept under the client's socket timeout (longer waits loop).
_MAX_BLOCK_MS = int(MAX_BLOCK_SECONDS * 1000)


@contextmanager
def store_errors(where: str) -> Iterator[None]:
    """Turn a lost Redis connection into :class:`StoreUnavailable`."""
    try:
        yield
    except STORE_ERRORS as exc:
        raise unavailable(exc, where) from exc


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def _check_idempotency_key(key: str | None) -> None:
    if key is None:
        return
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY:
        raise ValidationError("idempotency_key", f"must be 1..{MAX_IDEMPOTENCY_KEY} characters")
    if not key.isprintable() or any(c.isspace() for c in key):
        raise ValidationError("idempotency_key", "must be printable with no whitespace")


def _check_extras(title: Any, invitee: Any, metadata: Any) -> None:
    if title is not None and (not isinstance(title, str) or len(title) > MAX_TITLE):
        raise ValidationError("title", f"must be text of at most {MAX_TITLE} characters")
    if invitee is not None:
        if not isinstance(invitee, dict) or not set(invitee) <= {"name", "email", "notes"}:
            raise ValidationError("invitee", "must be an object with name, email and notes only")
        if not all(v is None or isinstance(v, str) for v in invitee.values()):
            raise ValidationError("invitee", "name, email and notes must be text")
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise ValidationError("metadata", "must be a JSON object")
        try:
            size = len(json.dumps(metadata))
        except (TypeError, ValueError) as exc:
            raise ValidationError("metadata", f"not JSON-serialisable: {exc}") from None
        if size > MAX_METADATA_BYTES:
            raise ValidationError("metadata", f"larger than {MAX_METADATA_BYTES} bytes")


def _seconds(value: Any, field: str, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= hi:
        raise ValidationError(field, f"must be a number of seconds between 0 and {hi:g}")
    return float(value)


class Engine:
    """The booking state machine of one Redis, shared by every client of a coordinator."""

    def __init__(self, client: Any, settings: Settings) -> None:
        self.redis = client
        self.settings = settings
        self.keys = Keys(settings.namespace)
        self.scripts = Scripts.register(client)

    # -- writes ------------------------------------------------------------------------

    def write(
        self,
        *,
        user_id: str,
        agent_id: str,
        key_hash: str,
        mode: Mode,
        start: datetime | str,
        end: datetime | str,
        buffer_before_min: int = 0,
        buffer_after_min: int = 0,
        bump_window_seconds: float | None = None,
        hold_ttl_seconds: float | None = None,
        idempotency_key: str | None = None,
        title: str | None = None,
        invitee: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Booking:
        """Place a hold or a commit: all of its buckets or none.

        Returns the booking once its win is certain; raises :class:`Conflict` if
        it lost, now or inside the arbitration window.
        """
        if mode not in ("hold", "commit"):
            raise ValidationError("mode", "must be 'hold' or 'commit'")
        s = parse_time(start, "start")
        e = parse_time(end, "end")
        check_interval(s, e, self.settings.max_booking_minutes)
        before = check_buffer(buffer_before_min, "buffer_before_min")
        after = check_buffer(buffer_after_min, "buffer_after_min")
        bump = _seconds(
            self.settings.bump_window_seconds if bump_window_seconds is None
            else bump_window_seconds,
            "bump_window_seconds", 7 * 24 * 3600,
        )
        ttl = _seconds(
            self.settings.hold_ttl_seconds if hold_ttl_seconds is None else hold_ttl_seconds,
            "hold_ttl_seconds", 24 * 3600,
        )
        if mode == "hold" and ttl <= 0:
            raise ValidationError("hold_ttl_seconds", "must be positive")
        _check_idempotency_key(idempotency_key)
        _check_extras(title, invitee, metadata)

        c = cover(s, e, before, after)
        static = {
            "start_ms": to_ms(s), "end_ms": to_ms(e),
            "cover_first": c.first, "cover_last": c.last,
            "buffer_before_min": before, "buffer_after_min": after,
            "title": title or "", "invitee": invitee or False, "metadata": metadata or False,
        }
        request_hash = hashlib.sha256(
            json.dumps(
                {"mode": mode, "bump": bump, "ttl": ttl if mode == "hold" else None, **static},
                sort_keys=True,
            ).encode()
        ).hexdigest()
        booking_id = new_id("hld" if mode == "hold" else "bkg")
        k = self.keys
        days = list(c.days())
        keys = [
            k.owner(user_id), k.bookings(user_id), k.agents(user_id), k.audit(user_id),
            k.idempotency(user_id, agent_id, idempotency_key or "-"),
            k.agent(user_id, agent_id),
            *(k.day(user_id, d) for d, _, _ in days),
        ]
        args: list[Any] = [
            agent_id, booking_id, request_hash, json.dumps(static),
            int(ttl * 1000), int(bump * 1000), self.settings.arbitration_window_ms,
            self.settings.idempotency_ttl_seconds if idempotency_key else 0,
            len(days), key_hash,
        ]
        for _, first, last in days:
            args += [first, last]
        script = self.scripts.hold if mode == "hold" else self.scripts.commit
        with store_errors(mode):
            reply = json.loads(script(keys=keys, args=args))
        return self._settle_write(user_id, reply)

    def _settle_write(self, user_id: str, reply: dict[str, Any]) -> Booking:
        r = reply["r"]
        if r == "error":
            raise self._error(reply["error"], user_id)
        if r == "conflict":
            raise self._conflict(reply)
        if r == "replay":
            stored = reply["stored"]
            if stored["r"] == "conflict":
                raise self._conflict(stored["c"])
            booking, now = self._read(user_id, stored["id"])
            return self._await_window(user_id, booking, now, ())
        rec = reply["booking"]
        displaced = tuple(Displacement(**d) for d in (reply.get("displaced") or []))
        if reply["wait_ms"] <= 0:
            return Booking.from_record(rec, user_id, displaced=displaced)
        return self._await_window(user_id, rec, reply["now"], displaced)

    def _await_window(
        self, user_id: str, rec: dict[str, Any], now: int, displaced: tuple[Displacement, ...]
    ) -> Booking:
        """Answer a write once its outcome is certain.

        Inside the arbitration window a better write may still displace this one.
        We block on the booking's wake-up list, which the displacing script pushes
        to, so a loser hears at once; a winner hears when the window closes on the
        server's clock, which is also the clock the scripts compare against.
        """
        started = now
        while True:
            if rec.get("lost_in_window"):
                raise self._lost_in_window(user_id, rec)
            remaining = rec["arb_until_ms"] - now
            if rec["status"] not in ("HOLD", "COMMITTED") or remaining <= 0:
                return Booking.from_record(
                    rec, user_id, now, displaced=displaced, waited_ms=max(0, now - started)
                )
            with store_errors("arbitration wait"):
                timeout_ms = min(max(remaining, 1), _MAX_BLOCK_MS)
                self.redis.blpop([self.keys.wake(user_id, rec["id"])], timeout_ms / 1000)
            rec, now = self._read(user_id, rec["id"])

    def release(self, *, user_id: str, agent_id: str, key_hash: str, hold_id: str) -> Booking:
        """Give back a live hold; a hold past its TTL raises :class:`Gone`."""
        return self._end(self.scripts.release, "release", user_id, agent_id, key_hash, hold_id)

    def cancel(self, *, user_id: str, agent_id: str, key_hash: str, booking_id: str) -> Booking:
        """Cancel the caller's own live commit (or hold)."""
        return self._end(self.scripts.cancel, "cancel", user_id, agent_id, key_hash, booking_id)

    def _end(
        self, script: Any, what: str, user_id: str, agent_id: str, key_hash: str, bid: str
    ) -> Booking:
        if not isinstance(bid, str) or not bid or len(bid) > 64:
            raise ValidationError("booking_id", "must be a booking id such as bkg_… or hld_…")
        k = self.keys
        keys = [k.owner(user_id), k.bookings(user_id), k.agents(user_id), k.audit(user_id),
                k.agent(user_id, agent_id)]
        with store_errors(what):
            reply = json.loads(script(keys=keys, args=[agent_id, bid, key_hash]))
        if reply["r"] == "ok":
            return Booking.from_record(reply["booking"], user_id)
        code = reply["error"]
        if code == "expired":
            raise Gone(f"hold {bid} expired before it was released", error="hold_expired")
        if code == "invalid_state":
            status = reply["booking"]["status"]
            if status == "HOLD":
                status = "EXPIRED"
            raise InvalidState(f"cannot {what} {bid}: it is {status}", booking_status=status)
        raise self._error(code, user_id, bid)

    # -- reads -------------------------------------------------------------------------

    def _read(self, user_id: str, booking_id: str) -> tuple[dict[str, Any], int]:
        k = self.keys
        with store_errors("read"):
            reply = json.loads(
                self.scripts.read_booking(
                    keys=[k.owner(user_id), k.bookings(user_id)], args=[booking_id]
                )
            )
        if reply["r"] != "ok":
            raise NotFound(f"no booking {booking_id} on calendar {user_id}")
        return reply["booking"], reply["now"]

    def get(self, user_id: str, booking_id: str) -> Booking:
        """A booking's current state: a victim sees who displaced it and when."""
        if not isinstance(booking_id, str) or not booking_id or len(booking_id) > 64:
            raise ValidationError("booking_id", "must be a booking id such as bkg_…")
        rec, now = self._read(user_id, booking_id)
        return Booking.from_record(rec, user_id, now)

    # -- error mapping -----------------------------------------------------------------

    def _conflict(self, c: dict[str, Any]) -> Conflict:
        reason = c["reason"]
        return Conflict(
            f"{reason}: slot held by {c['winning_agent_id']} (priority "
            f"{c['winning_agent_priority']}, booking {c['winning_booking_id']}); your priority "
            f"is {c['your_priority']}",
            reason=reason,
            winning_booking_id=c["winning_booking_id"],
            winning_agent_id=c["winning_agent_id"],
            winning_agent_priority=int(c["winning_agent_priority"]),
            your_priority=int(c["your_priority"]),
            audit_event_id=c.get("audit_event_id"),
        )

    def _lost_in_window(self, user_id: str, rec: dict[str, Any]) -> Conflict:
        """The conflict for a write displaced while it waited: name the current winner."""
        winner_id = rec["ended_by"]
        winner_agent, winner_prio = rec["ended_by_agent_id"], rec["ended_by_priority"]
        for _ in range(_MAX_WINNER_CHAIN):
            try:
                w, _now = self._read(user_id, winner_id)
            except NotFound:
                break
            winner_agent, winner_prio = w["agent_id"], w["priority"]
            if not w.get("lost_in_window") or not w.get("ended_by"):
                break
            winner_id = w["ended_by"]
        return Conflict(
            f"outranked inside the arbitration window by {winner_agent} (priority "
            f"{winner_prio}, booking {winner_id}); your priority is {rec['priority']}",
            reason="outranked",
            winning_booking_id=winner_id,
            winning_agent_id=winner_agent,
            winning_agent_priority=int(winner_prio),
            your_priority=int(rec["priority"]),
            audit_event_id=rec.get("end_audit_id"),
            booking_id=rec["id"],
        )

    def _error(self, code: str, user_id: str, what: str | None = None) -> AgentDraftError:
        if code == "owner_unknown":
            return NotFound(f"no owner {user_id}", error="owner_not_found")
        if code in ("agent_unknown", "unauthorized"):
            return AuthError("API key is unknown, rotated or revoked", error="unauthorized")
        if code == "idempotency_mismatch":
            return IdempotencyMismatch(
                "this idempotency key was used with a different request; use a new key"
            )
        if code == "not_found":
            return NotFound(f"no booking {what} on this calendar")
        if code == "forbidden":
            return AuthError(
                f"{what} belongs to another agent; agents may only end their own bookings",
                error="forbidden",
                status=403,
            )
        return AgentDraftError(f"unexpected script reply {code!r}")
