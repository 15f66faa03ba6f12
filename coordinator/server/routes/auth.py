"""Owner sign-in: dev-mode magic links, token verification, sign-out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Cookie, Request, Response

from ...errors import AuthError
from ..auth import SameOrigin, SessionStore
from ..responses import error_responses
from ..schemas import MagicLinkIn, MagicLinkOut, SessionOut, VerifyIn
from ..sessions import COOKIE, SESSION_TTL_SECONDS

# Sign-in and sign-out set and clear the cookie: same-origin only (login CSRF).
router = APIRouter(prefix="/v1/auth", tags=["owner auth"], dependencies=[SameOrigin])


@router.post(
    "/magic-link",
    response_model=MagicLinkOut,
    responses=error_responses(403, 422, 429),
)
def magic_link(body: MagicLinkIn, request: Request, store: SessionStore) -> MagicLinkOut:
    """Dev mode only: returns the sign-in token in the body (there is no mail server)."""
    if not request.app.state.dev:
        raise AuthError(
            "magic links are issued only in dev mode; mint a login token on the server with "
            "`coordinator owners token --email …` and POST it to /v1/auth/verify",
            error="dev_mode_only",
            status=403,
        )
    client = request.client.host if request.client else ""
    return MagicLinkOut(sent=True, dev_token=store.magic_link(body.email, client))


@router.post("/verify", response_model=SessionOut, responses=error_responses(401))
def verify(body: VerifyIn, response: Response, request: Request, store: SessionStore) -> SessionOut:
    """Exchange a magic-link or login token for a session cookie."""
    sid, session = store.verify(body.token)
    response.set_cookie(
        COOKIE,
        sid,
        max_age=SESSION_TTL_SECONDS,
        httponly=True,
        samesite="lax",
        # Behind a TLS proxy the scheme comes from X-Forwarded-Proto (uvicorn's proxy headers).
        secure=request.url.scheme == "https",
    )
    return SessionOut(user_id=session.user_id, email=session.email)


@router.post("/logout", status_code=204)
def logout(
    store: SessionStore,
    response: Response,
    agentdraft_session: Annotated[str | None, Cookie(alias=COOKIE)] = None,
) -> None:
    if agentdraft_session:
        store.end(agentdraft_session)
    response.delete_cookie(COOKIE)
