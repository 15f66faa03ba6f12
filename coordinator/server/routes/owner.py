"""Owner (session) endpoints: profile, rules, agent lifecycle, approvals."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from ...errors import NotFound
from ..auth import Coord, Owner
from ..schemas import DashboardAgentOut, ErrorBody
from .dashboard import _out

router = APIRouter(prefix="/v1", tags=["owner"])
_ERRORS = {
    401: {"model": ErrorBody},
    404: {"model": ErrorBody},
    409: {"model": ErrorBody},
    422: {"model": ErrorBody},
}
AgentId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]


class Profile(BaseModel):
    timezone: str = Field(min_length=1, max_length=64)


class RulesPatch(BaseModel):
    """Only the rules given change; ``null`` clears one."""

    model_config = ConfigDict(extra="forbid")
    working_hours: Any = None
    buffer_before_min: Any = None
    buffer_after_min: Any = None
    focus_blocks: Any = None
    min_lead_minutes: Any = None
    daily_cap: Any = None
    require_approval: Any = None


class Rerank(BaseModel):
    agent_ids: list[str] = Field(min_length=1, max_length=1000)


class Decision(BaseModel):
    note: str | None = Field(default=None, max_length=2000)


def _own_agent(coord: Coord, owner: Owner, agent_id: str) -> None:
    try:
        belongs = coord.agents.owner_of(agent_id) == owner.user_id
    except NotFound:
        belongs = False
    if not belongs:
        raise NotFound(f"no agent {agent_id} for this owner", error="agent_not_found")


@router.get("/me/profile", responses=_ERRORS)
def get_profile(owner: Owner, coord: Coord) -> dict[str, str]:
    return {
        "user_id": owner.user_id,
        "email": owner.email,
        "timezone": coord.owners.get(owner.user_id).timezone,
    }


@router.put("/me/profile", responses=_ERRORS)
def put_profile(body: Profile, owner: Owner, coord: Coord) -> dict[str, str]:
    """Set the IANA zone every wall-clock rule is read in."""
    coord.owners.set_timezone(owner.user_id, body.timezone)
    return get_profile(owner, coord)


@router.get("/dashboard/rules", responses=_ERRORS)
def get_rules(owner: Owner, coord: Coord) -> dict[str, Any]:
    return coord.rules.get(owner.user_id).model_dump(mode="json")


@router.patch("/dashboard/rules", responses=_ERRORS)
def patch_rules(body: RulesPatch, owner: Owner, coord: Coord) -> dict[str, Any]:
    """Bumps ``rules_version``: outstanding availability etags become stale."""
    patch = {k: getattr(body, k) for k in body.model_fields_set}
    return coord.rules.update(owner.user_id, **patch).model_dump(mode="json")


@router.post(
    "/dashboard/agents/{agent_id}/rotate", response_model=DashboardAgentOut, responses=_ERRORS
)
def rotate(agent_id: AgentId, owner: Owner, coord: Coord) -> DashboardAgentOut:
    """A new key; the old one stops at once (no grace window)."""
    _own_agent(coord, owner, agent_id)
    made = coord.agents.rotate(agent_id)
    return _out(made, made.api_key)


@router.post(
    "/dashboard/agents/{agent_id}/revoke", response_model=DashboardAgentOut, responses=_ERRORS
)
def revoke(agent_id: AgentId, owner: Owner, coord: Coord) -> DashboardAgentOut:
    _own_agent(coord, owner, agent_id)
    return _out(coord.agents.revoke(agent_id))


@router.post(
    "/dashboard/agents/{agent_id}/unrevoke", response_model=DashboardAgentOut, responses=_ERRORS
)
def unrevoke(agent_id: AgentId, owner: Owner, coord: Coord) -> DashboardAgentOut:
    """Restores the agent with a newly minted key, shown once."""
    _own_agent(coord, owner, agent_id)
    made = coord.agents.unrevoke(agent_id)
    return _out(made, made.api_key)


@router.post("/dashboard/agents/rerank", response_model=list[DashboardAgentOut], responses=_ERRORS)
def rerank(body: Rerank, owner: Owner, coord: Coord) -> list[DashboardAgentOut]:
    """Top to bottom; takes effect on the next call."""
    return [_out(a) for a in coord.agents.rerank(owner.user_id, body.agent_ids)]


@router.get("/dashboard/approvals", responses=_ERRORS)
def list_approvals(owner: Owner, coord: Coord, status: str | None = None) -> list[dict]:
    return coord.approvals.list(owner.user_id, status)


def _own_approval(coord: Coord, owner: Owner, approval_id: str) -> None:
    if coord.approvals.get(approval_id).get("user_id") != owner.user_id:
        raise NotFound(f"no approval {approval_id} for this owner", error="not_found")


@router.post("/dashboard/approvals/{approval_id}/approve", responses=_ERRORS)
def approve(approval_id: AgentId, body: Decision, owner: Owner, coord: Coord) -> dict:
    """A parked commit goes through the normal conflict path now."""
    _own_approval(coord, owner, approval_id)
    return coord.approvals.approve(approval_id, note=body.note)


@router.post("/dashboard/approvals/{approval_id}/deny", responses=_ERRORS)
def deny(approval_id: AgentId, body: Decision, owner: Owner, coord: Coord) -> dict:
    _own_approval(coord, owner, approval_id)
    return coord.approvals.deny(approval_id, note=body.note)
