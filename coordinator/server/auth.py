"""FastAPI dependencies: who is calling (an agent by key, an owner by session)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Cookie, Depends, Header, Request

from ..client import LocalClient
from ..coordinator import Coordinator
from ..errors import AuthError
from .sessions import COOKIE, OwnerSession, Sessions


def coordinator(request: Request) -> Coordinator:
    return request.app.state.coordinator


def sessions(request: Request) -> Sessions:
    return request.app.state.sessions


def agent_client(
    coord: Annotated[Coordinator, Depends(coordinator)],
    authorization: Annotated[str | None, Header()] = None,
) -> LocalClient:
    """The caller's client, authenticated on every request so revocation bites at once."""
    if not authorization:
        raise AuthError("missing Authorization: Bearer avs_live_… header")
    scheme, _, key = authorization.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise AuthError("Authorization must be 'Bearer avs_live_…'")
    return coord.client(key.strip())


def owner_session(
    store: Annotated[Sessions, Depends(sessions)],
    agentdraft_session: Annotated[str | None, Cookie(alias=COOKIE)] = None,
) -> OwnerSession:
    return store.get(agentdraft_session)


Agent = Annotated[LocalClient, Depends(agent_client)]
Owner = Annotated[OwnerSession, Depends(owner_session)]
Coord = Annotated[Coordinator, Depends(coordinator)]
SessionStore = Annotated[Sessions, Depends(sessions)]
