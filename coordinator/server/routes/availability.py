"""``GET /v1/availability``: open slots filtered through the owner's rules, with an etag."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, Query
from pydantic import BaseModel
from starlette.responses import Response

from ...availability import AvailabilityList
from ...client import LocalClient
from ..auth import Agent
from ..responses import error_responses

router = APIRouter(prefix="/v1", tags=["availability"])


class SlotOut(BaseModel):
    start: datetime
    end: datetime


class CalendarFreshness(BaseModel):
    connector_id: str
    last_pull_at: datetime | None
    stale: bool


class AvailabilityOut(BaseModel):
    user_id: str
    slots: list[SlotOut]
    etag: str
    rules_version: int
    #: Connected real calendars and how fresh their view is; ``stale`` if any is not.
    calendars: list[CalendarFreshness] = []
    stale: bool = False


@router.get(
    "/availability",
    response_model=AvailabilityOut,
    responses=error_responses(401, 403, 422, 429),
)
async def availability(
    client: Agent,
    range_start: Annotated[str, Query(max_length=64)],
    range_end: Annotated[str, Query(max_length=64)],
    user_id: Annotated[str | None, Query(max_length=64)] = None,
    duration_minutes: Annotated[int, Query(ge=5, le=24 * 60)] = 30,
    granularity_minutes: Annotated[int, Query(ge=5, le=24 * 60)] = 15,
    include_holds: bool = True,
) -> Response:
    """Pass the ``etag`` back as ``availability_etag`` on a write to refuse stale rules.

    A read that never waits: it runs on the event loop, and its body is built once.
    """
    found = client.availability.list(
        start=range_start,
        end=range_end,
        duration_minutes=duration_minutes,
        granularity_minutes=granularity_minutes,
        include_holds=include_holds,
        user_id=user_id,
    )
    return availability_response(client, found)


def availability_response(client: LocalClient, found: AvailabilityList) -> Response:
    """The answer (shared with the front door, server/front.py, through its parts)."""
    return Response(
        availability_body(client, found),
        media_type="application/json",
        headers={"ETag": etag_header(found)},
    )


def availability_body(client: LocalClient, found: AvailabilityList) -> bytes:
    """The answer's bytes, built once."""
    return orjson.dumps(
        {
            "user_id": client.user_id,
            # Built once per distinct answer (coordinator/answer_memo.py): a slot's own
            # dict, {start, end} in that order, is the wire shape.
            "slots": orjson.Fragment(found.slots_json()),
            "etag": found.etag,
            "rules_version": found.rules_version,
            "calendars": [f.model_dump() for f in found.calendars],
            "stale": found.stale,
        }
    )


def etag_header(found: AvailabilityList) -> str:
    return f'"{found.etag}"'
