"""Wire shapes of protocol v0.1, as the official ``agentdraft`` SDK sends and reads them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..counters import CounterOffer
from ..models import ALL_SCOPES, Booking

#: Request bodies are validated strictly: a number is a JSON number and a flag a JSON
#: boolean (``"5"`` or ``true`` is not a buffer of 5 minutes), NaN and Infinity are not
#: numbers. Times stay ISO 8601 text. What a field holds beyond its type (text that
#: cannot be stored, JSON values) is checked by :mod:`coordinator.inputs` on every
#: surface, so HTTP and Python callers get the same 422 naming the field.
STRICT = ConfigDict(strict=True, allow_inf_nan=False)


class WireIn(BaseModel):
    """A request body. Unknown fields are ignored, not refused: newer clients may send
    additive fields."""

    model_config = ConfigDict(extra="ignore", **STRICT)


class ClosedIn(BaseModel):
    """A request body of this server's own endpoints: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", **STRICT)


class Invitee(WireIn):
    name: str | None = None
    email: str | None = None
    notes: str | None = None


class BookingRequest(WireIn):
    """``POST /v1/bookings``. Times are ISO 8601 with an offset; naive times are refused."""

    start: str
    end: str
    mode: Literal["commit", "hold"] = "commit"
    #: Omitted: the owner's default buffers apply.
    buffer_before_min: int | None = None
    buffer_after_min: int | None = None
    bump_window_seconds: float | None = None
    hold_ttl_seconds: float | None = None
    metadata: dict[str, Any] | None = None
    title: str | None = None
    invitee: Invitee | None = None
    with_conferencing: bool = False
    #: The etag of the availability answer this write was chosen from (410 if stale).
    availability_etag: str | None = None


class BookingOut(BaseModel):
    """201 body; the SDK's ``Booking.from_json`` reads the first seven fields."""

    booking_id: str
    status: str
    expires_at: datetime | None = None
    audit_event_id: str | None = None
    title: str | None = None
    invitee: dict[str, Any] | None = None
    conferencing: dict[str, Any] | None = None
    #: A parked commit a person approved: the signed ``booking_receipt`` (a JWT).
    receipt: str | None = None
    start: datetime
    end: datetime
    agent_id: str
    user_id: str
    priority: int
    mode: str
    created_at: datetime
    bump_until: datetime | None = None
    displaced: list[dict[str, Any]] = Field(default_factory=list)
    waited_ms: int = 0
    ended_at: datetime | None = None
    ended_by_booking_id: str | None = None
    ended_by_agent_id: str | None = None
    ended_by_priority: int | None = None
    ended_by_agent_name: str | None = None

    @classmethod
    def of(cls, b: Booking) -> BookingOut:
        data = b.model_dump(
            exclude={"metadata", "buffer_before_min", "buffer_after_min", "end_audit_event_id"}
        )
        data["displaced"] = [d.model_dump() for d in b.displaced]
        return cls(**data)


class CounterSlotIn(ClosedIn):
    """One alternative slot: ISO 8601 times with an offset."""

    start: str = Field(max_length=64)
    end: str = Field(max_length=64)


class CounterIn(ClosedIn):
    """``POST /v1/bookings/{id}/counter``: 1-5 alternatives and a note for the winner."""

    proposed: list[CounterSlotIn] = Field(min_length=1, max_length=5)
    note: str | None = Field(default=None, max_length=500)


class CounterAcceptIn(ClosedIn):
    """``POST /v1/bookings/{id}/counters/{counter_id}/accept``: which slot, 0-based."""

    slot_index: int = Field(ge=0, le=4)


class CounterOut(BaseModel):
    """A counter-offer; the create answer's first three fields are the hosted API's."""

    counter_id: str
    booking_id: str
    proposed: list[dict[str, datetime]]
    agent_id: str
    winner_agent_id: str
    note: str | None = None
    status: Literal["pending", "accepted", "rejected", "superseded"]
    created_at: datetime
    audit_event_id: str | None = None
    decided_at: datetime | None = None
    slot_index: int | None = None
    new_booking_id: str | None = None
    #: The answer to an accept: the booking at its new time.
    booking: BookingOut | None = None

    @classmethod
    def of(cls, c: CounterOffer) -> CounterOut:
        data = c.model_dump(exclude={"booking"})
        return cls(**data, booking=BookingOut.of(c.booking) if c.booking else None)


class CounterList(BaseModel):
    booking_id: str
    counters: list[CounterOut]


class ErrorBody(BaseModel):
    """Every 4xx/5xx body: a machine code and a human sentence, plus context fields."""

    model_config = ConfigDict(extra="allow")
    error: str
    detail: str


class AgentMe(BaseModel):
    agent_id: str
    user_id: str
    priority: int
    scopes: list[str]
    timezone: str
    name: str | None = None


class AuditEvent(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    type: str
    ts: datetime
    fields: dict[str, str]


class AuditPage(BaseModel):
    events: list[AuditEvent]
    count: int


class MagicLinkIn(WireIn):
    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")


class MagicLinkOut(BaseModel):
    sent: bool
    dev_token: str | None = None


class VerifyIn(WireIn):
    token: str = Field(min_length=8, max_length=200)


class SessionOut(BaseModel):
    user_id: str
    email: str


class DashboardAgentIn(WireIn):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(default_factory=lambda: list(ALL_SCOPES))
    priority: int | None = Field(default=None, ge=1, le=10_000)


class DashboardAgentOut(BaseModel):
    agent_id: str
    user_id: str
    name: str
    priority: int
    scopes: list[str]
    status: str
    created_at: datetime
    plaintext_key: str | None = None
    #: The agent's request-signing private JWK, shown once beside ``plaintext_key``.
    private_jwk: dict[str, str] | None = None


# -- mailbox (the SDK's client.mailbox; coordinator/mail/mailbox.py builds the dicts) ------


class MailQuota(BaseModel):
    cap: int = Field(description="Messages the agent may send per UTC day.")
    used_today: int = Field(description="Messages it sent today (server clock, UTC).")
    remaining: int = Field(description="cap - used_today, never below 0.")
    resets_at: datetime | None = Field(default=None, description="The next UTC midnight.")


class MailboxInfo(BaseModel):
    agent_id: str
    address: str = Field(description="The agent's inbound address (<agent_id>@<domain>).")
    free_form_allowed: bool = Field(description="Whether it may send mail naming no booking.")
    quota: MailQuota


class MailVerdict(BaseModel):
    result: str = Field(description="pass, fail, softfail, neutral, none, temperror, permerror")
    detail: str = ""
    domain: str | None = None
    policy: str | None = None


class MailVerdicts(BaseModel):
    spf: MailVerdict | None = None
    dkim: MailVerdict | None = None
    dmarc: MailVerdict | None = None


class MailAttachment(BaseModel):
    filename: str | None = Field(default=None, description="As sent, reduced to a base name.")
    content_type: str
    size: int = Field(description="Decoded size in bytes.")
    stored: bool = Field(
        description="Whether its bytes were kept (false: it was over the size limits)."
    )


class MailMessage(BaseModel):
    """One message of an agent's mailbox (a listing has ``snippet``, a read ``body_text``)."""

    message_id: str = Field(description="This API's id (msg_…).")
    agent_id: str
    direction: Literal["inbound", "outbound"]
    status: str | None = Field(
        default=None, description="received (inbound); queued, sent or failed (outbound)."
    )
    from_: str | None = Field(default=None, alias="from", description="Sender address.")
    to: list[str]
    reply_to: str | None = None
    subject: str
    booking_id: str | None = Field(default=None, description="The booking it is about.")
    thread_id: str | None = None
    internet_message_id: str | None = Field(default=None, description="Its Message-ID header.")
    in_reply_to: str | None = None
    references: list[str] = Field(default_factory=list)
    created_at: datetime | None = None
    date: datetime | None = Field(default=None, description="Its Date header (inbound).")
    sent_at: datetime | None = Field(default=None, description="When the smarthost took it.")
    verdicts: MailVerdicts | None = Field(default=None, description="SPF, DKIM and DMARC.")
    attachments: list[MailAttachment] = Field(
        default_factory=list,
        description="Inbound attachments in order; GET …/attachments/{index} returns a stored one.",
    )
    bounce: dict[str, Any] | None = None
    audit_event_id: str | None = None
    body_text: str | None = Field(default=None, description="Full plain-text body (reads).")
    snippet: str | None = Field(default=None, description="Start of the body (listings).")
    quota: MailQuota | None = Field(default=None, description="After a send: today's quota.")

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class MailPage(BaseModel):
    messages: list[MailMessage]
    next_cursor: str | None = Field(default=None, description="Pass as cursor for more.")


class MailSuppression(BaseModel):
    address: str
    suppressed: bool
    kind: str | None = Field(default=None, description="hard_bounce or complaint.")
    suppressed_at: datetime | None = None


class MailSendIn(WireIn):
    to: str = Field(min_length=3, max_length=254, description="One recipient address.")
    subject: str = Field(min_length=1, max_length=998)
    body_text: str = Field(min_length=1, max_length=200_000)
    booking_id: str | None = Field(default=None, max_length=64)
    in_reply_to: str | None = Field(default=None, max_length=998)
    reply_to: str | None = Field(default=None, max_length=254)


class MailReplyIn(WireIn):
    body_text: str = Field(min_length=1, max_length=200_000)
    subject: str | None = Field(default=None, min_length=1, max_length=998)
    reply_to: str | None = Field(default=None, max_length=254)
