"""``client.availability``: the SDK's ``list`` of open slots, with the etag that dates them.

One script call (``read_availability.lua``) checks the caller's key, scope and rate
limit and returns, for the UTC days the range touches only, every live booking's
cover plus the owner's rules and the server clock. The slots are then computed by
:func:`coordinator.slots.free_slots` (the algorithm, pure and separately tested), or
found in the process's answer memo (:mod:`coordinator.answer_memo`) when the same
bookings, rules and query were answered before.

Cost: a whole UTC day is one GET of its cache while nothing was written to the
calendar since it was cached; otherwise (and for the part of a neighbouring day that
buffers reach) one HVALS per day (at most 288 fields) plus one record read per distinct
booking found there. Then O(candidate slots × log n) in Python. It grows with the
length of the range and the bookings inside it, never with the bookings elsewhere on
the calendar. The cache (``read_availability.lua``) is stamped with the owner's audit
count, which every audited write moves, and a generation that ``tx_finish`` bumps for
any other write to a bucket, a record or an external block, so a cached day is never
older than the last write.
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Callable, Iterable
from datetime import datetime
from operator import is_
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

from .access import AVAILABILITY_READ, CallerContext
from .answer_memo import ANSWERS, Answer
from .buckets import parse_time, to_ms
from .connectors.models import Freshness
from .errors import AgentDraftError, AuthError, ValidationError
from .etag import make_etag
from .models import Slot
from .replies import About, refusal
from .slots import covers, spans_needed
from .store.calls import Call, DaySpan
from .store.errors import store_errors

if TYPE_CHECKING:
    from .ruleset import RulesSnapshot
    from .store.aio import AsyncCalls


class _Day(NamedTuple):
    """One cached day's bookings, parsed once per distinct text (see :func:`_parsed`)."""

    ids: frozenset[str]
    #: (cover_first, cover_last, kind, start_ms) of its commits and external blocks:
    #: the same for every caller at every later time.
    settled: tuple[int, ...]
    #: Every entry, in order: (id, cover_first, cover_last, class, start_ms,
    #: expires_ms, agent_id).
    entries: tuple[tuple[Any, ...], ...]
    has_holds: bool


@functools.lru_cache(maxsize=256)
def _parsed(text: str | bytes) -> _Day:
    """A cached day's text, parsed. Why memoized: the text stays the same from one read
    to the next until the calendar is written to, and parsing it was a fifth of an
    availability read's Python on a full day."""
    flat = orjson.loads(text)
    entries = tuple(tuple(flat[i : i + 7]) for i in range(0, len(flat), 7))
    settled: list[int] = []
    for _id, first, last, kind, start, _expires, _agent in entries:
        if kind != 1:
            settled += (first, last, kind, start)
    return _Day(
        frozenset(e[0] for e in entries),
        tuple(settled),
        entries,
        any(e[3] == 1 for e in entries),
    )


def live_bookings(reply: dict[str, Any], agent_id: str) -> builtins.list[int]:
    """The flat (cover_first, cover_last, kind, start_ms) of every live booking in a
    ``read_availability`` reply, as :func:`~coordinator.slots.free_slots` takes them.

    Why here: the script sends a whole day as the text it cached (``days``, 7 values a
    booking, valid for any caller at any later time), so the caller finishes what
    depends on both: a hold that expired since is dropped, ``agent_id``'s own holds
    get kind 2 and others' kind 1, and a booking that crosses midnight, met in two
    days (or in ``live``, the part-day spans the script judged itself), counts once.
    """
    live: builtins.list[int] = list(reply.get("live") or [])
    seen = set(reply.get("ids") or ())
    now = int(reply["now"])
    for text in reply.get("days") or ():
        day = _parsed(text)
        if not day.has_holds and seen.isdisjoint(day.ids):
            live += day.settled  # the usual day: nothing to decide per caller
            seen |= day.ids
            continue
        for booking_id, first, last, kind, start, expires, agent in day.entries:
            if booking_id in seen:
                continue
            seen.add(booking_id)
            if kind == 1:
                if expires <= now:
                    continue  # a hold that expired after the day was cached
                kind = 2 if agent == agent_id else 1
            live += (first, last, kind, start)
    return live


#: Longest range one call may ask for.
MAX_RANGE_DAYS = 62
MAX_DURATION_MINUTES = 24 * 60


class AvailabilityList(list[Slot]):
    """The open slots (iterate it like the SDK's list) plus the etag that dates them.

    Pass ``etag`` as ``availability_etag=`` to a write: if the owner changed a rule
    since, the write raises :class:`~coordinator.StaleAvailability` instead of
    booking against rules that no longer hold.
    """

    def __init__(
        self,
        slots: Iterable[Slot],
        *,
        etag: str,
        rules_version: int,
        calendars: Iterable[Freshness] = (),
        encoded: Answer | None = None,
    ) -> None:
        super().__init__(slots)
        self.etag = etag
        #: The memo's answer these slots came from, with their JSON already built.
        self._encoded = encoded
        self.rules_version = rules_version
        #: How fresh each connected real calendar's view is (empty without connectors).
        self.calendars: list[Freshness] = list(calendars)

    @property
    def stale(self) -> bool:
        """A connected calendar was not pulled recently enough: slots may be taken."""
        return any(f.stale for f in self.calendars)

    @property
    def slots(self) -> list[Slot]:
        return list(self)

    def slots_json(self) -> bytes:
        """The slots as JSON (a list of ``{start, end}``): the memo's bytes while the
        list still holds the slots the read answered (a caller may have changed it),
        else encoded now."""
        done = self._encoded
        if done is not None and len(self) == len(done.slots) and all(map(is_, self, done.slots)):
            return done.json
        return orjson.dumps([s.__dict__ for s in self])


#: Reads of one answer; each re-read needs a rules change between two reads.
_MAX_READS = 4


class _Query(NamedTuple):
    """One checked availability question, in epoch milliseconds and minutes."""

    lo: int
    hi: int
    dur: int
    step: int
    holds: bool


def _minutes(value: Any, field: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValidationError(field, f"must be whole minutes from {lo} to {hi}")
    return value


def _checked(
    start: datetime | str,
    end: datetime | str,
    duration_minutes: int,
    granularity_minutes: int,
    include_holds: bool,
) -> _Query:
    """The query, checked (each error names its argument)."""
    s, e = parse_time(start, "start"), parse_time(end, "end")
    if e <= s:
        raise ValidationError("end", "must be after start")
    if (e - s).total_seconds() > MAX_RANGE_DAYS * 86400:
        raise ValidationError("end", f"a range of at most {MAX_RANGE_DAYS} days")
    dur = _minutes(duration_minutes, "duration_minutes", 5, MAX_DURATION_MINUTES)
    step = _minutes(granularity_minutes, "granularity_minutes", 5, MAX_DURATION_MINUTES)
    if not isinstance(include_holds, bool):
        raise ValidationError("include_holds", "must be True or False")
    return _Query(to_ms(s), to_ms(e), dur, step, include_holds)


#: :func:`_checked` of text times, kept: a polling agent sends the same query strings
#: again and again, and parsing them was a twentieth of a read's Python. Only a
#: question that passed is kept (an error is raised again each time).
_checked_text = functools.lru_cache(maxsize=1024, typed=True)(_checked)
_AS_TEXT = [str, str, int, int, bool]
#: Plans one client keeps (see Availability._plan); past it they start over.
_MAX_PLANS = 64


class Availability:
    """``client.availability``: the official SDK's ``list`` over the local engine."""

    def __init__(
        self, ctx: CallerContext, freshness: Callable[[str], builtins.list[Freshness]]
    ) -> None:
        self._c = ctx
        self._store = ctx.store
        #: How fresh each external calendar's view of the owner's calendar is.
        self._freshness = freshness
        self._plans: dict[
            tuple[int, int, int], tuple[RulesSnapshot, builtins.list[DaySpan], Call]
        ] = {}

    def list(
        self,
        *,
        start: datetime | str,
        end: datetime | str,
        duration_minutes: int = 30,
        granularity_minutes: int = 15,
        include_holds: bool = True,
        user_id: str | None = None,
    ) -> AvailabilityList:
        """Open slots of ``duration_minutes`` in ``[start, end)``, starts on a grid.

        The grid is ``granularity_minutes`` counted from the epoch (so 15 or 30 land
        on local quarter and half hours in every zone). Slots before the server's
        clock or inside the lead time are never offered.
        """
        q = self._query(start, end, duration_minutes, granularity_minutes, include_holds, user_id)
        snap = self._store.rules_cache.get(self._c.user_id)
        for _ in range(_MAX_READS):
            days, call = self._plan(q, snap)
            with store_errors("availability"):
                reply = self._store.calls.run(call)
            answer, snap = self._answer(q, days, snap, reply)
            if answer is not None:
                return answer
        raise AgentDraftError("the owner's rules kept changing during this read; retry")

    async def list_async(self, calls: AsyncCalls, **kw: Any) -> AvailabilityList:
        """:meth:`list` for an event loop: the read goes out on ``calls``' asyncio client."""
        q = self._query(**kw)
        snap = self._store.rules_cache.get(self._c.user_id)
        for _ in range(_MAX_READS):
            days, call = self._plan(q, snap)
            with store_errors("availability"):
                reply = await calls.run(call)
            answer, snap = self._answer(q, days, snap, reply)
            if answer is not None:
                return answer
        raise AgentDraftError("the owner's rules kept changing during this read; retry")

    def _query(
        self,
        start: datetime | str,
        end: datetime | str,
        duration_minutes: int = 30,
        granularity_minutes: int = 15,
        include_holds: bool = True,
        user_id: str | None = None,
    ) -> _Query:
        """Check the arguments (bad input never reaches Redis)."""
        if user_id is not None and user_id != self._c.user_id:
            raise AuthError("an agent may only read its own owner's calendar", error="forbidden")
        args = (start, end, duration_minutes, granularity_minutes, include_holds)
        if list(map(type, args)) == _AS_TEXT:  # hashable as given: HTTP's query strings
            return _checked_text(*args)
        return _checked(*args)

    def _plan(self, q: _Query, snap: RulesSnapshot) -> tuple[builtins.list[DaySpan], Call]:
        """The bucket spans ``q`` needs under the rules ``snap`` and their packed call.

        Kept per (rules, range) for this caller: an agent asks about the same ranges
        again and again, and working both out again was a tenth of a read's Python. The
        call packs this caller's key hash and the store's limits, fixed for the client's
        life."""
        key = (id(snap), q.lo, q.hi)  # the entry keeps snap alive: its id stays its own
        plan = self._plans.get(key)
        if plan is None:
            days = spans_needed(snap, q.lo, q.hi)
            plan = (snap, days, self._pack(days))
            if len(self._plans) >= _MAX_PLANS:
                self._plans.clear()
            self._plans[key] = plan
        return plan[1], plan[2]

    def _answer(
        self,
        q: _Query,
        days: builtins.list[DaySpan],
        snap: RulesSnapshot,
        reply: dict[str, Any],
    ) -> tuple[AvailabilityList | None, RulesSnapshot]:
        """The answer from one read, or None when the rules read with it changed the
        reach of buffers or the cap past the ``days`` read (those of the rules ``snap``):
        read again with the rules in ``reply``, returned as the next ``snap``."""
        c, eng = self._c, self._store
        if reply["r"] != "ok":
            raise refusal("availability", reply, About(c.user_id, "", c.agent_id))
        fresh = eng.rules_cache.from_reply(c.user_id, reply)
        if fresh is not snap:  # the same snapshot reaches the same spans: read already
            if not covers(days, self._plan(q, fresh)[0]):
                return None, fresh
        live = live_bookings(reply, c.agent_id)
        found = ANSWERS.find(fresh, live, int(reply["now"]), q.lo, q.hi, q.dur, q.step, q.holds)
        answer = AvailabilityList(
            found.slots,
            encoded=found,
            etag=make_etag(c.user_id, fresh.version),
            rules_version=fresh.version,
            # Without connectors there is no freshness to read (the script counted them).
            calendars=self._freshness(c.user_id) if reply.get("connectors") else (),
        )
        return answer, fresh

    def _pack(self, days: builtins.list[DaySpan]) -> Call:
        c, eng = self._c, self._store
        return eng.calls.pack_read_availability(
            user_id=c.user_id,
            agent_id=c.agent_id,
            key_hash=c.key_hash,
            scope=AVAILABILITY_READ,
            limits=eng.limits,
            days=days,
        )
