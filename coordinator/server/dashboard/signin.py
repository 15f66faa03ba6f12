"""Sign-in and sign-out pages, calling the ``/v1/auth`` route functions themselves.

Dev mode (``coordinator serve --dev``): an email address gets a magic link shown on the
page (there is no mail server). Otherwise: the login token an operator mints with
``coordinator owners token --email …``. Following a magic link shows a button that
posts the token, so a link alone never signs a browser in (no login CSRF by GET).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Cookie, Query, Request
from fastapi.responses import Response

from ...errors import AuthError
from ..auth import check_same_origin
from ..routes import auth as auth_routes
from ..schemas import MagicLinkIn, VerifyIn
from ..sessions import COOKIE, Sessions
from .pages import ActionViewer, FormErrors, PageRefused, api, body, first, form_data, render
from .pages import see_other as redirect

router = APIRouter()
Next = Annotated[str, Query(max_length=200)]


def _safe_next(path: str) -> str:
    """Only a path of this dashboard: never an open redirect to another site."""
    if path.startswith("/dashboard") and not path.startswith("//") and "\\" not in path:
        return path
    return "/dashboard/agents"


def _same_origin(request: Request) -> None:
    try:
        check_same_origin(request)
    except AuthError as exc:
        raise PageRefused(403, "Request refused", exc.detail) from exc


@router.get("/sign-in")
def sign_in_page(request: Request, next: Next = "/dashboard/agents") -> Response:
    return render(request, "sign_in.html", next=_safe_next(next), errors=FormErrors())


@router.post("/sign-in/magic-link")
async def ask_magic_link(request: Request) -> Response:
    """Dev mode: the magic link is shown on the page instead of mailed."""
    _same_origin(request)
    data = await form_data(request)
    errors = FormErrors()
    store: Sessions = request.app.state.sessions
    email = first(data, "email")
    next_path = _safe_next(first(data, "next", "/dashboard/agents"))
    sent = None
    link_in = body(MagicLinkIn, {"email": email}, errors)
    if link_in is not None:
        sent = api(errors, auth_routes.magic_link, link_in, request, store)
    if sent is None or not sent.dev_token:
        return render(
            request, "sign_in.html", status=422, next=next_path, errors=errors, email=email
        )
    link = f"/dashboard/sign-in/verify?token={quote(sent.dev_token)}&next={quote(next_path)}"
    return render(request, "sign_in.html", next=next_path, errors=errors, email=email, link=link)


@router.get("/sign-in/verify")
def magic_link_landing(
    request: Request,
    token: Annotated[str, Query(max_length=200)],
    next: Next = "/dashboard/agents",
) -> Response:
    """The page a magic link opens: one button that signs in (the token is not used yet)."""
    return render(request, "sign_in_confirm.html", token=token, next=_safe_next(next))


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    """Exchange a magic-link or login token for the session cookie (``POST /v1/auth/verify``)."""
    _same_origin(request)
    data = await form_data(request)
    errors = FormErrors()
    next_path = _safe_next(first(data, "next", "/dashboard/agents"))
    response = redirect(next_path)
    store: Sessions = request.app.state.sessions
    verify_in = body(VerifyIn, {"token": first(data, "token")}, errors)
    if verify_in is not None:
        signed = api(errors, auth_routes.verify, verify_in, response, request, store)
        if signed is not None:
            return response
    return render(request, "sign_in.html", status=422, next=next_path, errors=errors)


@router.post("/sign-out")
def sign_out(
    request: Request,
    viewer: ActionViewer,
    agentdraft_session: Annotated[str | None, Cookie(alias=COOKIE)] = None,
) -> Response:
    response = redirect("/dashboard/sign-in")
    auth_routes.logout(request.app.state.sessions, response, agentdraft_session)
    return response
