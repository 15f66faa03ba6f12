"""The MCP tools' structured results as models: each tool's ``outputSchema`` and its check.

:func:`.mcp_server.payload` writes agentdraft-mcp's JSON for a result; the models
here describe exactly that JSON, derived from the result models in :mod:`.results`
so a field added there shows up in the schema a client reads. A tool's output is
one of its success shapes or :class:`ErrorPayload` (an ``isError`` answer), so every
schema is an ``anyOf`` under an object root (MCP requires ``type: object``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, create_model
from pydantic.fields import FieldInfo

from .mailbox_results import MailList, MailMessage, MailSent, SuppressionStatus
from .results import (
    ApprovalStatus,
    Availability,
    Booked,
    BookingList,
    BookingState,
    CounterList,
    CounterState,
    Identity,
    Lost,
    Slot,
)

_STRICT = ConfigDict(extra="forbid")


def _derived(
    name: str, source: type[BaseModel], *, drop: tuple[str, ...] = (), **extra: Any
) -> type[BaseModel]:
    """A payload model with ``source``'s fields (minus ``drop``) plus ``extra`` fields."""
    fields: dict[str, Any] = {
        k: (f.annotation, FieldInfo.merge_field_infos(f))
        for k, f in source.model_fields.items()
        if k not in drop
    }
    return create_model(name, __config__=_STRICT, __doc__=source.__doc__, **fields, **extra)


IdentityPayload = _derived("IdentityPayload", Identity, drop=("outcome",))
BookedPayload = _derived("BookedPayload", Booked, drop=("outcome", "mode"))
BookingPayload = _derived("BookingPayload", BookingState, drop=("outcome",))
BookingListPayload = _derived("BookingListPayload", BookingList, drop=("outcome",))
ApprovalPayload = _derived("ApprovalPayload", ApprovalStatus, drop=("outcome",))
CounterPayload = _derived("CounterPayload", CounterState, drop=("outcome",))
CounterListPayload = _derived("CounterListPayload", CounterList, drop=("outcome",))
AvailabilityPayload = _derived(
    "AvailabilityPayload", Availability, drop=("outcome", "start", "end", "duration_minutes")
)
MailListPayload = _derived("MailListPayload", MailList, drop=("outcome",))
MailMessagePayload = _derived("MailMessagePayload", MailMessage, drop=("outcome",))
MailSentPayload = _derived("MailSentPayload", MailSent, drop=("outcome",))
SuppressionPayload = _derived("SuppressionPayload", SuppressionStatus, drop=("outcome",))
OutrankedPayload = _derived(
    "OutrankedPayload",
    Lost,
    error=(Literal["outranked"], Field(description="Lost the slot to another agent")),
    message=(str, Field(description="What happened and what to do next, in words")),
)


class ErrorDetail(BaseModel):
    model_config = _STRICT

    field: str | None = None
    status: int | None = None
    alternatives: list[Slot] = Field(default_factory=list)
    #: For ``consent_required``: what a person approves, and the hold parking the slot.
    consent_request_id: str | None = None
    hold_id: str | None = None


class ErrorPayload(BaseModel):
    """The call was refused for a reason the model can act on (``isError`` is set)."""

    model_config = _STRICT

    error: str = Field(description="Machine code, e.g. naive_time, forbidden, invalid_arguments")
    message: str = Field(description="What went wrong and how to fix it, in words")
    detail: ErrorDetail


class ReleasedPayload(BaseModel):
    model_config = _STRICT

    released: Literal[True]
    hold_id: str


class CancelledPayload(BaseModel):
    model_config = _STRICT

    cancelled: Literal[True]
    booking_id: str


def output(*shapes: type[BaseModel]) -> type[RootModel[Any]]:
    """A tool's output model: one of ``shapes`` or an :class:`ErrorPayload`, object-rooted."""
    union: Any = shapes[0]
    for shape in (*shapes[1:], ErrorPayload):
        union = union | shape
    name = "".join(s.__name__.removesuffix("Payload") for s in shapes) + "Output"
    config = ConfigDict(json_schema_extra={"type": "object"})
    return type(name, (RootModel[union],), {"model_config": config})


__all__ = [
    "ApprovalPayload",
    "AvailabilityPayload",
    "BookedPayload",
    "BookingListPayload",
    "BookingPayload",
    "CancelledPayload",
    "CounterListPayload",
    "CounterPayload",
    "ErrorDetail",
    "ErrorPayload",
    "IdentityPayload",
    "MailListPayload",
    "MailMessagePayload",
    "MailSentPayload",
    "OutrankedPayload",
    "ReleasedPayload",
    "SuppressionPayload",
    "output",
]
