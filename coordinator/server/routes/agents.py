"""``GET /v1/agents/me``: the caller's identity, priority, scopes and owner timezone."""

from __future__ import annotations

from fastapi import APIRouter

from ..auth import Agent
from ..responses import error_responses
from ..schemas import AgentMe

router = APIRouter(prefix="/v1", tags=["agents"])


@router.get("/agents/me", response_model=AgentMe, responses=error_responses(401))
def me(client: Agent) -> AgentMe:
    return AgentMe(**client.agents.me().model_dump())
