"""The typed script-call layer: one function per Lua script, the only code that knows
the KEYS and ARGV positions.

Each function's signature is its script's contract (the script's header says the same
in Lua terms): fixed keys first, variable keys last, and the script binds every ARGV to
a name at its top. Callers pass named values and get the script's decoded JSON reply;
mapping a reply to a typed error is :mod:`coordinator.replies`'s job. Store failures
surface as redis-py's exceptions: the caller wraps them (it knows the step's name).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import orjson

from ..buckets import BUCKETS_PER_DAY
from .keys import Keys
from .resp import bulk, bulks
from .scripts import Scripts
from .wire import PackedScript

Reply = dict[str, Any]


class Call(NamedTuple):
    """One packed script call: which transition, its KEYS and its ARGV.

    The hot calls (claim, read_booking, read_availability) are packed apart from being
    sent, so the same packing feeds the sync client (:meth:`Calls.run`) and the server's
    asyncio client (:class:`coordinator.store.aio.AsyncCalls`).
    """

    script: str
    keys: list[str]
    args: list[Any]
    #: The KEYS and then the ARGV as RESP bulk strings, when the packer kept most of
    #: them packed (``PlainCommit.pack``): the clients send them after the command's
    #: head (``resp.command_head``) instead of packing ``keys`` and ``args`` again.
    wire: bytes | None = None


ProposalTransition = Literal[
    "proposal_create",
    "proposal_read",
    "proposal_respond",
    "proposal_resolve",
    "proposal_finish",
    "proposal_cancel",
    "proposal_tick",
]

CounterTransition = Literal["counter_create", "counter_read", "counter_reject"]


@dataclass(frozen=True)
class DaySpan:
    """The bucket fields one booking covers within one UTC day (inclusive)."""

    day: int
    first: int
    last: int


class PlainCommit(NamedTuple):
    """One agent's plain commits (commit.lua, see :meth:`Calls.plain_commit`): every
    KEYS and ARGV entry packed but the booking's own."""

    keys: tuple[str, ...]  # KEYS[1..7]
    day_prefix: str  # KEYS[8] before its day number
    agent_id: str  # ARGV[1]
    tail: tuple[Any, ...]  # ARGV[5..11]
    #: KEYS[1..7] as bulk strings (``Call.wire``).
    keys_wire: bytes
    #: ARGV[1] as a bulk string.
    agent_wire: bytes
    #: ARGV[5..11] as bulk strings.
    tail_wire: bytes

    @classmethod
    def of(
        cls, keys: tuple[str, ...], day_prefix: str, agent_id: str, tail: tuple[Any, ...]
    ) -> PlainCommit:
        """The template, with its fixed entries packed once for every commit it packs."""
        return cls(keys, day_prefix, agent_id, tail, bulks(keys), bulk(agent_id), bulks(tail))

    def pack(self, booking_id: str, static: bytes, day: int, first: int, last: int) -> Call:
        """The claim of one booking on bucket fields ``first``..``last`` of UTC ``day``,
        ``static`` its ARGV[4] as ``records.plain_static_json`` writes it."""
        day_key = f"{self.day_prefix}{day}"
        return Call(
            "commit",
            [*self.keys, day_key],
            [self.agent_id, booking_id, "", static, *self.tail, first, last],
            b"".join(
                (
                    self.keys_wire,
                    bulk(day_key),
                    self.agent_wire,
                    bulk(booking_id),
                    _EMPTY,  # ARGV[3]: no request hash (no idempotency key)
                    bulk(static),
                    self.tail_wire,
                    bulk(first),
                    bulk(last),
                )
            ),
        )


#: An empty bulk string.
_EMPTY = bulk("")


class PlainWin(NamedTuple):
    """What commit.lua decided for a plain commit that won outright: ``_plain.lua``'s
    array reply, sent when the claim's checks carry ``plain_reply`` (the template of
    :meth:`Calls.plain_commit` asks). The rest of the record is what the caller sent;
    ``coordinator.plain_wins`` puts the two together."""

    now: int
    priority: int
    arb_until_ms: int
    bump_until_ms: int
    audit_event_id: str


#: The tag of ``_plain.lua``'s array reply, as the async (bytes) and sync (text) clients
#: read it.
_PLAIN_TAGS = (b"plain", "plain")


#: Owner/agent pairs whose claim keys :class:`Calls` keeps (past this it starts over).
MAX_KEPT_CLAIM_KEYS = 10_000


@dataclass(frozen=True)
class Calls:
    """The scripts of one Redis client, called by name with named arguments."""

    scripts: Scripts
    keys: Keys
    #: (user id, agent id) -> the keys a claim without an idempotency key starts with.
    _claim_keys: dict[tuple[str, str], tuple[str, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def run(self, call: Call) -> Reply:
        """Send a packed call on the sync client and decode its reply."""
        script = getattr(self.scripts, call.script)
        if call.wire is not None and type(script) is PackedScript:
            n = len(call.keys)
            return decode_reply(script.call_packed(n, n + len(call.args), call.wire))
        return decode_reply(script(keys=call.keys, args=call.args))

    def claim(self, mode: Literal["hold", "commit"], **kw: Any) -> Reply:
        """hold.lua / commit.lua: see :meth:`pack_claim` for the arguments."""
        return self.run(self.pack_claim(mode, **kw))

    def pack_claim(
        self,
        mode: Literal["hold", "commit"],
        *,
        user_id: str,
        agent_id: str,
        key_hash: str,
        booking_id: str,
        request_hash: str,
        static: dict[str, Any] | bytes,
        hold_ttl_ms: int,
        bump_ms: int,
        window_ms: int,
        idempotency_key: str | None,
        idempotency_ttl_s: int,
        days: Sequence[DaySpan],
        checks: dict[str, Any],
        cap_days: Sequence[int] = (),
    ) -> Call:
        """hold.lua / commit.lua (see _claim.lua): place the booking on every bucket or none.

        ``static`` is the record's fixed part (times, cover, title, invitee, metadata,
        buffers) and its digest, or that already as JSON (``records.plain_static_json``);
        ``checks`` the owner's rules as _gate.lua reads them. With no
        ``idempotency_key`` nothing is remembered for a retry.
        """
        k = self.keys
        if idempotency_key is None:
            fixed = self._claim_keys.get((user_id, agent_id))
            if fixed is None:
                fixed = self._fixed_claim_keys(user_id, agent_id, "-")
                if len(self._claim_keys) >= MAX_KEPT_CLAIM_KEYS:
                    self._claim_keys.clear()
                self._claim_keys[user_id, agent_id] = fixed
        else:
            fixed = self._fixed_claim_keys(user_id, agent_id, idempotency_key)
        keys = [
            *fixed,
            *(k.day(user_id, d.day) for d in days),
            *(k.day(user_id, d) for d in cap_days),
        ]
        args: list[Any] = [
            agent_id,
            booking_id,
            request_hash,
            static if type(static) is bytes else _json(static),
            hold_ttl_ms,
            bump_ms,
            window_ms,
            idempotency_ttl_s if idempotency_key else 0,
            len(days),
            key_hash,
            _json(checks),
        ]
        for d in days:
            args += [d.first, d.last]
        return Call(mode, keys, args)

    def plain_commit(
        self,
        user_id: str,
        agent_id: str,
        key_hash: str,
        *,
        hold_ttl_ms: int,
        bump_ms: int,
        window_ms: int,
        checks: dict[str, Any],
    ) -> PlainCommit:
        """:meth:`pack_claim` of a commit without an idempotency key inside one UTC day,
        all but its booking id, static fields and day packed once (``PlainCommit.pack``
        gives the same call; a test compares): an agent's commits share the rest while
        the owner's rules stay as they are."""
        return PlainCommit.of(
            self._fixed_claim_keys(user_id, agent_id, "-"),
            self.keys.day(user_id, 0).removesuffix("0"),  # the day key's name, less its number
            agent_id,
            (hold_ttl_ms, bump_ms, window_ms, 0, 1, key_hash, _json(checks)),
        )

    def _fixed_claim_keys(self, user_id: str, agent_id: str, idempotency: str) -> tuple[str, ...]:
        """A claim's keys before its day buckets (hold.lua / commit.lua: KEYS[1..7]).

        Those of a claim without an idempotency key are kept per owner and agent: an
        agent's commits all share them, and building them (seven key names) was ~3% of
        the worker's instructions per HTTP commit.
        """
        k = self.keys
        return (
            k.owner(user_id),
            k.bookings(user_id),
            k.agents(user_id),
            k.audit(user_id),
            k.idempotency(user_id, agent_id, idempotency),
            k.agent(user_id, agent_id),
            k.approvals(user_id),
        )

    def end_booking(
        self,
        what: Literal["cancel", "release"],
        *,
        user_id: str,
        agent_id: str,
        key_hash: str,
        booking_id: str,
        limits: dict[str, Any],
    ) -> Reply:
        """cancel.lua / release.lua (see _end.lua): the agent ends its own booking."""
        k = self.keys
        keys = [
            k.owner(user_id),
            k.bookings(user_id),
            k.agent(user_id, agent_id),
        ]
        script = self.scripts.cancel if what == "cancel" else self.scripts.release
        return decode_reply(
            script(keys=keys, args=[agent_id, booking_id, key_hash, json.dumps(limits)])
        )

    def read_booking(self, user_id: str, booking_id: str, **kw: Any) -> Reply:
        """read_booking.lua: see :meth:`pack_read_booking`."""
        return self.run(self.pack_read_booking(user_id, booking_id, **kw))

    def pack_read_booking(
        self,
        user_id: str,
        booking_id: str,
        *,
        agent_id: str = "",
        key_hash: str = "",
        scope: str = "",
        limits: dict[str, Any] | None = None,
    ) -> Call:
        """read_booking.lua: one record and the server clock. Without ``key_hash`` the
        coordinator reads for itself (no key, scope or token)."""
        k = self.keys
        keys = [k.owner(user_id), k.bookings(user_id)]
        args: list[Any] = [booking_id]
        if key_hash:
            keys.append(k.agent(user_id, agent_id))
            args += [key_hash, scope, _json(limits or {})]
        return Call("read_booking", keys, args)

    def connector_apply(
        self,
        *,
        user_id: str,
        connector_id: str,
        policy: str,
        plan: dict[str, Any],
        lease_token: str | None = None,
    ) -> Reply:
        """connector_apply.lua: move one connector's external busy blocks, evict or flag
        the bookings they land on by ``policy``, and store its sync state, atomically.
        ``lease_token``: refused (``connector_busy``) unless the connector's sync lease
        still holds it."""
        k = self.keys
        keys = [
            k.owner(user_id),
            k.external_blocks(user_id),
            k.connector_state(user_id, connector_id),
            k.connector_hrefs(user_id, connector_id),
        ]
        args = [connector_id, policy, json.dumps(plan)]
        if lease_token is not None:
            keys.append(k.connector_lease(user_id, connector_id))
            args.append(lease_token)
        return decode_reply(self.scripts.connector_apply(keys=keys, args=args))

    # -- owners, agents, rules -------------------------------------------------------

    def create_owner(self, *, user_id: str, timezone: str) -> Reply:
        """create_owner.lua: register the calendar's owner (refused if it exists)."""
        k = self.keys
        return decode_reply(
            self.scripts.create_owner(
                keys=[k.owner(user_id), k.audit(user_id)], args=[user_id, timezone]
            )
        )

    def create_agent(
        self,
        *,
        user_id: str,
        agent_id: str,
        record: dict[str, Any],
        priority: int,
        key_hash: str,
        scopes: Sequence[str],
        rate: float | None,
        burst: int | None,
    ) -> Reply:
        """create_agent.lua: an agent with its rank, key hash, scopes and own limits
        (None = the coordinator's defaults)."""
        k = self.keys
        keys = [k.owner(user_id), k.agents(user_id), k.agent(user_id, agent_id), k.audit(user_id)]
        args = [
            agent_id,
            json.dumps(record),
            priority,
            key_hash,
            " ".join(scopes),
            "" if rate is None else rate,
            "" if burst is None else burst,
        ]
        return decode_reply(self.scripts.create_agent(keys=keys, args=args))

    def agent_update(
        self,
        *,
        user_id: str,
        agent_id: str,
        op: Literal["rotate", "revoke", "unrevoke", "rate_limit"],
        key_hash: str = "",
        rate: float | str = "",
        burst: int | str = "",
    ) -> Reply:
        """agent_update.lua: rotate or unrevoke (to ``key_hash``), revoke, or set the
        agent's token bucket (``rate``/``burst``, '' = the default)."""
        k = self.keys
        third = rate if op == "rate_limit" else key_hash
        return decode_reply(
            self.scripts.agent_update(
                keys=[k.owner(user_id), k.agent(user_id, agent_id), k.audit(user_id)],
                args=[agent_id, op, third, burst],
            )
        )

    def rerank(self, *, user_id: str, agent_ids: Sequence[str]) -> Reply:
        """rerank.lua: these agents get priorities 1..k, the rest follow in order."""
        k = self.keys
        return decode_reply(
            self.scripts.rerank(
                keys=[k.owner(user_id), k.agents(user_id), k.audit(user_id)],
                args=[json.dumps(list(agent_ids))],
            )
        )

    def update_rules(
        self, *, user_id: str, base_version: int, rules_json: str, timezone: str, changed: str
    ) -> Reply:
        """update_rules.lua: store rules merged onto ``base_version`` (optimistic), or
        answer rules_changed with the current ones. ``timezone`` '' = unchanged."""
        k = self.keys
        return decode_reply(
            self.scripts.update_rules(
                keys=[k.owner(user_id), k.audit(user_id)],
                args=[base_version, rules_json, timezone, changed],
            )
        )

    # -- access and reads --------------------------------------------------------------

    def authorize(
        self, *, user_id: str, agent_id: str, key_hash: str, scope: str, limits: dict[str, Any]
    ) -> Reply:
        """authorize.lua: check the key and ``scope`` ('' = any) and take a token."""
        k = self.keys
        return decode_reply(
            self.scripts.authorize(
                keys=[k.agent(user_id, agent_id)],
                args=[key_hash, scope, json.dumps(limits)],
            )
        )

    def read_availability(self, **kw: Any) -> Reply:
        """read_availability.lua: see :meth:`pack_read_availability`."""
        return self.run(self.pack_read_availability(**kw))

    def pack_read_availability(
        self,
        *,
        user_id: str,
        agent_id: str,
        key_hash: str,
        scope: str,
        limits: dict[str, Any],
        days: Sequence[int | DaySpan],
    ) -> Call:
        """read_availability.lua: the live bookings in ``days``, the owner's rules and
        the server clock, in one round trip.

        A day is a UTC day number (all of its buckets) or a :class:`DaySpan` (only the
        bucket fields ``first..last``): an answer for one UTC day needs one bucket of
        each neighbouring day, not their every booking."""
        k = self.keys
        spans = [d if isinstance(d, DaySpan) else DaySpan(d, 0, BUCKETS_PER_DAY - 1) for d in days]
        keys = [
            k.owner(user_id),
            k.bookings(user_id),
            k.agent(user_id, agent_id),
            k.connectors(user_id),
            *(k.day(user_id, d.day) for d in spans),
        ]
        args: list[Any] = [key_hash, scope, _json(limits), agent_id]
        for d in spans:
            args += (d.first, d.last)
        return Call("read_availability", keys, args)

    # -- approvals ---------------------------------------------------------------------

    def approval_request(
        self,
        *,
        user_id: str,
        agent_id: str,
        key_hash: str,
        limits: dict[str, Any],
        approval_id: str,
        action_type: str,
        summary: str,
        evidence_json: str,
        ttl_ms: int,
    ) -> Reply:
        """approval_request.lua: open a request (or find the one this id already names)."""
        k = self.keys
        keys = [
            k.owner(user_id),
            k.approvals(user_id),
            k.agent(user_id, agent_id),
            k.audit(user_id),
        ]
        request = {
            "action_type": action_type,
            "summary": summary,
            "evidence_json": evidence_json,
            "ttl_ms": ttl_ms,
        }
        args = [key_hash, json.dumps(limits), agent_id, approval_id, json.dumps(request)]
        return decode_reply(self.scripts.approval_request(keys=keys, args=args))

    def approval_read(
        self,
        *,
        user_id: str,
        approval_id: str,
        agent_id: str = "",
        key_hash: str = "",
        limits: dict[str, Any] | None = None,
    ) -> Reply:
        """approval_read.lua: one request, lapsed first if due; with ``key_hash`` only
        the agent that asked may read it."""
        k = self.keys
        keys = [
            k.owner(user_id),
            k.approvals(user_id),
            k.bookings(user_id),
            k.audit(user_id),
            k.agent(user_id, agent_id or "-"),
        ]
        args = [approval_id, key_hash, json.dumps(limits or {}), agent_id]
        return decode_reply(self.scripts.approval_read(keys=keys, args=args))

    def approval_resolve(
        self,
        *,
        user_id: str,
        approval_id: str,
        decision: Literal["approved", "denied"],
        note: str = "",
    ) -> Reply:
        """approval_resolve.lua: a person's decision (a parked commit is approved by a
        claim carrying the approval id instead; see claim's ``checks``)."""
        k = self.keys
        keys = [k.owner(user_id), k.approvals(user_id), k.bookings(user_id), k.audit(user_id)]
        return decode_reply(
            self.scripts.approval_resolve(keys=keys, args=[approval_id, decision, note])
        )

    # -- proposals ---------------------------------------------------------------------

    def proposal(
        self,
        transition: ProposalTransition,
        *,
        user_id: str,
        agent_id: str,
        key_hash: str,
        limits: dict[str, Any],
        proposal_id: str,
        payload: dict[str, Any] | None = None,
    ) -> Reply:
        """proposal_*.lua: the seven proposal transitions share one contract (see
        _proposals.lua); ``agent_id`` '' and ``key_hash`` '' = the owner (or the
        coordinator) acting."""
        k = self.keys
        agent = agent_id or "-"
        keys = [
            k.owner(user_id),
            k.proposals(user_id),
            k.audit(user_id),
            k.agent(user_id, agent),
            k.agents(user_id),
        ]
        args = [key_hash, json.dumps(limits), agent_id, proposal_id, json.dumps(payload or {})]
        return decode_reply(getattr(self.scripts, transition)(keys=keys, args=args))

    # -- mail ------------------------------------------------------------------------

    def mail_send(
        self,
        *,
        user_id: str,
        agent_id: str,
        key_hash: str,
        limits: dict[str, Any],
        message_id: str,
        message: dict[str, Any],
        defaults: dict[str, Any],
    ) -> Reply:
        """mail_send.lua: record an outbound message, count it against the agent's daily
        cap and queue it for the dispatcher, or refuse (policy, suppression, cap)."""
        k = self.keys
        keys = [
            k.owner(user_id),
            k.mail(user_id),
            k.agent(user_id, agent_id),
            k.audit(user_id),
            k.mail_threads(user_id),
            k.mail_suppressions(user_id),
            k.mail_outbox(user_id),
            k.bookings(user_id),
        ]
        args = [
            key_hash,
            json.dumps(limits),
            agent_id,
            message_id,
            json.dumps(message),
            json.dumps(defaults),
        ]
        return decode_reply(self.scripts.mail_send(keys=keys, args=args))

    def mail_receive(
        self,
        *,
        user_id: str,
        agent_id: str,
        message_id: str,
        message: dict[str, Any],
        suppress: Sequence[dict[str, str]],
        contents: Sequence[bytes] = (),
    ) -> Reply:
        """mail_receive.lua: store one inbound message for one agent, threaded, and
        suppress the recipients of a hard bounce or complaint it carries.

        ``contents`` are the bytes of the attachments marked ``stored`` in
        ``message["attachments"]``, in order; they are written in the same step."""
        k = self.keys
        keys = [
            k.owner(user_id),
            k.mail(user_id),
            k.agent(user_id, agent_id),
            k.audit(user_id),
            k.mail_threads(user_id),
            k.mail_suppressions(user_id),
            k.bookings(user_id),
            k.mail_attachments(user_id),
        ]
        args: list[Any] = [agent_id, message_id, json.dumps(message), json.dumps(list(suppress))]
        args += [bytes(c) for c in contents]
        return decode_reply(self.scripts.mail_receive(keys=keys, args=args))

    def mail_deliver(
        self,
        *,
        user_id: str,
        message_id: str,
        outcome: Literal["sent", "failed"],
        entry_id: str,
        group: str,
        reply: str,
        attempts: int,
    ) -> Reply:
        """mail_deliver.lua: record the smarthost's verdict on a message and acknowledge
        its outbox entry in the same step."""
        k = self.keys
        keys = [k.owner(user_id), k.mail(user_id), k.audit(user_id), k.mail_outbox(user_id)]
        args = [message_id, outcome, entry_id, group, reply, attempts]
        return decode_reply(self.scripts.mail_deliver(keys=keys, args=args))

    def mail_owner(
        self,
        op: Literal["unsuppress", "policy"],
        *,
        user_id: str,
        address: str = "",
        agent_id: str = "",
        change: dict[str, Any] | None = None,
    ) -> Reply:
        """mail_owner.lua: take ``address`` off the suppression list, or set ``agent_id``'s
        send cap and free-form flag (``change``: {cap, free_form}; None = default)."""
        k = self.keys
        keys = [
            k.owner(user_id),
            k.audit(user_id),
            k.mail_suppressions(user_id),
            k.agent(user_id, agent_id or "-"),
        ]
        subject = address if op == "unsuppress" else agent_id
        args = [op, subject, json.dumps(change or {})]
        return decode_reply(self.scripts.mail_owner(keys=keys, args=args))

    # -- counter-offers ----------------------------------------------------------------

    def counter(
        self,
        transition: CounterTransition,
        *,
        user_id: str,
        agent_id: str,
        key_hash: str,
        limits: dict[str, Any],
        booking_id: str,
        counter_id: str = "",
        payload: dict[str, Any] | None = None,
    ) -> Reply:
        """counter_create/read/reject.lua: the contract in _counters.lua (``counter_id``
        '' = every counter on the booking, for the read)."""
        keys = self._counter_keys(user_id, agent_id, booking_id)
        args = [key_hash, json.dumps(limits), agent_id, booking_id, counter_id]
        args.append(json.dumps(payload or {}))
        return decode_reply(getattr(self.scripts, transition)(keys=keys, args=args))

    def counter_accept(
        self,
        *,
        user_id: str,
        agent_id: str,
        key_hash: str,
        limits: dict[str, Any],
        booking_id: str,
        counter_id: str,
        payload: dict[str, Any],
        days: Sequence[DaySpan],
        checks: dict[str, Any],
        cap_days: Sequence[int] = (),
    ) -> Reply:
        """counter_accept.lua: move the booking to the counter's chosen slot through the
        claim, atomically (``days`` are the new cover's, as for :meth:`claim`)."""
        k = self.keys
        keys = [
            *self._counter_keys(user_id, agent_id, booking_id),
            k.agents(user_id),
            k.approvals(user_id),
            *(k.day(user_id, d.day) for d in days),
            *(k.day(user_id, d) for d in cap_days),
        ]
        body = {**payload, "days": [[d.first, d.last] for d in days]}
        args = [key_hash, json.dumps(limits), agent_id, booking_id, counter_id]
        args += [json.dumps(body), json.dumps(checks)]
        return decode_reply(self.scripts.counter_accept(keys=keys, args=args))

    def _counter_keys(self, user_id: str, agent_id: str, booking_id: str) -> list[str]:
        k = self.keys
        return [
            k.owner(user_id),
            k.bookings(user_id),
            k.counters(user_id, booking_id),
            k.agent(user_id, agent_id),
            k.audit(user_id),
        ]


def _json(value: Any) -> bytes:
    """An ARGV value as JSON (orjson: the packer's main cost was ``json.dumps``)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def decode_reply(raw: Any) -> Reply:
    """A script's reply: its JSON, or (read_availability.lua) an array of its JSON and
    then the text of each cached day, sent as is and given back as ``reply["days"]``,
    or (commit.lua, asked for) a plain commit's win, given back as ``reply["plain"]``,
    a :class:`PlainWin`."""
    if type(raw) is list:
        if raw[0] in _PLAIN_TAGS:
            _, now, priority, arb_until_ms, bump_until_ms, audit_id = raw
            if type(audit_id) is bytes:
                audit_id = audit_id.decode()
            win = PlainWin(now, priority, arb_until_ms, bump_until_ms, audit_id)
            return {"r": "ok", "plain": win}
        reply: Reply = orjson.loads(raw[0])
        reply["days"] = raw[1:]
        return reply
    reply = orjson.loads(raw)
    return reply
