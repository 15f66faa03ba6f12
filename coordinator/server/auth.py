"""FastAPI dependencies: who is calling (an agent by key, an owner by session), and CSRF.

A cookie is sent by the browser whoever made the page, so every state-changing
request authenticated by the owner's session cookie must come from this
server's own pages: a ``Sec-Fetch-Site`` other than ``same-origin``/``none``,
or an ``Origin`` other than this server (or ``AGENTDRAFT_PUBLIC_URL``), is
refused with 403 ``csrf_refused``. Clients that are not browsers send neither
header and are unaffected, as are agent endpoints (Bearer keys are never sent
by a browser on its own).
"""

from __future__ import annotations

import os
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Cookie, Depends, Header, Request

from ..agents import hash_key
from ..client import LocalClient
from ..coordinator import Coordinator
from ..errors import AuthError
from .sessions import COOKIE, OwnerSession, Sessions

# Dependencies that do no I/O are ``async``: FastAPI runs a plain ``def`` dependency in
# the thread pool, a hop that costs more than the dependency itself.


async def coordinator(request: Request) -> Coordinator:
    return request.app.state.coordinator


async def sessions(request: Request) -> Sessions:
    return request.app.state.sessions


#: Cached clients per process; past this many distinct keys the cache starts over.
MAX_CACHED_CLIENTS = 100_000


async def agent_client(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
) -> LocalClient:
    """The caller's client (see :func:`client_for`)."""
    client = client_for(request.app.state, authorization)
    request.state.agent_id = client.agent_id  # for the request log line
    return client


def client_for(state: Any, authorization: str | None) -> LocalClient:
    """The caller's client, from a process-local map of key hash to client.

    The map needs no invalidation: every call a client makes runs a script that
    checks the key hash, the agent's status and the scope again, so a rotated or
    revoked key is refused at once even though its client is still cached. Only
    a key seen for the first time costs the look-up (two reads, on the loop).
    """
    if not authorization:
        raise AuthError("missing Authorization: Bearer avs_live_… header")
    scheme, _, key = authorization.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise AuthError("Authorization must be 'Bearer avs_live_…'")
    cache: dict[str, LocalClient] = state.agent_clients
    kh = hash_key(key)
    client = cache.get(kh)
    if client is None:
        client = state.coordinator.client(key)
        if len(cache) >= MAX_CACHED_CLIENTS:
            cache.clear()
        cache[kh] = client
    return client


def client_for_header(
    state: Any, authorization: bytes | None, cache: dict[bytes, LocalClient]
) -> LocalClient:
    """:func:`client_for` of a raw ``Authorization`` header (the front door's hot calls).

    Kept in ``cache`` (``hot.HotPath.clients_by_header``) by the header's bytes, so a
    known caller costs one dict look-up and no hashing; a new one goes through
    :func:`client_for` (the same errors, the same map).
    """
    if authorization is None:
        return client_for(state, None)  # raises the 401
    client = cache.get(authorization)
    if client is None:
        client = client_for(state, authorization.decode("latin-1"))
        if len(cache) >= MAX_CACHED_CLIENTS:
            cache.clear()
        cache[authorization] = client
    return client


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def public_origin() -> str | None:
    """``AGENTDRAFT_PUBLIC_URL``'s origin (scheme://host[:port]), lower case, or None."""
    url = os.environ.get("AGENTDRAFT_PUBLIC_URL")
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


async def same_origin(request: Request) -> None:
    """The CSRF check as a route dependency (sign-in and sign-out)."""
    check_same_origin(request)


def check_same_origin(request: Request) -> None:
    """Refuse a state-changing browser request made by another site's page (CSRF)."""
    if request.method in _SAFE_METHODS:
        return
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        raise _csrf_refused(f"cross-site request refused (Sec-Fetch-Site: {site})")
    origin = request.headers.get("origin")
    if origin is None:
        return
    parts = urlsplit(origin.lower())
    if parts.netloc and parts.netloc == request.headers.get("host", "").lower():
        return
    if f"{parts.scheme}://{parts.netloc}" == public_origin():
        return
    raise _csrf_refused(f"cross-origin request refused (Origin: {origin[:100]})")


def _csrf_refused(detail: str) -> AuthError:
    """The 403 a cross-site state-changing request gets: the caller is known, the page is not."""
    return AuthError(detail, error="csrf_refused", status=403)


def owner_session(
    request: Request,
    store: Annotated[Sessions, Depends(sessions)],
    agentdraft_session: Annotated[str | None, Cookie(alias=COOKIE)] = None,
) -> OwnerSession:
    check_same_origin(request)
    return store.get(agentdraft_session)


Agent = Annotated[LocalClient, Depends(agent_client)]
Owner = Annotated[OwnerSession, Depends(owner_session)]
Coord = Annotated[Coordinator, Depends(coordinator)]
SessionStore = Annotated[Sessions, Depends(sessions)]
SameOrigin = Depends(same_origin)
