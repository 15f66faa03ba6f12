"""Owner endpoints for the owner's agents: issue, list, rotate, revoke, unrevoke, rerank.

Session cookie, not agent keys: these are the owner's own controls.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import Field

from ...errors import NotFound
from ...models import Agent as AgentModel
from ...models import AgentCreated
from ..auth import Coord, Owner
from ..responses import error_responses
from ..schemas import DashboardAgentIn, DashboardAgentOut, WireIn

router = APIRouter(prefix="/v1/dashboard/agents", tags=["dashboard"])
_ERRORS = error_responses(401, 403, 404, 409, 422)
AgentId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]


class Rerank(WireIn):
    agent_ids: list[str] = Field(min_length=1, max_length=1000)


def agent_out(a: AgentModel, key: str | None = None) -> DashboardAgentOut:
    return DashboardAgentOut(
        agent_id=a.agent_id,
        user_id=a.user_id,
        name=a.name,
        priority=a.priority,
        scopes=list(a.scopes),
        status=a.status,
        created_at=a.created_at,
        plaintext_key=key,
        private_jwk=a.private_jwk if isinstance(a, AgentCreated) else None,
    )


def _own_agent(coord: Coord, owner: Owner, agent_id: str) -> None:
    try:
        belongs = coord.agents.owner_of(agent_id) == owner.user_id
    except NotFound:
        belongs = False
    if not belongs:
        raise NotFound(f"no agent {agent_id} for this owner", error="agent_not_found")


@router.post("", status_code=201, response_model=DashboardAgentOut, responses=_ERRORS)
def create_agent(body: DashboardAgentIn, owner: Owner, coord: Coord) -> DashboardAgentOut:
    """Issue an agent and its key; ``plaintext_key`` is shown this once only."""
    created = coord.agents.create(
        owner.user_id, name=body.name, priority=body.priority, scopes=body.scopes
    )
    return agent_out(created, created.api_key)


@router.get("", response_model=list[DashboardAgentOut], responses=_ERRORS)
def list_agents(owner: Owner, coord: Coord) -> list[DashboardAgentOut]:
    """The owner's agents, best priority first."""
    return [agent_out(a) for a in coord.agents.list(owner.user_id)]


@router.post("/{agent_id}/rotate", response_model=DashboardAgentOut, responses=_ERRORS)
def rotate(agent_id: AgentId, owner: Owner, coord: Coord) -> DashboardAgentOut:
    """A new key; the old one stops at once (no grace window)."""
    _own_agent(coord, owner, agent_id)
    made = coord.agents.rotate(agent_id)
    return agent_out(made, made.api_key)


@router.post("/{agent_id}/revoke", response_model=DashboardAgentOut, responses=_ERRORS)
def revoke(agent_id: AgentId, owner: Owner, coord: Coord) -> DashboardAgentOut:
    """The key stops at once; the agent's bookings stay."""
    _own_agent(coord, owner, agent_id)
    return agent_out(coord.agents.revoke(agent_id))


@router.post("/{agent_id}/unrevoke", response_model=DashboardAgentOut, responses=_ERRORS)
def unrevoke(agent_id: AgentId, owner: Owner, coord: Coord) -> DashboardAgentOut:
    """Restores the agent with a newly minted key, shown once."""
    _own_agent(coord, owner, agent_id)
    made = coord.agents.unrevoke(agent_id)
    return agent_out(made, made.api_key)


@router.post("/rerank", response_model=list[DashboardAgentOut], responses=_ERRORS)
def rerank(body: Rerank, owner: Owner, coord: Coord) -> list[DashboardAgentOut]:
    """Top to bottom; takes effect on the next call."""
    return [agent_out(a) for a in coord.agents.rerank(owner.user_id, body.agent_ids)]
