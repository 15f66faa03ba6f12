"""Owner endpoints for approvals: list what waits, approve or deny it (session cookie)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import Field

from ...errors import NotFound
from ..auth import Coord, Owner
from ..responses import error_responses
from ..schemas import WireIn

router = APIRouter(prefix="/v1/dashboard/approvals", tags=["dashboard"])
_ERRORS = error_responses(401, 403, 404, 409, 422)
#: Approval ids are ``apr_`` followed by the id characters every id uses.
ApprovalId = Annotated[
    str,
    Path(
        min_length=5,
        max_length=80,
        pattern=r"^apr_[A-Za-z0-9_\-]+$",
        description="An approval id (apr_…)",
    ),
]


class Decision(WireIn):
    note: str | None = Field(default=None, max_length=2000, description="Shown to the agent")


def _own_approval(coord: Coord, owner: Owner, approval_id: str) -> None:
    if coord.approvals.get(approval_id).get("user_id") != owner.user_id:
        raise NotFound(f"no approval {approval_id} for this owner", error="not_found")


@router.get("", responses=_ERRORS)
def list_approvals(owner: Owner, coord: Coord, status: str | None = None) -> list[dict[str, Any]]:
    """The owner's approval requests, optionally only those in one status."""
    return coord.approvals.list(owner.user_id, status)


@router.post("/{approval_id}/approve", responses=_ERRORS)
def approve(
    approval_id: ApprovalId, owner: Owner, coord: Coord, body: Decision | None = None
) -> dict[str, Any]:
    """A parked commit goes through the normal conflict path now. The body is optional."""
    _own_approval(coord, owner, approval_id)
    return coord.approvals.approve(approval_id, note=body.note if body else None)


@router.post("/{approval_id}/deny", responses=_ERRORS)
def deny(
    approval_id: ApprovalId, owner: Owner, coord: Coord, body: Decision | None = None
) -> dict[str, Any]:
    """The request ends denied; the agent sees the note. The body is optional."""
    _own_approval(coord, owner, approval_id)
    return coord.approvals.deny(approval_id, note=body.note if body else None)
