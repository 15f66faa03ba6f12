"""Booking transitions: validate, make one script call, map the reply.

Each public method checks its input first (a bad request never reaches Redis),
then makes the single atomic call for its transition, then turns the script's
small JSON reply into a :class:`~coordinator.models.Booking` or a typed error.
The only extra round trips are the arbitration-window wait of a winning write
from an agent that is not its owner's top-ranked one (a BLPOP that returns the
moment a better write displaces it) and a read to confirm the outcome.

The owner's rules ride along with every write: the wall-clock verdict made here
against a cached :class:`~coordinator.ruleset.RulesSnapshot` (see
:mod:`coordinator.policy`), and the key, scope, rate-limit, lead-time and daily-cap
checks made by the script itself. A script that finds the rules changed since the
snapshot says so (with the new rules), and the write is judged again and resent;
this happens once per process after each rules change.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Protocol, Unpack

import anyio

from . import booking_pages
from .access import BOOKINGS_READ, BOOKINGS_WRITE, authorize
from .booking_pages import BookingPage, Filters, with_names
from .buckets import (
    BUCKETS_PER_DAY,
    check_buffer,
    check_span,
    cover_ms,
    from_ms,
    parse_time,
    to_ms,
)
from .counters import CounterOffers
from .errors import (
    AgentDraftError,
    Conflict,
    NotFound,
    ValidationError,
)
from .etag import etag_version
from .ids import check_idempotency_key, new_id
from .inputs import is_id, json_object, text
from .models import Booking, Displacement
from .names import agent_names
from .plain_wins import PlainWin, PlainWon, plain_record, plain_reply
from .policy import CLEAR, gate_checks, judge
from .replies import About, conflict, consent_required, refusal
from .ruleset import RulesSnapshot
from .store.calls import MAX_KEPT_CLAIM_KEYS, Call, DaySpan, PlainCommit
from .store.connect import MAX_BLOCK_SECONDS
from .store.errors import STORE_ERRORS, store_errors, unavailable
from .store.handle import Store
from .store.records import fixed_digest, plain_static_json

if TYPE_CHECKING:
    from .store.aio import AsyncCalls

Mode = Literal["hold", "commit"]

MAX_TITLE = 500
MAX_METADATA_BYTES = 8 * 1024
#: Invitee fields: (longest text, whether line breaks are allowed).
INVITEE_FIELDS = {"name": (200, False), "email": (320, False), "notes": (2000, True)}
#: Reads while following who displaced whom to the final winner (waits included).
_MAX_WINNER_CHAIN = 64
#: Claims answered "pending" (a blocker's outcome still open) before giving up.
_MAX_PENDING_WAITS = 64
#: Resends after "the rules changed since your snapshot"; each needs a rules change.
_MAX_RULE_RETRIES = 8
#: Longest single BLPOP; kept under the client's socket timeout (longer waits loop).
_MAX_BLOCK_MS = int(MAX_BLOCK_SECONDS * 1000)


def _check_extras(title: Any, invitee: Any, metadata: Any) -> None:
    """Refuse what cannot be stored (see :mod:`coordinator.inputs`) before any script runs."""
    text(title, "title", max_len=MAX_TITLE)
    if invitee is not None:
        if not isinstance(invitee, dict) or not set(invitee) <= set(INVITEE_FIELDS):
            raise ValidationError("invitee", "must be an object with name, email and notes only")
        for name, (limit, multiline) in INVITEE_FIELDS.items():
            text(invitee.get(name), f"invitee.{name}", max_len=limit, multiline=multiline)
    if metadata is not None:
        json_object(metadata, "metadata", max_bytes=MAX_METADATA_BYTES)


#: The field and the largest value of a request's bump window and hold TTL (seconds).
_BUMP_RANGE = ("bump_window_seconds", 7 * 24 * 3600)
_TTL_RANGE = ("hold_ttl_seconds", 24 * 3600)


def _seconds(value: Any, field: str, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= hi:
        raise ValidationError(field, f"must be a number of seconds between 0 and {hi:g}")
    return float(value)


def _guarded(mode: str, approval_id: str | None) -> bool:
    """Whether the commit guards judge this write: an agent's commit, not a hold and not
    a commit a person approved."""
    return mode == "commit" and approval_id is None


#: What :meth:`Bookings.write_record_async` gives back for a win.
Won = Booking | dict[str, Any] | PlainWon


def won_booking(won: Won, user_id: str) -> Booking:
    """The :class:`Booking` of a win :meth:`Bookings.write_record_async` returned."""
    if isinstance(won, Booking):
        return won
    rec = plain_record(won) if isinstance(won, PlainWon) else won
    return Booking.from_record(rec, user_id, displaced=())


class CommitGuard(Protocol):
    """A check every commit passes before its claim (connectors: no stale calendar)."""

    def __call__(self, user_id: str) -> None:
        """Refuse ``user_id``'s commit by raising; may read the store (blocking)."""

    async def check_async(self, calls: AsyncCalls, user_id: str) -> None:
        """The same check on an event loop: its reads go on ``calls``, pipelined with
        the scripts, never a blocking read that would stall every request in flight."""

    def passes(self, user_id: str) -> bool:
        """Whether ``user_id``'s commit is known to pass without a read (then the
        event loop does not await :meth:`check_async`: two coroutines per commit)."""


class TimesOnly(NamedTuple):
    """An agent's commit of a start and an end alone (:meth:`Bookings.commit_times_async`)."""

    user_id: str
    agent_id: str
    key_hash: str
    start: str
    end: str
    idempotency_key: str | None


class _Request(NamedTuple):
    """One validated write, as sent again after a rules change (same booking id).

    A named tuple, not a frozen dataclass: both are immutable, but the dataclass's
    ``__init__`` sets each of the twenty fields through ``object.__setattr__``, about
    2 us of every commit's Python; a tuple is built in one step.
    """

    user_id: str
    agent_id: str
    key_hash: str
    mode: Mode
    start_ms: int
    end_ms: int
    before: int | None
    after: int | None
    bump: float
    ttl: float
    #: The caller asked for ``ttl`` (held to the owner's cap) rather than taking the default
    #: (cut to the cap).
    ttl_given: bool
    idempotency_key: str | None
    title: str | None
    invitee: dict[str, Any] | None
    metadata: dict[str, Any] | None
    etag_rv: int | None
    approval_id: str | None
    booking_id: str
    #: The link made for it (conferencing.py), stored on the record with the claim.
    conferencing: dict[str, Any] | None = None

    @property
    def request_hash(self) -> str:
        """What the caller asked for, so a reused idempotency key can be told apart.

        Buffers are hashed as given (None = the owner's default), so a retry after the
        owner changed the defaults is still the same request.
        """
        asked = {
            "mode": self.mode,
            "bump": self.bump,
            "ttl": self.ttl if self.mode == "hold" else None,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "buffer_before_min": self.before,
            "buffer_after_min": self.after,
            "title": self.title or "",
            "invitee": self.invitee or False,
            "metadata": self.metadata or False,
        }
        return hashlib.sha256(json.dumps(asked, sort_keys=True).encode()).hexdigest()


def _plain_won(q: _Request, win: PlainWin) -> PlainWon:
    """The plain win of request ``q`` as the claim decided it (``plain_wins.py``)."""
    return PlainWon(q.booking_id, q.agent_id, q.start_ms, q.end_ms, win)


class Bookings:
    """The booking state machine of one Redis, shared by every client of a coordinator."""

    def __init__(self, store: Store) -> None:
        #: The Redis, keys, scripts, limits and settings every registry shares.
        self.store = store
        self.redis = store.redis
        self.settings = store.settings
        self.keys = store.keys
        self.scripts = store.scripts
        self.calls = self.store.calls
        #: The default token bucket of every key, as the scripts take it.
        self.limits = store.limits
        #: (user, agent, key hash, hold TTL ms, bump ms) -> (the rules snapshot, the
        #: template of that agent's plain commits under it): see _plain_commit.
        self._plain_commits: dict[
            tuple[str, str, str, int, int], tuple[RulesSnapshot, PlainCommit]
        ] = {}
        #: The last rules snapshot seen per owner; the scripts catch a stale one.
        self.rules_cache = store.rules_cache
        #: Checks a commit passes before its script call (the connectors' freshness
        #: policy registers one: an unproven calendar is not a free one).
        self.commit_guards: list[CommitGuard] = []
        #: Counter-offers (coordinator/counters.py), called as ``coord.bookings.counter``
        #: etc. with ``user_id``, ``agent_id`` and ``key_hash``; accepting one moves the
        #: booking to the chosen slot through the claim, atomically.
        self.counter_offers = offers = CounterOffers(store, self._wait_on)
        self.counter = offers.create
        self.counters = offers.list
        self.get_counter = offers.get
        self.accept_counter = offers.accept
        self.reject_counter = offers.reject

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
        buffer_before_min: int | None = None,
        buffer_after_min: int | None = None,
        bump_window_seconds: float | None = None,
        hold_ttl_seconds: float | None = None,
        idempotency_key: str | None = None,
        title: str | None = None,
        invitee: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        availability_etag: str | None = None,
        approval_id: str | None = None,
        conferencing: dict[str, Any] | None = None,
    ) -> Booking:
        """Place a hold or a commit: all of its buckets or none.

        Returns the booking once its win is certain; raises :class:`Conflict` if it
        lost (now or inside the arbitration window), :class:`RuleViolation` if it
        breaks an owner's rule, :class:`StaleAvailability` if ``availability_etag``
        predates a rules change, and :class:`ConsentRequired` if the owner wants a
        person to approve it (the slot is then parked as a hold). Buffers left as
        None take the owner's defaults. ``approval_id`` is the coordinator committing
        a parked write that a person approved (``key_hash`` is then '').
        """
        q = self._prepare(
            user_id=user_id,
            agent_id=agent_id,
            key_hash=key_hash,
            mode=mode,
            start=start,
            end=end,
            buffer_before_min=buffer_before_min,
            buffer_after_min=buffer_after_min,
            bump_window_seconds=bump_window_seconds,
            hold_ttl_seconds=hold_ttl_seconds,
            idempotency_key=idempotency_key,
            title=title,
            invitee=invitee,
            metadata=metadata,
            availability_etag=availability_etag,
            approval_id=approval_id,
            conferencing=conferencing,
        )
        snap = self.rules_cache.get(user_id)
        return self._settle(q, snap, self._claim(q, snap))

    async def write_async(self, calls: AsyncCalls, **kw: Any) -> Booking:
        """:meth:`write` for an event loop: the claim goes out on ``calls`` (store/aio.py).

        A win known from the claim's reply alone (no window to wait out, no durability
        acknowledgement) and a refusal are answered on the loop; anything that waits
        (an arbitration window, a pending blocker, WAITAOF) or re-claims (a rules
        change, a replayed idempotency key) continues in a worker thread exactly as
        :meth:`write` does, and so does the read that names a conflict's winner.
        """
        return won_booking(await self.write_record_async(calls, **kw), kw["user_id"])

    async def write_record_async(self, calls: AsyncCalls, **kw: Any) -> Won:
        """:meth:`write_async`, except that a plain win (nothing displaced, answered from
        the claim's reply alone) comes back as the stored record the script replied with,
        or, for a plain commit (``coordinator/plain_wins.py``), as a :class:`PlainWon`.

        The server writes its 201 from that record without building the model
        (``server/responses.py``), as it does for a booking read: the model's build was
        about 8% of the worker's instructions per HTTP commit. The record is the one
        :meth:`write_async` would build its :class:`Booking` from (``displaced=()``).
        """
        if _guarded(kw["mode"], kw.get("approval_id")):
            for guard in self.commit_guards:
                if not guard.passes(kw["user_id"]):
                    await guard.check_async(calls, kw["user_id"])
        return await self._claim_record_async(calls, self._prepare(guarded=True, **kw))

    async def commit_times_async(self, calls: AsyncCalls, w: TimesOnly) -> Won:
        """:meth:`write_record_async` of a commit of a start and an end alone, the HTTP
        server's commonest request, without the keyword arguments of every field it
        leaves out (built, merged and unpacked three times on the way: 387k -> 349k
        worker instructions per commit)."""
        for guard in self.commit_guards:
            if not guard.passes(w.user_id):
                await guard.check_async(calls, w.user_id)
        return await self._claim_record_async(calls, self._times_request(w))

    def _times_request(self, w: TimesOnly) -> _Request:
        """The request of :meth:`commit_times_async` (its commit guards have run):
        :meth:`_prepare`'s checks of a start, an end and an idempotency key, in its
        order, without binding its eighteen keyword arguments or testing the fourteen
        it is not given (~9k of the worker's instructions per commit). A test holds
        the two to the same request, or the same refusal."""
        s = parse_time(w.start, "start")
        e = parse_time(w.end, "end")
        start_ms, end_ms = to_ms(s), to_ms(e)
        check_span(s, e, start_ms, end_ms, self.settings.max_booking_minutes)
        bump, ttl = self._default_bump, self._default_ttl
        check_idempotency_key(w.idempotency_key)
        return _Request(
            w.user_id,
            w.agent_id,
            w.key_hash,
            "commit",
            start_ms,
            end_ms,
            None,  # before
            None,  # after
            bump,
            ttl,
            False,  # ttl_given
            w.idempotency_key,
            None,  # title
            None,  # invitee
            None,  # metadata
            None,  # etag_rv
            None,  # approval_id
            new_id("bkg"),
            None,  # conferencing
        )

    async def _claim_record_async(self, calls: AsyncCalls, q: _Request) -> Won:
        """The claim of :meth:`write_record_async` for the checked request ``q``."""
        snap = self.rules_cache.get(q.user_id)
        try:  # store_errors(q.mode), without its three calls on every commit
            reply = await calls.run(self._pack_claim(q, snap))
        except STORE_ERRORS as exc:
            raise unavailable(exc, q.mode) from exc
        win = reply.get("plain")
        if win is not None:
            won = _plain_won(q, win)
            if win.arb_until_ms <= win.now and self.store.durability.wait is None:
                return won
            reply = plain_reply(won)
        r = reply["r"]
        if r in ("error", "conflict") or (
            r not in ("rules_changed", "pending", "replay")
            and reply["wait_ms"] <= 0
            and not reply.get("consent")
            and self.store.durability.wait is None
        ):
            if r == "ok" and not reply.get("displaced"):
                rec: dict[str, Any] = reply["booking"]
                return rec  # what _settle_write would build its Booking from
            try:
                return self._settle_write(q.user_id, reply)
            except Conflict as lost:
                named = await anyio.to_thread.run_sync(self._name_winner, q.user_id, lost)
                raise named from None
        return await anyio.to_thread.run_sync(self._settle, q, snap, reply)

    def _prepare(
        self,
        *,
        user_id: str,
        agent_id: str,
        key_hash: str,
        mode: Mode,
        start: datetime | str,
        end: datetime | str,
        buffer_before_min: int | None = None,
        buffer_after_min: int | None = None,
        bump_window_seconds: float | None = None,
        hold_ttl_seconds: float | None = None,
        idempotency_key: str | None = None,
        title: str | None = None,
        invitee: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        availability_etag: str | None = None,
        approval_id: str | None = None,
        conferencing: dict[str, Any] | None = None,
        guarded: bool = False,
    ) -> _Request:
        """Check every argument (bad input never reaches Redis) into one request.

        ``guarded``: the commit guards have run already (:meth:`write_async`).
        """
        if mode not in ("hold", "commit"):
            raise ValidationError("mode", "must be 'hold' or 'commit'")
        if _guarded(mode, approval_id) and not guarded:
            self._guard(user_id)
        s = parse_time(start, "start")
        e = parse_time(end, "end")
        start_ms, end_ms = to_ms(s), to_ms(e)
        check_span(s, e, start_ms, end_ms, self.settings.max_booking_minutes)
        before = (
            None
            if buffer_before_min is None
            else check_buffer(buffer_before_min, "buffer_before_min")
        )
        after = (
            None if buffer_after_min is None else check_buffer(buffer_after_min, "buffer_after_min")
        )
        bump = (
            self._default_bump
            if bump_window_seconds is None
            else _seconds(bump_window_seconds, *_BUMP_RANGE)
        )
        ttl = (
            self._default_ttl
            if hold_ttl_seconds is None
            else _seconds(hold_ttl_seconds, *_TTL_RANGE)
        )
        if mode == "hold" and ttl <= 0:
            raise ValidationError("hold_ttl_seconds", "must be positive")
        check_idempotency_key(idempotency_key)
        if title is not None or invitee is not None or metadata is not None:
            _check_extras(title, invitee, metadata)
        etag_rv = None if availability_etag is None else etag_version(availability_etag, user_id)

        return _Request(
            user_id=user_id,
            agent_id=agent_id,
            key_hash=key_hash,
            mode=mode,
            start_ms=start_ms,
            end_ms=end_ms,
            before=before,
            after=after,
            bump=bump,
            ttl=ttl,
            ttl_given=hold_ttl_seconds is not None,
            idempotency_key=idempotency_key,
            title=title,
            invitee=invitee,
            metadata=metadata,
            etag_rv=etag_rv,
            approval_id=approval_id,
            booking_id=new_id("hld" if mode == "hold" else "bkg"),
            conferencing=conferencing,
        )

    @cached_property
    def _default_bump(self) -> float:
        """The coordinator's bump window, checked as a request's is (kept once it passes)."""
        return _seconds(self.settings.bump_window_seconds, *_BUMP_RANGE)

    @cached_property
    def _default_ttl(self) -> float:
        """The coordinator's hold TTL, checked as a request's is (kept once it passes)."""
        return _seconds(self.settings.hold_ttl_seconds, *_TTL_RANGE)

    def _guard(self, user_id: str) -> None:
        """Run every commit guard: the first to refuse raises."""
        for guard in self.commit_guards:
            guard(user_id)

    def _settle(self, q: _Request, snap: RulesSnapshot, reply: dict[str, Any]) -> Booking:
        """Follow a claim's reply to the write's outcome, claiming again when told to."""
        user_id = q.user_id
        rule_retries = waits = 0
        while True:
            if reply["r"] == "rules_changed":
                rule_retries += 1
                if rule_retries >= _MAX_RULE_RETRIES:
                    raise AgentDraftError(
                        "the owner's rules kept changing during this write; retry it"
                    )
                snap = self.rules_cache.put(user_id, RulesSnapshot.from_reply(reply))
            elif reply["r"] == "pending":
                # Blocked by a booking whose own win is still open: wait until it is
                # certain (displaced, or its window closed), then ask again, so the
                # 409 names the booking that actually stands.
                waits += 1
                if waits > _MAX_PENDING_WAITS:
                    raise AgentDraftError("the slot's outcome stayed open too long; retry")
                self._wait_on(user_id, reply["wait_for"], reply["until_ms"] - reply["now"])
            else:
                if reply["r"] not in ("error", "conflict"):  # it wrote a booking
                    self.store.acknowledge(user_id)
                try:
                    return self._settle_write(user_id, reply)
                except Conflict as lost:
                    raise self._name_winner(user_id, lost) from None
            reply = self._claim(q, snap)

    def _name_winner(self, user_id: str, lost: Conflict) -> Conflict:
        """``lost`` carrying the winner's agent name (``winning_agent_name``), when known.

        Looked up once the loss is final, so the winner it names is the one that stands;
        the 409 body gains the field, the SDK's fields stay as they were.
        """
        name = agent_names(self.store, user_id, [lost.winning_agent_id]).get(
            lost.winning_agent_id or ""
        )
        lost.winning_agent_name = name
        if name:
            lost.context["winning_agent_name"] = name
        return lost

    def _claim(self, q: _Request, snap: RulesSnapshot) -> dict[str, Any]:
        """One claim script call for ``q``, judged against ``snap``: its reply as JSON
        (a plain commit's win put back together, see ``coordinator/plain_wins.py``)."""
        with store_errors(q.mode):
            reply = self.calls.run(self._pack_claim(q, snap))
        win = reply.get("plain")
        if win is None:
            return reply
        return plain_reply(_plain_won(q, win))

    def _pack_claim(self, q: _Request, snap: RulesSnapshot) -> Call:
        """The claim script call for ``q`` judged against ``snap``, packed, not sent."""
        return self._plain_commit(q, snap) or self._pack_any_claim(q, snap)

    def _plain_commit(self, q: _Request, snap: RulesSnapshot) -> Call | None:
        """:meth:`_pack_any_claim` of the commonest write, from a template kept per agent
        and rules snapshot; None for any other write.

        The commonest write is an agent's commit of a start and an end alone: no buffers
        (its own or the owner's), title, invitee, metadata, link, etag, idempotency key
        or approval, inside one UTC day, let through as it is by the owner's wall-clock
        rules, with no daily cap. All of its claim but the booking id, its times and its
        day is the same for each such commit of the agent until the rules change, and
        packing it anew (the rules' defaults, the verdict's checks and their JSON, the
        cover's day spans, the keys) is what the template saves: 421k -> 387k worker
        instructions per commit (callgrind). A test compares the two packings.
        """
        rules = snap.rules
        if (
            q.mode != "commit"
            or q.before is not None
            or q.after is not None
            or q.title
            or q.invitee
            or q.metadata
            or q.conferencing
            or q.idempotency_key is not None
            or q.etag_rv is not None
            or q.approval_id is not None
            or rules.buffer_before_min
            or rules.buffer_after_min
            or rules.daily_cap
        ):
            return None
        start, end = q.start_ms, q.end_ms
        c = cover_ms(start, end, 0, 0)
        first, last = c.first, c.last - 1  # the last bucket, inclusive
        day = first // BUCKETS_PER_DAY
        if last // BUCKETS_PER_DAY != day:
            return None
        if judge(snap, q.agent_id, "commit", start, end) is not CLEAR:
            return None
        static = plain_static_json(start, end, c.first, c.last, 0, 0)
        if static is None:
            return None
        ttl_ms, bump_ms = int(q.ttl * 1000), int(q.bump * 1000)
        key = (q.user_id, q.agent_id, q.key_hash, ttl_ms, bump_ms)
        kept = self._plain_commits.get(key)
        if kept is None or kept[0] is not snap:
            checks, _ = gate_checks(snap, CLEAR, start, scope=BOOKINGS_WRITE, limits=self.limits)
            checks["plain_reply"] = 1  # an outright win is answered as a PlainWin
            template = self.calls.plain_commit(
                q.user_id,
                q.agent_id,
                q.key_hash,
                hold_ttl_ms=ttl_ms,
                bump_ms=bump_ms,
                window_ms=self.settings.arbitration_window_ms,
                checks=checks,
            )
            if len(self._plain_commits) >= MAX_KEPT_CLAIM_KEYS:
                self._plain_commits.clear()
            self._plain_commits[key] = kept = (snap, template)
        return kept[1].pack(
            q.booking_id, static, day, first % BUCKETS_PER_DAY, last % BUCKETS_PER_DAY
        )

    def _pack_any_claim(self, q: _Request, snap: RulesSnapshot) -> Call:
        """The claim script call for ``q`` judged against ``snap``, packed, not sent."""
        rules = snap.rules
        before = q.before if q.before is not None else (rules.buffer_before_min or 0)
        after = q.after if q.after is not None else (rules.buffer_after_min or 0)
        verdict = judge(
            snap, q.agent_id, q.mode, q.start_ms, q.end_ms, approved=q.approval_id is not None
        )
        checks, cap_days = gate_checks(
            snap, verdict, q.start_ms, scope=BOOKINGS_WRITE, limits=self.limits
        )
        if q.etag_rv is not None:
            checks["etag_rv"] = q.etag_rv
        ttl_ms = int(q.ttl * 1000)
        if q.mode == "hold":
            # The owner's cap on a hold, judged on this snapshot like the wall-clock rules
            # (the script refuses a verdict made on another rules_version).
            cap = rules.hold_ttl_cap
            if not q.ttl_given:
                ttl_ms = min(ttl_ms, int(cap * 1000))
            elif q.ttl > cap and not verdict.violation:
                checks["violation"] = "hold_ttl_too_long"
                checks["detail"] = (
                    f"hold_ttl_seconds={q.ttl:g} is longer than the owner allows "
                    f"(max_hold_ttl_seconds={cap:g}); ask for at most {cap:g} seconds"
                )
        if q.approval_id:
            checks["approve"] = q.approval_id
        mode: Mode = q.mode
        booking_id = q.booking_id
        if verdict.consent and not verdict.violation:
            booking_id = "hld_" + booking_id.split("_", 1)[1]  # it is parked as a hold
            gate = rules.require_approval
            assert gate is not None
            mode, ttl_ms = "hold", int(gate.ttl_seconds * 1000)
            consent_id = new_id("apr")
            checks["consent"] = {
                "id": consent_id,
                "action": "bookings.commit",
                "reason": verdict.consent_reason,
                "request_json": json.dumps(
                    {
                        "start": from_ms(q.start_ms).isoformat(),
                        "end": from_ms(q.end_ms).isoformat(),
                        "title": q.title,
                        "bump_window_seconds": q.bump,
                    }
                ),
            }

        c = cover_ms(q.start_ms, q.end_ms, before, after)
        static: dict[str, Any] | bytes | None = None
        if not (q.title or q.invitee or q.metadata or q.conferencing):
            static = plain_static_json(q.start_ms, q.end_ms, c.first, c.last, before, after)
        if static is None:
            static = {
                "start_ms": q.start_ms,
                "end_ms": q.end_ms,
                "cover_first": c.first,
                "cover_last": c.last,
                "buffer_before_min": before,
                "buffer_after_min": after,
                "title": q.title or "",
                "invitee": q.invitee or False,
                "metadata": q.metadata or False,
                "conferencing": q.conferencing or False,
            }
            # The creating audit entry carries this, so verify sees the fields edited later.
            static["digest"] = fixed_digest(static)
        return self.calls.pack_claim(
            mode,
            user_id=q.user_id,
            agent_id=q.agent_id,
            key_hash=q.key_hash,
            booking_id=booking_id,
            # The script reads the hash only to remember or match an idempotency key.
            request_hash=q.request_hash if q.idempotency_key is not None else "",
            static=static,
            hold_ttl_ms=ttl_ms,
            bump_ms=int(q.bump * 1000),
            window_ms=self.settings.arbitration_window_ms,
            idempotency_key=q.idempotency_key,
            idempotency_ttl_s=self.settings.idempotency_ttl_seconds,
            days=[DaySpan(d, first, last) for d, first, last in c.days()],
            checks=checks,
            cap_days=cap_days,
        )

    def _settle_write(self, user_id: str, reply: dict[str, Any]) -> Booking:
        r = reply["r"]
        if r == "error":
            raise refusal("claim", reply, About(user_id))
        if r == "conflict":
            raise conflict(reply)
        if r == "replay":
            stored = reply["stored"]
            if stored["r"] == "conflict":
                raise conflict(stored["c"])
            booking, now = self._read(user_id, stored["id"])
            if booking.get("consent_id"):
                return self._replayed_consent(user_id, booking)
            return self._await_window(user_id, booking, now, ())
        rec = reply["booking"]
        consent = reply.get("consent")
        if consent:
            self._index_approval(user_id, consent["consent_request_id"])
        displaced = tuple(Displacement(**d) for d in (reply.get("displaced") or []))
        if reply["wait_ms"] <= 0:
            won = Booking.from_record(rec, user_id, displaced=displaced)
        else:
            won = self._await_window(user_id, rec, reply["now"], displaced)
        if consent:
            raise consent_required(
                consent["consent_request_id"], won.booking_id, consent["expires_ms"]
            )
        return won

    def _index_approval(self, user_id: str, approval_id: str) -> None:
        """Point the global approval index at this calendar, once the script parked it.

        The index lives outside the calendar's hash slot, so no script can write it; it is
        written after the script succeeded (never for a refused write), and again by a
        retry, which heals a crash between the two.
        """
        with store_errors("approval index"):
            self.redis.set(self.keys.approval_index(approval_id), user_id)

    def _replayed_consent(self, user_id: str, hold: dict[str, Any]) -> Booking:
        """A retried parked commit: the approved booking if there is one, else the 409 again."""
        self._index_approval(user_id, hold["consent_id"])
        with store_errors("approval read"):
            raw = self.redis.hget(self.keys.approvals(user_id), hold["consent_id"])
        approval = json.loads(raw) if raw else {}
        if approval.get("status") == "approved" and approval.get("booking_id"):
            return self.get(user_id, approval["booking_id"])
        raise consent_required(hold["consent_id"], hold["id"], hold["expires_ms"])

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
            self._wait_on(user_id, rec["id"], remaining)
            rec, now = self._read(user_id, rec["id"])

    def _wait_on(self, user_id: str, booking_id: str, remaining_ms: int) -> None:
        """Block until ``booking_id`` is displaced inside its window, or ``remaining_ms``
        (capped under the socket timeout) have passed.

        The displacing script pushes the booking's wake list; BLMOVE of the list onto
        itself reads it without popping, so every writer waiting on that booking (its
        own, and each loser waiting for the final winner) wakes, not just the first.
        """
        if remaining_ms <= 0:
            return
        with store_errors("arbitration wait"):
            timeout_ms = min(remaining_ms, _MAX_BLOCK_MS)
            wake = self.keys.wake(user_id, booking_id)
            self.redis.blmove(wake, wake, timeout_ms / 1000, "RIGHT", "LEFT")

    def release(self, *, user_id: str, agent_id: str, key_hash: str, hold_id: str) -> Booking:
        """Give back a live hold; a hold past its TTL raises :class:`Gone`."""
        return self._end("release", user_id, agent_id, key_hash, hold_id)

    def cancel(self, *, user_id: str, agent_id: str, key_hash: str, booking_id: str) -> Booking:
        """Cancel the caller's own live commit (or hold)."""
        return self._end("cancel", user_id, agent_id, key_hash, booking_id)

    def _end(
        self,
        what: Literal["cancel", "release"],
        user_id: str,
        agent_id: str,
        key_hash: str,
        bid: str,
    ) -> Booking:
        if not is_id(bid):
            raise ValidationError("booking_id", "must be a booking id such as bkg_… or hld_…")
        with store_errors(what):
            reply = self.calls.end_booking(
                what,
                user_id=user_id,
                agent_id=agent_id,
                key_hash=key_hash,
                booking_id=bid,
                limits=self.limits,
            )
        if reply["r"] == "ok":
            self.store.acknowledge(user_id)
            return Booking.from_record(reply["booking"], user_id)
        raise refusal("end", reply, About(user_id, bid, agent_id, what))

    # -- reads -------------------------------------------------------------------------

    def _read(self, user_id: str, booking_id: str) -> tuple[dict[str, Any], int]:
        with store_errors("read"):
            reply = self.calls.read_booking(user_id, booking_id)
        if reply["r"] != "ok":
            raise refusal("read_booking", reply, About(user_id, booking_id))
        return reply["booking"], reply["now"]

    def record(self, user_id: str, booking_id: str) -> tuple[dict[str, Any], int]:
        """The stored record of a booking and the server clock, read as the owner.

        For registries that act on a booking (approving a parked commit re-claims its
        hold's range); agents read through :meth:`get`.
        """
        return self._read(user_id, booking_id)

    def get(
        self, user_id: str, booking_id: str, *, agent_id: str = "", key_hash: str = ""
    ) -> Booking:
        """A booking's current state: a victim sees who displaced it and when.

        With an agent's ``key_hash`` the read checks the key, the ``bookings:read``
        scope and the rate limit in the same script; without one it is the owner's.
        """
        call = self._pack_get(user_id, booking_id, agent_id, key_hash)
        with store_errors("read"):
            reply = self.calls.run(call)
        return self._named(user_id, self._got(reply, user_id, booking_id, agent_id))

    async def get_async(
        self, calls: AsyncCalls, user_id: str, booking_id: str, *, agent_id: str, key_hash: str
    ) -> Booking:
        """:meth:`get` for an event loop, the read sent on ``calls`` (store/aio.py)."""
        rec, now = await self.record_async(
            calls, user_id, booking_id, agent_id=agent_id, key_hash=key_hash
        )
        return await self.from_read_async(rec, user_id, now)

    async def record_async(
        self, calls: AsyncCalls, user_id: str, booking_id: str, *, agent_id: str, key_hash: str
    ) -> tuple[dict[str, Any], int]:
        """The stored record a read found and the server clock, refusals raised as by :meth:`get`.

        Split from :meth:`get_async` so the server can answer a plain record without
        building the model (``server/responses.py``).
        """
        call = self._pack_get(user_id, booking_id, agent_id, key_hash)
        with store_errors("read"):
            reply = await calls.run(call)
        if reply["r"] != "ok":
            raise refusal("read_booking", reply, About(user_id, booking_id, agent_id))
        return reply["booking"], reply["now"]

    async def from_read_async(self, rec: dict[str, Any], user_id: str, now: int) -> Booking:
        """The :class:`Booking` of a record :meth:`record_async` read, named if it was ended."""
        booking = Booking.from_record(rec, user_id, now)
        if booking.ended_by_agent_id is None:
            return booking
        return await anyio.to_thread.run_sync(self._named, user_id, booking)

    def _pack_get(self, user_id: str, booking_id: str, agent_id: str, key_hash: str) -> Call:
        if not is_id(booking_id):
            raise ValidationError("booking_id", "must be a booking id such as bkg_…")
        return self.calls.pack_read_booking(
            user_id,
            booking_id,
            agent_id=agent_id,
            key_hash=key_hash,
            scope=BOOKINGS_READ,
            limits=self.limits,
        )

    def _got(self, reply: dict[str, Any], user_id: str, booking_id: str, agent_id: str) -> Booking:
        if reply["r"] != "ok":
            raise refusal("read_booking", reply, About(user_id, booking_id, agent_id))
        return Booking.from_record(reply["booking"], user_id, reply["now"])

    def _named(self, user_id: str, booking: Booking) -> Booking:
        """``booking`` with the name of the agent that ended it (one read), if any."""
        if booking.ended_by_agent_id is None:
            return booking
        return with_names(booking, agent_names(self.store, user_id, [booking.ended_by_agent_id]))

    def list_for_agent(
        self, user_id: str, *, agent_id: str, key_hash: str, **filters: Unpack[Filters]
    ) -> BookingPage:
        """One agent's own bookings overlapping ``[start, end)``, in start order.

        The key and its ``bookings:read`` scope are checked first (a revoked key reads
        nothing); ended bookings are listed too, naming who displaced them.
        """
        authorize(self.store, user_id, agent_id, key_hash, BOOKINGS_READ)
        return booking_pages.page(self.store, user_id, agent_id=agent_id, **filters)

    # -- losing inside the window -------------------------------------------------------

    def _lost_in_window(self, user_id: str, rec: dict[str, Any]) -> Conflict:
        """The conflict for a write displaced while it waited: name the current winner."""
        winner_id = rec["ended_by"]
        winner_agent, winner_prio = rec["ended_by_agent_id"], rec["ended_by_priority"]
        for _ in range(_MAX_WINNER_CHAIN):
            try:
                w, now = self._read(user_id, winner_id)
            except NotFound:
                break
            winner_agent, winner_prio = w["agent_id"], w["priority"]
            if w.get("lost_in_window") and w.get("ended_by"):
                winner_id = w["ended_by"]
            elif w["status"] in ("HOLD", "COMMITTED") and w["arb_until_ms"] > now:
                # The displacer's own win is still open: name it only once it is final.
                self._wait_on(user_id, winner_id, w["arb_until_ms"] - now)
            else:
                break
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
