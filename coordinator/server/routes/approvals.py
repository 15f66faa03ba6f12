"""Generic approvals for agents: ask a person to approve any action."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path
from pydantic import Field

from ..auth import Agent
from ..responses import error_responses
from ..schemas import WireIn

router = APIRouter(prefix="/v1", tags=["approvals"])
_ERRORS = error_responses(401, 403, 404, 422, 429)


class ApprovalIn(WireIn):
    action_type: str = Field(min_length=1, max_length=200)
    summary: str = Field(min_length=1, max_length=2000)
    evidence: dict[str, Any] | None = None
    ttl_seconds: float | None = Field(default=None, gt=0, le=30 * 24 * 3600)


@router.post("/approvals", status_code=201, responses=_ERRORS)
def request_approval(
    body: ApprovalIn,
    client: Agent,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> dict[str, Any]:
    """Open a request; returns ``{approval_id, status, expires_at}`` at once."""
    return client.approvals.request(
        body.action_type,
        body.summary,
        evidence=body.evidence,
        ttl_seconds=body.ttl_seconds,
        idempotency_key=idempotency_key,
    )


@router.get("/approvals/{approval_id}", responses=_ERRORS)
def get_approval(
    approval_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")],
    client: Agent,
) -> dict[str, Any]:
    """Current state; terminal states are ``approved``, ``denied`` and ``expired``."""
    return client.approvals.get(approval_id)
