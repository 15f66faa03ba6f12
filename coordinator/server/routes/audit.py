"""``GET /v1/audit``: a booking's history, or a calendar's entries in a time range."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ..auth import Agent
from ..responses import error_responses
from ..schemas import AuditEvent, AuditPage

router = APIRouter(prefix="/v1", tags=["audit"])


@router.get(
    "/audit",
    response_model=AuditPage,
    responses=error_responses(401, 422),
)
def audit(
    client: Agent,
    resource: Annotated[str | None, Query(max_length=64)] = None,
    start: Annotated[str | None, Query(max_length=64)] = None,
    end: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> AuditPage:
    entries = client.audit.list(resource, start=start, end=end, limit=limit)
    events = [AuditEvent(id=e.id, type=e.type, ts=e.ts, fields=e.fields) for e in entries]
    return AuditPage(events=events[:limit], count=len(events[:limit]))
