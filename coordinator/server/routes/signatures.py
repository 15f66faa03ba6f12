"""``GET /v1/agents/{agent_id}/http-message-signatures-directory``: an agent's public keys.

Web Bot Auth: a site receiving a request the agent signed with ``agentdraft.sign_request``
fetches this (no authentication) to verify it; ``coordinator.signatures.verify`` does it.
"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Path
from starlette.responses import Response

from ...signatures import DIRECTORY_MEDIA_TYPE
from ..auth import Coord
from ..responses import error_responses

router = APIRouter(prefix="/v1", tags=["agents"])
AgentId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]


@router.get(
    "/agents/{agent_id}/http-message-signatures-directory",
    responses={
        200: {"content": {DIRECTORY_MEDIA_TYPE: {}}, "description": "a JWKS"},
        **error_responses(404, 422),
    },
)
def directory(agent_id: AgentId, coord: Coord) -> Response:
    """The agent's Ed25519 keys; empty once it is revoked, a rotated key during its grace."""
    user_id = coord.agents.owner_of(agent_id)
    keys = coord.signatures.directory(user_id, agent_id)
    return Response(
        orjson.dumps(keys),
        media_type=DIRECTORY_MEDIA_TYPE,
        headers={"Cache-Control": "public, max-age=60"},
    )
