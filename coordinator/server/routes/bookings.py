"""Agent-side booking endpoints: commit/hold, release, cancel, read.

Writes run in the thread pool: a winning write of an agent that is not its
owner's top-ranked one waits out the arbitration window, and that wait must not
hold the event loop. The read never waits, so it runs on the loop (one Redis
round trip, no thread hop).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request
from pydantic import BaseModel
from starlette.responses import Response

from ...booking_pages import MAX_PAGE
from ..auth import Agent
from ..observe import count_write
from ..responses import booking_json, booking_response, error_responses, json_response
from ..schemas import (
    BookingOut,
    BookingRequest,
    CounterAcceptIn,
    CounterIn,
    CounterList,
    CounterOut,
)

router = APIRouter(prefix="/v1", tags=["bookings"])

ID = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
_ERRORS = error_responses(401, 403, 404, 409, 410, 422, 429, 503)


def write_arguments(
    body: BookingRequest, idempotency_key: str | None
) -> tuple[Literal["commit", "hold"], dict[str, Any]]:
    """The client call a request body asks for: its mode and keyword arguments.

    Shared with the event-loop route (server/hot.py), so both send the same call.
    """
    kwargs: dict[str, Any] = {
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
        kwargs["hold_ttl_seconds"] = body.hold_ttl_seconds
    else:
        kwargs["bump_window_seconds"] = body.bump_window_seconds
        kwargs["with_conferencing"] = body.with_conferencing
    return body.mode, kwargs


def times_only(data: Any) -> tuple[str, str] | None:
    """The ``start`` and ``end`` of a body holding only those two, as text; else None.

    That is what most agents send, and for it the request model's pass can only accept
    it and fill in its defaults, so the event-loop route (server/hot.py) commits it
    with ``client.bookings.commit_times_async`` instead: the pass and the copy out of
    the model were ~5% of the worker's instructions per commit.
    """
    if type(data) is not dict or len(data) != 2:
        return None
    start, end = data.get("start"), data.get("end")
    if type(start) is not str or type(end) is not str:
        return None
    return start, end


@router.post("/bookings", status_code=201, response_model=BookingOut, responses=_ERRORS)
def create_booking(
    request: Request,
    body: BookingRequest,
    client: Agent,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> Response:
    """Commit or hold a slot. 201 when won; 409 with the winner when lost."""
    mode, kwargs = write_arguments(body, idempotency_key)
    if mode == "hold":
        booking = client.bookings.hold(**kwargs)
    else:
        booking = client.bookings.commit(**kwargs)
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


# -- counter-offers: a 409 is not a dead end (coordinator/counters.py) -----------------


@router.post(
    "/bookings/{booking_id}/counter",
    status_code=201,
    response_model=CounterOut,
    responses=_ERRORS,
)
def counter_booking(booking_id: ID, body: CounterIn, client: Agent) -> CounterOut:
    """Offer the booking's agent 1-5 alternative slots and a note (``counter.created``)."""
    proposed = [{"start": p.start, "end": p.end} for p in body.proposed]
    return CounterOut.of(client.bookings.counter(booking_id, proposed=proposed, note=body.note))


@router.get("/bookings/{booking_id}/counters", response_model=CounterList, responses=_ERRORS)
def list_counters(booking_id: ID, client: Agent) -> CounterList:
    """The counters on the caller's own booking, oldest first (its agent only)."""
    counters = client.bookings.counters(booking_id)
    return CounterList(booking_id=booking_id, counters=[CounterOut.of(c) for c in counters])


@router.get(
    "/bookings/{booking_id}/counters/{counter_id}", response_model=CounterOut, responses=_ERRORS
)
def get_counter(booking_id: ID, counter_id: ID, client: Agent) -> CounterOut:
    """One counter, for its author (to read the answer) or the booking's agent."""
    return CounterOut.of(client.bookings.get_counter(booking_id, counter_id))


@router.post(
    "/bookings/{booking_id}/counters/{counter_id}/accept",
    response_model=CounterOut,
    responses=_ERRORS,
)
def accept_counter(
    booking_id: ID, counter_id: ID, body: CounterAcceptIn, client: Agent
) -> CounterOut:
    """Move the caller's booking to the chosen slot, atomically; 409 naming who holds it
    when it was taken (the booking then stays where it was)."""
    done = client.bookings.accept_counter(booking_id, counter_id, slot_index=body.slot_index)
    return CounterOut.of(done)


@router.post(
    "/bookings/{booking_id}/counters/{counter_id}/reject",
    response_model=CounterOut,
    responses=_ERRORS,
)
def reject_counter(booking_id: ID, counter_id: ID, client: Agent) -> CounterOut:
    """Decline a counter on the caller's booking; the booking stays."""
    return CounterOut.of(client.bookings.reject_counter(booking_id, counter_id))
