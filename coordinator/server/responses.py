"""Response helpers shared by the routers: one error table, bodies serialized once.

A route that returns a :class:`~starlette.responses.Response` skips FastAPI's
response-model pass (validate the returned object, then serialize it again), so
the hot routes build their JSON bytes once with orjson from the engine's own
models; their ``response_model`` still documents the shape in OpenAPI.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

from ..models import Booking
from .schemas import BookingOut, ErrorBody

#: The booking fields the wire shape (``schemas.BookingOut``) carries, and those it adds.
_BOOKING_FIELDS = set(BookingOut.model_fields) & set(Booking.model_fields)
_BOOKING_EXTRA = {
    name: None for name in BookingOut.model_fields if name not in Booking.model_fields
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` entry for routes that may answer these error statuses."""
    return {status: {"model": ErrorBody} for status in statuses}


def json_response(
    content: Any, status_code: int = 200, *, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(content),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )


def booking_json(b: Booking) -> dict[str, Any]:
    """The wire shape of a booking (``BookingOut``), in one pydantic pass."""
    data = b.model_dump(mode="json", include=_BOOKING_FIELDS)
    data.update(_BOOKING_EXTRA)
    return data


def booking_response(b: Booking, status_code: int = 200) -> Response:
    return json_response(booking_json(b), status_code)
