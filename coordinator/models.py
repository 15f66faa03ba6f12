"""Pydantic models shared by the Python API and (later) the HTTP server.

Field names follow the official ``agentdraft`` SDK (``booking_id``, ``status``,
``expires_at``, ``audit_event_id``, ``title``, ``invitee``) so results read the
same whichever client produced them; the extra fields say what the SDK cannot
(who displaced whom, when the answer became certain).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from .buckets import from_ms

BookingStatus = Literal[
    "HOLD",
    "COMMITTED",
    "RELEASED",
    "CANCELLED",
    "EVICTED",
    "INVALIDATED",
    "EXPIRED",
    "PROMOTED",
    "REPLACED",
    "MOVED",
]

ALL_SCOPES: tuple[str, ...] = (
    "availability:read",
    "bookings:read",
    "bookings:write",
    "rules:read",
    "mailbox:read",
    "mailbox:write",
    "approvals:request",
)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


_M = TypeVar("_M", bound=_Model)


class Displacement(_Model):
    """A booking that a successful write pushed off the calendar."""

    booking_id: str
    agent_id: str
    priority: int
    status: Literal["EVICTED", "INVALIDATED"]
    in_arbitration_window: bool


class Booking(_Model):
    """A hold or commit as the coordinator sees it now."""

    booking_id: str
    status: BookingStatus
    agent_id: str
    user_id: str
    priority: int
    mode: Literal["hold", "commit"]
    start: datetime
    end: datetime
    buffer_before_min: int = 0
    buffer_after_min: int = 0
    created_at: datetime
    expires_at: datetime | None = None
    bump_until: datetime | None = None
    audit_event_id: str | None = None
    title: str | None = None
    invitee: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    #: What this write pushed off the calendar (only on the answer to the write).
    displaced: tuple[Displacement, ...] = ()
    #: How long the answer waited for the arbitration window (ms, server clock).
    waited_ms: int = 0
    ended_at: datetime | None = None
    ended_by_booking_id: str | None = None
    ended_by_agent_id: str | None = None
    ended_by_priority: int | None = None
    #: The displacing agent's name, filled by reads that name it (not stored on the record).
    ended_by_agent_name: str | None = None
    end_audit_event_id: str | None = None
    #: Why it ended when no agent ended it: ``external_event`` (an event of the owner's
    #: real calendar, pulled by ``ended_by_connector_id``, with UID ``ended_by_event_uid``).
    end_reason: str | None = None
    ended_by_connector_id: str | None = None
    ended_by_event_uid: str | None = None
    #: The consent request a person approved to book this (a parked commit), and the
    #: signed ``booking_receipt`` of that decision (``coordinator/receipts.py``).
    approval_id: str | None = None
    receipt: str | None = None
    #: ``{provider, url, status}`` for a commit made ``with_conferencing=True``.
    conferencing: dict[str, Any] | None = None

    @property
    def is_live(self) -> bool:
        return self.status in ("HOLD", "COMMITTED")

    @classmethod
    def from_record(
        cls, rec: dict[str, Any], user_id: str, now_ms: int | None = None, **extra: Any
    ) -> Booking:
        """The booking a stored record (a script's reply) describes, as it is at ``now_ms``.

        Records come from our own scripts, so their fields already have the model's
        types: when every one does (:func:`_booking_shaped`), the model is built without
        a validation pass, with the same fields, values and fields-set as validation
        gives. Anything else (a record an older version wrote oddly, a hand-edited one)
        is validated as before, and refused the same way.
        """
        fields = record_fields(rec, user_id, now_ms)
        if cls is Booking and _booking_shaped(fields, extra):
            values = dict(_BOOKING_DEFAULTS)
            values.update(fields)
            values.update(extra)
            given = set(fields)
            given.update(extra)
            booking: Booking = _trusted(Booking, values, given)
            return booking
        return cls(**fields, **extra)


def record_fields(rec: dict[str, Any], user_id: str, now_ms: int | None = None) -> dict[str, Any]:
    """A stored booking record as :class:`Booking`'s fields, as the booking is now.

    Apart from :meth:`Booking.from_record` so the server's read path can write the
    same answer without building the model (``server/responses.py``).
    """
    status = rec["status"]
    if status == "HOLD" and now_ms is not None and rec["expires_ms"] <= now_ms:
        status = "EXPIRED"
    ended = rec.get("ended_ms")
    if status == "EXPIRED" and not ended:
        ended = rec["expires_ms"]
    return {
        "booking_id": rec["id"],
        "status": status,
        "agent_id": rec["agent_id"],
        "user_id": user_id,
        "priority": int(rec["priority"]),
        "mode": rec["mode"],
        "start": from_ms(rec["start_ms"]),
        "end": from_ms(rec["end_ms"]),
        "buffer_before_min": rec.get("buffer_before_min", 0),
        "buffer_after_min": rec.get("buffer_after_min", 0),
        "created_at": from_ms(rec["created_ms"]),
        "expires_at": from_ms(rec["expires_ms"]) if rec.get("expires_ms") else None,
        "bump_until": from_ms(rec["bump_until_ms"]) if rec.get("bump_until_ms") else None,
        "audit_event_id": rec.get("audit_event_id"),
        "title": rec.get("title") or None,
        "invitee": rec.get("invitee") or None,
        "metadata": rec.get("metadata") or None,
        "ended_at": from_ms(ended) if ended else None,
        "ended_by_booking_id": rec.get("ended_by"),
        "ended_by_agent_id": rec.get("ended_by_agent_id"),
        "ended_by_priority": rec.get("ended_by_priority"),
        "end_audit_event_id": rec.get("end_audit_id"),
        "end_reason": rec.get("end_reason"),
        "ended_by_connector_id": rec.get("ended_by_connector_id"),
        "ended_by_event_uid": rec.get("ended_by_event_uid"),
        "approval_id": rec.get("approval_id") or None,
        "conferencing": rec.get("conferencing") or None,
    }


#: Every field of :class:`Booking` with its default, in the model's order (required
#: fields as None: :meth:`Booking.from_record` always sets those).
_BOOKING_DEFAULTS: dict[str, Any] = {
    name: None if field.is_required() else field.default
    for name, field in Booking.model_fields.items()
}


class Owner(_Model):
    """A calendar owner. One owner, one calendar."""

    user_id: str
    timezone: str = "UTC"
    created_at: datetime
    #: Bumped by every change of rules, timezone or ranking.
    rules_version: int = 1


class Agent(_Model):
    """An agent acting for an owner. ``priority`` 1 is the most trusted."""

    agent_id: str
    user_id: str
    name: str
    priority: int
    scopes: tuple[str, ...] = ALL_SCOPES
    status: Literal["active", "revoked"] = "active"
    created_at: datetime
    #: This agent's own token bucket; None = the coordinator's defaults.
    rate_limit_per_second: float | None = None
    rate_limit_burst: int | None = None


class AgentCreated(Agent):
    """The answer to creating an agent: the only time the plaintext key is shown."""

    api_key: str = Field(repr=False)
    #: The agent's Ed25519 request-signing key (a private JWK for the SDK's
    #: ``sign_request``), shown this once like ``api_key``; only its public half is kept.
    private_jwk: dict[str, str] | None = Field(default=None, repr=False)


class Slot(_Model):
    """An open slot, the same shape as the official SDK's ``Slot`` (``start``, ``end``)."""

    start: datetime
    end: datetime


_new = object.__new__
_set = object.__setattr__


def _trusted(cls: type[_M], values: dict[str, Any], given: set[str] | None = None) -> _M:
    """An instance of ``cls`` over ``values``, which must hold every field, in the model's
    order, each already of its field's type (values this package made, never a caller's);
    ``given`` are the fields set explicitly (default: all of them).

    What pydantic's ``model_construct`` leaves behind for a model without extras or
    private attributes (``__dict__``, the fields set, no extra, no private), without
    its per-field alias and default look-ups: the slot search makes up to thousands of
    slots per answer, and validating or constructing each one cost more than finding it.
    """
    m = _new(cls)
    _set(m, "__dict__", values)
    _set(m, "__pydantic_fields_set__", set(values) if given is None else given)
    _set(m, "__pydantic_extra__", None)
    _set(m, "__pydantic_private__", None)
    return m


_NONE = type(None)
#: What each field of a stored record's :func:`record_fields` may be for the model to
#: take it as it is (see :meth:`Booking.from_record`).
_RECORD_TYPES: tuple[tuple[str, tuple[type, ...]], ...] = (
    *((f, (str,)) for f in ("booking_id", "agent_id", "user_id")),
    *((f, (int,)) for f in ("priority", "buffer_before_min", "buffer_after_min")),
    *((f, (datetime,)) for f in ("start", "end", "created_at")),
    *((f, (datetime, _NONE)) for f in ("expires_at", "bump_until", "ended_at")),
    *(
        (f, (str, _NONE))
        for f in (
            "audit_event_id",
            "title",
            "ended_by_booking_id",
            "ended_by_agent_id",
            "end_audit_event_id",
            "end_reason",
            "ended_by_connector_id",
            "ended_by_event_uid",
            "approval_id",
        )
    ),
    ("ended_by_priority", (int, _NONE)),
    *((f, (dict, _NONE)) for f in ("invitee", "metadata", "conferencing")),
)
_STATUSES = frozenset(BookingStatus.__args__)  # type: ignore[attr-defined]


def _booking_shaped(fields: dict[str, Any], extra: dict[str, Any]) -> bool:
    """Whether ``fields`` (and the ``displaced``/``waited_ms`` extras) are exactly of the
    types :class:`Booking` validates them to, so validating would change nothing."""
    if fields["status"] not in _STATUSES or fields["mode"] not in ("hold", "commit"):
        return False
    for name, types in _RECORD_TYPES:
        if type(fields[name]) not in types:
            return False
    for name, value in extra.items():
        if name == "waited_ms":
            if type(value) is not int:
                return False
        elif name != "displaced" or type(value) is not tuple:
            return False
        elif not all(type(d) is Displacement for d in value):
            return False
    for name in ("invitee", "metadata", "conferencing"):
        value = fields[name]
        if value is not None and not all(type(k) is str for k in value):
            return False
    return True


def trusted_slot(start: datetime, end: datetime) -> Slot:
    """``Slot(start=start, end=end)`` for two aware datetimes the caller built."""
    return _trusted(Slot, {"start": start, "end": end})


class AgentIdentity(_Model):
    """What ``client.agents.me()`` returns, the same shape as the SDK's."""

    agent_id: str
    user_id: str
    priority: int
    scopes: list[str]
    timezone: str = "UTC"
    name: str | None = None


class AuditEntry(_Model):
    """One entry of a calendar's hash-chained audit stream."""

    id: str
    type: str
    ts: datetime
    fields: dict[str, str]

    @property
    def booking_id(self) -> str | None:
        return self.fields.get("booking_id")

    @property
    def agent_id(self) -> str | None:
        return self.fields.get("agent_id")


class AuditProblem(_Model):
    """One thing ``audit verify`` found wrong; ``booking_id`` names the booking it concerns."""

    entry_id: str
    problem: Literal[
        # the hash chain
        "edited",
        "chain_broken",
        "head_mismatch",
        "missing_head",
        "stream_missing",
        # the state replayed from the chain against what Redis holds
        "replay_inconsistent",
        "booking_without_entries",
        "booking_missing",
        "booking_edited",
        "bucket_missing",
        "bucket_extra",
        "bucket_edited",
        "shared_bucket",
        # signed checkpoints and archived segments
        "checkpoint_mismatch",
        "checkpoint_entry_missing",
        "checkpoint_bad_signature",
        "checkpoint_overdue",
        "archive_broken",
    ]
    detail: str
    booking_id: str | None = None


class AuditVerification(_Model):
    """The result of re-walking a calendar's hash chain."""

    user_id: str
    entries: int
    ok: bool
    head: str | None
    problems: tuple[AuditProblem, ...] = ()
    #: Bookings whose stored records were checked against the replayed history.
    bookings: int = 0
    #: False when history before the stream was archived and no archive was given:
    #: the chain was walked from the archive point and the state was not replayed.
    complete: bool = True
    #: The latest signed checkpoint that verified (entry id), if any.
    checkpoint: str | None = None
