"""``GET /v1/rules`` for agents (scope ``rules:read``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..auth import Agent
from ..responses import error_responses

router = APIRouter(prefix="/v1", tags=["rules"])


@router.get("/rules", responses=error_responses(401, 403))
def rules(client: Agent) -> dict[str, Any]:
    return client.rules.get().model_dump(mode="json")
