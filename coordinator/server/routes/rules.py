"""``GET /v1/rules`` for agents (scope ``rules:read``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..auth import Agent
from ..schemas import ErrorBody

router = APIRouter(prefix="/v1", tags=["rules"])


@router.get("/rules", responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}})
def rules(client: Agent) -> dict[str, Any]:
    return client.rules.get().model_dump(mode="json")
