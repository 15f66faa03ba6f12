"""Agent-side booking endpoints: commit/hold, release, cancel, read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path

from ..auth import Agent
from ..schemas import BookingOut, BookingRequest, ErrorBody

router = APIRouter(prefix="/v1", tags=["bookings"])

ID = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
_ERRORS = {
    401: {"model": ErrorBody},
    403: {"model": ErrorBody},
    404: {"model": ErrorBody},
    409: {"model": ErrorBody},
    410: {"model": ErrorBody},
    422: {"model": ErrorBody},
    429: {"model": ErrorBody},
    503: {"model": ErrorBody},
}


@router.post("/bookings", status_code=201, response_model=BookingOut, responses=_ERRORS)
def create_booking(
    body: BookingRequest,
    client: Agent,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> BookingOut:
    """Commit or hold a slot. 201 when won; 409 with the winner when lost."""
    kwargs = {
        "start": body.start,
        "end": body.end,
        "idempotency_key": idempotency_key,
        "buffer_before_min": body.buffer_before_min,
        "buffer_after_min": body.buffer_after_min,
        "metadata": body.metadata,
        "title": body.title,
        "invitee": body.invitee.model_dump(exclude_none=True) if body.invitee else None,
        "availability_etag": body.availability_etag,
    }
    if body.mode == "hold":
        booking = client.bookings.hold(**kwargs, hold_ttl_seconds=body.hold_ttl_seconds)
    else:
        booking = client.bookings.commit(**kwargs, bump_window_seconds=body.bump_window_seconds)
    return BookingOut.of(booking)


@router.get("/bookings/{booking_id}", response_model=BookingOut, responses=_ERRORS)
def get_booking(booking_id: ID, client: Agent) -> BookingOut:
    """Any booking on the caller's owner's calendar, with who ended it and when."""
    return BookingOut.of(client.bookings.get(booking_id))


@router.delete("/bookings/{booking_id}", response_model=BookingOut, responses=_ERRORS)
def cancel_booking(booking_id: ID, client: Agent) -> BookingOut:
    """Cancel the caller's own booking."""
    return BookingOut.of(client.bookings.cancel(booking_id))


@router.post("/holds/{hold_id}/release", response_model=BookingOut, responses=_ERRORS)
def release_hold(hold_id: ID, client: Agent) -> BookingOut:
    """Give back the caller's own live hold."""
    return BookingOut.of(client.bookings.release(hold_id))
