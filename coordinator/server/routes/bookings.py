"""Agent-side booking endpoints: commit/hold, release, cancel, read.

Writes run in the thread pool: a winning write of an agent that is not its
owner's top-ranked one waits out the arbitration window, and that wait must not
hold the event loop. The read never waits, so it runs on the loop (one Redis
round trip, no thread hop).
"""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

from fastapi import APIRouter, Header, Path, Query, Request
from pydantic import BaseModel
from starlette.responses import Response

from ...booking_pages import MAX_PAGE
from ..auth import Agent
from ..observe import count_write
from ..responses import booking_json, booking_response, error_responses, json_response
from ..schemas import BookingOut, BookingRequest

router = APIRouter(prefix="/v1", tags=["bookings"])

ID = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
_ERRORS = error_responses(401, 403, 404, 409, 410, 422, 429, 503)


class _SlotWrite(TypedDict):
    """The arguments a commit and a hold share, so one mapping feeds either call."""

    start: str
    end: str
    idempotency_key: str | None
    buffer_before_min: int | None
    buffer_after_min: int | None
    metadata: dict[str, Any] | None
    title: str | None
    invitee: dict[str, Any] | None
    availability_etag: str | None


@router.post("/bookings", status_code=201, response_model=BookingOut, responses=_ERRORS)
def create_booking(
    request: Request,
    body: BookingRequest,
    client: Agent,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> Response:
    """Commit or hold a slot. 201 when won; 409 with the winner when lost."""
    kwargs: _SlotWrite = {
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
        booking = client.bookings.commit(
            **kwargs,
            bump_window_seconds=body.bump_window_seconds,
            with_conferencing=body.with_conferencing,
        )
    count_write(body.mode, booking)
    request.state.outcome = booking.status.lower()
    return booking_response(booking, 201)


class BookingListOut(BaseModel):
    """The calling agent's bookings in start order; ``next_cursor`` continues the list."""

    bookings: list[BookingOut]
    next_cursor: str | None = None


Time = Annotated[str | None, Query(max_length=64, description="ISO 8601 with an offset")]


@router.get("/bookings", response_model=BookingListOut, responses=_ERRORS)
def list_bookings(
    client: Agent,
    start: Time = None,
    end: Time = None,
    status: Annotated[str | None, Query(max_length=32, description="e.g. COMMITTED")] = None,
    cursor: Annotated[
        str | None, Query(max_length=200, description="next_cursor of the last page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> Response:
    """The caller's own bookings overlapping ``[start, end)`` (scope ``bookings:read``).

    Ended ones included, each naming who displaced it; ``status`` is as of now.
    """
    page = client.bookings.list(start=start, end=end, status=status, cursor=cursor, limit=limit)
    return json_response(
        {"bookings": [booking_json(b) for b in page.bookings], "next_cursor": page.next_cursor}
    )


@router.get("/bookings/{booking_id}", response_model=BookingOut, responses=_ERRORS)
async def get_booking(booking_id: ID, client: Agent) -> Response:
    """Any booking on the caller's owner's calendar, with who ended it and when."""
    return booking_response(client.bookings.get(booking_id))


@router.delete("/bookings/{booking_id}", response_model=BookingOut, responses=_ERRORS)
def cancel_booking(booking_id: ID, client: Agent) -> Response:
    """Cancel the caller's own booking."""
    return booking_response(client.bookings.cancel(booking_id))


@router.post("/holds/{hold_id}/release", response_model=BookingOut, responses=_ERRORS)
def release_hold(hold_id: ID, client: Agent) -> Response:
    """Give back the caller's own live hold."""
    return booking_response(client.bookings.release(hold_id))
