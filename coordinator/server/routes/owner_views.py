"""Owner (session) read views: bookings, one booking's audit trail, the audit stream with
its verification, proposals, and the webhook event catalog."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from ...booking_pages import MAX_PAGE, BookingPage
from ...owner_views import MAX_AUDIT_PAGE, MAX_DELIVERIES, AuditPage, BookingDetail
from ...webhooks.catalog import EventType, event_catalog
from ...webhooks.deliveries import Delivery
from ..auth import Coord, Owner
from ..responses import error_responses

router = APIRouter(prefix="/v1/dashboard", tags=["dashboard"])
_ERRORS = error_responses(401, 403, 404, 422)
Time = Annotated[str | None, Query(max_length=64, description="ISO 8601 with an offset")]
Cursor = Annotated[str | None, Query(max_length=200, description="next_cursor of the last page")]


@router.get("/bookings", response_model=BookingPage, responses=_ERRORS)
def list_bookings(
    owner: Owner,
    coord: Coord,
    start: Time = None,
    end: Time = None,
    agent_id: Annotated[str | None, Query(max_length=80)] = None,
    status: Annotated[str | None, Query(max_length=32)] = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> BookingPage:
    """Bookings overlapping ``[start, end)`` in calendar order (start time, then id).

    Ended ones included; ``status`` is as of now (a lapsed hold is ``EXPIRED``).
    """
    return coord.views.bookings(
        owner.user_id,
        start=start,
        end=end,
        agent_id=agent_id,
        status=status,
        cursor=cursor,
        limit=limit,
    )


@router.get("/bookings/{booking_id}", response_model=BookingDetail, responses=_ERRORS)
def get_booking(
    booking_id: Annotated[
        str, Path(min_length=5, max_length=80, pattern=r"^[a-z]{3}_[A-Za-z0-9_\-]+$")
    ],
    owner: Owner,
    coord: Coord,
) -> BookingDetail:
    """One booking and every audit entry that mentions it, oldest first."""
    return coord.views.booking(owner.user_id, booking_id)


@router.get("/audit", response_model=AuditPage, responses=_ERRORS)
def audit(
    owner: Owner,
    coord: Coord,
    start: Time = None,
    end: Time = None,
    cursor: Annotated[str | None, Query(max_length=42)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_AUDIT_PAGE)] = 100,
    verify: bool = True,
) -> AuditPage:
    """Entries written in ``[start, end]`` (server time), oldest first, with the chain's
    verification (``verify=false`` skips it: it re-walks the whole history)."""
    return coord.views.audit(
        owner.user_id, start=start, end=end, cursor=cursor, limit=limit, verify=verify
    )


@router.get("/proposals", responses=_ERRORS)
def proposals(
    owner: Owner,
    coord: Coord,
    status: Annotated[str | None, Query(max_length=32)] = None,
) -> list[dict[str, Any]]:
    """The calendar's proposals, oldest first."""
    return [p.model_dump(mode="json") for p in coord.views.proposals(owner.user_id, status=status)]


@router.get("/webhooks/events", response_model=list[EventType], responses=_ERRORS)
def webhook_events(owner: Owner) -> list[EventType]:
    """Every event type an endpoint can subscribe to, with an example ``data``."""
    return event_catalog()


EndpointId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]


@router.get("/webhooks/{endpoint_id}/deliveries", response_model=list[Delivery], responses=_ERRORS)
def webhook_deliveries(
    endpoint_id: EndpointId,
    owner: Owner,
    coord: Coord,
    limit: Annotated[int, Query(ge=1, le=MAX_DELIVERIES)] = 100,
) -> list[Delivery]:
    """Attempts to deliver to one endpoint, newest first: status codes, the next retry,
    and which events were dead-lettered."""
    return coord.views.deliveries(owner.user_id, endpoint_id, limit=limit)


@router.post(
    "/webhooks/{endpoint_id}/deliveries/{event_id}/redeliver", status_code=202, responses=_ERRORS
)
def redeliver(
    endpoint_id: EndpointId,
    event_id: Annotated[str, Path(min_length=5, max_length=200, pattern=r"^evt_[A-Za-z0-9_\-]+$")],
    owner: Owner,
    coord: Coord,
) -> dict[str, str]:
    """Queue the event again for this endpoint only; the delivery log shows the attempt."""
    coord.views.redeliver(owner.user_id, endpoint_id, event_id)
    return {"endpoint_id": endpoint_id, "event_id": event_id, "status": "queued"}
