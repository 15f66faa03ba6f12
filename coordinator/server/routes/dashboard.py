"""Owner dashboard endpoints (session cookie, not agent keys)."""

from __future__ import annotations

from fastapi import APIRouter

from ...models import Agent as AgentModel
from ..auth import Coord, Owner
from ..schemas import DashboardAgentIn, DashboardAgentOut, ErrorBody

router = APIRouter(prefix="/v1/dashboard", tags=["dashboard"])
_ERRORS = {401: {"model": ErrorBody}, 404: {"model": ErrorBody}, 422: {"model": ErrorBody}}


def _out(a: AgentModel, key: str | None = None) -> DashboardAgentOut:
    return DashboardAgentOut(
        agent_id=a.agent_id,
        user_id=a.user_id,
        name=a.name,
        priority=a.priority,
        scopes=list(a.scopes),
        status=a.status,
        created_at=a.created_at,
        plaintext_key=key,
    )


@router.post("/agents", status_code=201, response_model=DashboardAgentOut, responses=_ERRORS)
def create_agent(body: DashboardAgentIn, owner: Owner, coord: Coord) -> DashboardAgentOut:
    """Issue an agent and its key; ``plaintext_key`` is shown this once only."""
    created = coord.agents.create(
        owner.user_id, name=body.name, priority=body.priority, scopes=body.scopes
    )
    return _out(created, created.api_key)


@router.get("/agents", response_model=list[DashboardAgentOut], responses=_ERRORS)
def list_agents(owner: Owner, coord: Coord) -> list[DashboardAgentOut]:
    """The owner's agents, best priority first."""
    return [_out(a) for a in coord.agents.list(owner.user_id)]
