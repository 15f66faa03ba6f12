"""The audit tests' shared story: one calendar after one of each transition.

test_audit_chain.py and test_audit_state.py (and the checkpoint and archive tests)
tell it, then query or tamper with what it left in Redis.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from coordinator import Conflict, Coordinator
from coordinator.models import AuditEntry

from .conftest import Calendar, at

#: The story's entries, oldest first, as the scripts write them.
STORY_TYPES = [
    "owner.created",
    "agent.created",  # low
    "agent.created",  # high
    "agent.created",  # other
    "booking.committed",  # victim
    "hold.created",  # released later
    "booking.evicted",  # the victim, by the winner
    "booking.committed",  # the winner
    "hold.released",
    "booking.rejected",  # the victim's agent tries again and loses to the winner
    "booking.committed",  # spare
    "booking.cancelled",  # spare
    "hold.created",  # promoted
    "hold.promoted",
    "booking.committed",  # the promotion
]

Entry = tuple[str, dict[str, str]]


@dataclass
class Story:
    """A calendar after one of each transition, with the ids worth asking about."""

    cal: Calendar
    victim: str
    winner: str
    released: str
    spare: str
    promoted_hold: str
    promotion: str
    rejection_event: str

    @property
    def coord(self) -> Coordinator:
        return self.cal.coord

    @property
    def user_id(self) -> str:
        return self.cal.user_id


def server_ms(coord: Coordinator, user_id: str) -> int:
    """The clock the scripts stamp entries with (the node that owns this calendar)."""
    secs, micros = coord.redis.eval("return redis.call('TIME')", 1, coord.store.keys.owner(user_id))
    return int(secs) * 1000 + int(micros) // 1000


def tell_story(cal: Calendar) -> Story:
    """Commit, hold, evict, release, reject, cancel, promote: one of each, in that order."""
    low, high, other = cal.agent(3, "low"), cal.agent(1, "high"), cal.agent(2, "other")
    victim = low.bookings.commit(start=at(0), end=at(30), bump_window_seconds=3600)
    hold = other.bookings.hold(start=at(60), end=at(90))
    winner = high.bookings.commit(start=at(10), end=at(20))
    assert [d.booking_id for d in winner.displaced] == [victim.booking_id]
    other.bookings.release(hold.booking_id)
    # Let the server clock tick once, so the story spans at least two milliseconds
    # and a time-range query has something to leave out (a poll, not a sleep).
    first_half = server_ms(cal.coord, cal.user_id)
    while server_ms(cal.coord, cal.user_id) <= first_half:
        pass
    with pytest.raises(Conflict) as lost:
        low.bookings.commit(start=at(10), end=at(20))
    spare = other.bookings.commit(start=at(120), end=at(150))
    other.bookings.cancel(spare.booking_id)
    to_promote = low.bookings.hold(start=at(200), end=at(210))
    promotion = low.bookings.promote(to_promote.booking_id)
    return Story(
        cal=cal,
        victim=victim.booking_id,
        winner=winner.booking_id,
        released=hold.booking_id,
        spare=spare.booking_id,
        promoted_hold=to_promote.booking_id,
        promotion=promotion.booking_id,
        rejection_event=str(lost.value.audit_event_id),
    )


def entries(s: Story) -> list[Entry]:
    return list(s.coord.redis.xrange(s.coord.store.keys.audit(s.user_id)))


def mentions(e: AuditEntry, booking_id: str) -> bool:
    """The fields through which an entry names a booking it is indexed under."""
    named = {
        e.fields.get("booking_id"),
        e.fields.get("winner_booking_id"),
        e.fields.get("by_booking_id"),
    }
    named |= set(filter(None, e.fields.get("displaced", "").split(",")))
    return booking_id in named


def rewrite(s: Story, change: Callable[[list[Entry]], list[Entry]]) -> None:
    """Rebuild the stream with ``change`` applied, keeping ids, and swap it in.

    Stream entries cannot be edited in place; an operator with Redis access would
    copy the stream with XADD and explicit ids, then RENAME it over the original.
    The temporary key shares the calendar's hash tag, so this works on a cluster too.
    """
    r = admin(s.coord)
    key = s.coord.store.keys.audit(s.user_id)
    tmp = s.coord.store.keys.prefix(s.user_id) + "audit-forged"
    r.delete(tmp)
    for eid, fields in change(entries(s)):
        r.xadd(tmp, fields, id=eid)
    r.rename(tmp, key)


@functools.cache
def _admin_of(folder: str) -> Any:
    from coordinator.audit.operator import admin_client

    return admin_client(Path(folder))


def admin(coord: Coordinator) -> Any:
    """A client that may tamper like an operator with Redis access.

    On the embedded engine the coordinator's default user may not delete or trim
    audit streams (store/acl.py), so tampering goes through the operator; on the
    server and cluster backends the tests connect as an administrator already.
    """
    pool = getattr(coord.redis, "connection_pool", None)
    if "path" not in getattr(pool, "connection_kwargs", {}):
        return coord.redis
    return _admin_of(str(coord.redis.config_get("dir")["dir"]))


def operator(coord: Coordinator) -> Coordinator:
    """The same store through :func:`admin` (for archiving, which trims)."""
    r = admin(coord)
    return coord if r is coord.redis else Coordinator(r, coord.settings)
