"""What every dashboard page shares: templates, the signed-in owner, CSRF, form errors.

Two layers keep another site from acting with the owner's cookie: the ``/v1`` owner
check (``auth.check_same_origin``: ``Sec-Fetch-Site`` and ``Origin``) runs on every
dashboard write, and every write must also carry the page's CSRF token (form field
``csrf_token`` or header ``X-CSRF-Token``, which htmx sends from ``<body hx-headers>``).
The token is derived from the session id, which only this server and the owner's
browser hold (the cookie is HttpOnly), so it needs no storage and dies with the session.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

import pydantic
from fastapi import Cookie, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup

from ...errors import AgentDraftError, AuthError
from ...errors import ValidationError as FieldError
from ..auth import check_same_origin
from ..sessions import COOKIE, OwnerSession, Sessions
from .nav import SECTIONS

HERE = Path(__file__).parent
STATIC = HERE / "static"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
#: Sent with every page: no framing (clickjacking), scripts only from this server.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def csrf_token(sid: str) -> str:
    """The CSRF token for one session: a hash of its id (secret, never stored)."""
    return hashlib.sha256(b"agentdraft-dashboard-csrf:" + sid.encode()).hexdigest()


# -- times -----------------------------------------------------------------------------


def _as_datetime(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def local_time(value: Any, tz: str, fmt: str = "%a %d %b %Y, %H:%M") -> Markup:
    """``<time>`` in the owner's zone, with the UTC instant on hover (``title``)."""
    when = _as_datetime(value)
    if when is None:
        return Markup("<span class='muted'>never</span>")
    utc = when.astimezone(UTC)
    local = when.astimezone(ZoneInfo(tz))
    return Markup('<time datetime="{}" title="{} UTC">{} <span class="tz">{}</span></time>').format(
        utc.isoformat().replace("+00:00", "Z"),
        utc.strftime("%Y-%m-%d %H:%M:%S"),
        local.strftime(fmt),
        local.tzname() or tz,
    )


@pass_context
def _localtime_filter(ctx: Context, value: Any, fmt: str = "%a %d %b %Y, %H:%M") -> Markup:
    return local_time(value, ctx.get("tz") or "UTC", fmt)


templates.filters["localtime"] = _localtime_filter


# -- who is asking -----------------------------------------------------------------------


class SignInRequired(Exception):
    """A page was asked for without a live session: the handler sends the browser to sign in."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class PageRefused(Exception):
    """A dashboard request refused with an HTML page (CSRF, unknown section)."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail


def _return_to(request: Request) -> str:
    """Where to land after signing in: the page asked for, or for a write (which cannot
    be repeated by a redirect) the page of its section."""
    path = request.url.path
    if request.method == "GET":
        return path + (f"?{request.url.query}" if request.url.query else "")
    section = path.removeprefix("/dashboard/").split("/", 1)[0]
    return f"/dashboard/{section}" if section else "/dashboard/agents"


def _session(request: Request, sid: str | None) -> OwnerSession:
    store: Sessions = request.app.state.sessions
    try:
        return store.get(sid)
    except AuthError as exc:
        raise SignInRequired(_return_to(request)) from exc


class Viewer:
    """The signed-in owner as a page sees them: id, email, zone and CSRF token."""

    def __init__(self, session: OwnerSession, sid: str, timezone: str) -> None:
        self.session = session
        self.user_id = session.user_id
        self.email = session.email
        self.timezone = timezone
        self.csrf = csrf_token(sid)


def _viewer(request: Request, sid: str | None) -> Viewer:
    session = _session(request, sid)
    tz = request.app.state.coordinator.owners.get(session.user_id).timezone
    return Viewer(session, sid or "", tz)


def page_viewer(
    request: Request, agentdraft_session: Annotated[str | None, Cookie(alias=COOKIE)] = None
) -> Viewer:
    """For GET pages: the owner, or a redirect to the sign-in page."""
    return _viewer(request, agentdraft_session)


async def action_viewer(
    request: Request, agentdraft_session: Annotated[str | None, Cookie(alias=COOKIE)] = None
) -> Viewer:
    """For writes: the same-origin check of ``/v1``, then the CSRF token, then the owner."""
    try:
        check_same_origin(request)
    except AuthError as exc:
        raise PageRefused(403, "Request refused", exc.detail) from exc
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    session = _session(request, agentdraft_session)
    if not sent or not hmac.compare_digest(sent, csrf_token(agentdraft_session or "")):
        raise PageRefused(
            403, "Request refused", "the form's security token is missing or stale; reload the page"
        )
    tz = request.app.state.coordinator.owners.get(session.user_id).timezone
    return Viewer(session, agentdraft_session or "", tz)


PageViewer = Annotated[Viewer, Depends(page_viewer)]
ActionViewer = Annotated[Viewer, Depends(action_viewer)]


# -- rendering ---------------------------------------------------------------------------


def render(
    request: Request,
    template: str,
    viewer: Viewer | None = None,
    *,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A full page (htmx swaps its ``<body>``; without JavaScript it is a normal page)."""
    html = templates.get_template(template).render(
        request=request,
        viewer=viewer,
        tz=viewer.timezone if viewer else "UTC",
        csrf=viewer.csrf if viewer else "",
        sections=SECTIONS,
        dev=bool(request.app.state.dev),
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def see_other(path: str) -> RedirectResponse:
    """Post/redirect/get: after a write, the browser asks for the page again."""
    return RedirectResponse(path, status_code=303, headers={"Cache-Control": "no-store"})


# -- calling the JSON API's functions ----------------------------------------------------

T = TypeVar("T")
M = TypeVar("M", bound=pydantic.BaseModel)


class FormErrors(dict[str, str]):
    """Messages by field name (``_form`` for the whole form), from the API's typed errors."""

    def add(self, field: str, message: str) -> None:
        self.setdefault(field or "_form", message)


def body(model: type[M], data: dict[str, Any], errors: FormErrors) -> M | None:
    """Validate ``data`` with the route's own request model; errors go by field."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        for err in exc.errors():
            field = ".".join(str(p) for p in err.get("loc", ())) or "_form"
            errors.add(field, str(err.get("msg", "invalid")))
        return None


def api(errors: FormErrors, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """Call a ``/v1`` route function; a refusal becomes a message next to its field."""
    try:
        return fn(*args, **kwargs)
    except FieldError as exc:
        errors.add(exc.field, exc.detail.removeprefix(f"{exc.field}: "))
    except AgentDraftError as exc:
        errors.add(str(exc.context.get("field") or "_form"), exc.detail)
    return None


def api_ok(errors: FormErrors, fn: Callable[..., object], *args: Any) -> bool:
    """``api`` for a write whose answer the page does not need: did it go through?"""
    return api(errors, fn, *args) is not None


def submit(
    errors: FormErrors,
    fn: Callable[..., object],
    model: type[pydantic.BaseModel],
    data: dict[str, Any],
    viewer: Viewer,
    request: Request,
) -> bool:
    """Validate ``data`` with the route's body model and call the route ``fn(body, owner,
    coord)`` unless ``errors`` already holds something: did the write go through?"""
    if errors:
        return False
    parsed = body(model, data, errors)
    coord = request.app.state.coordinator
    return parsed is not None and api_ok(errors, fn, parsed, viewer.session, coord)


async def form_data(request: Request) -> dict[str, list[str]]:
    """Every submitted field with all its values (checkbox groups, ordered lists)."""
    form = await request.form()
    out: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str) and key != CSRF_FIELD:
            out.setdefault(key, []).append(value)
    return out


def first(data: dict[str, list[str]], key: str, default: str = "") -> str:
    values = data.get(key)
    return values[0].strip() if values else default


def shown_at(response: Response, path: str) -> Response:
    """A page rendered in answer to a POST says which GET shows it (``HX-Push-Url``), so
    the address bar, a reload and the back button never repeat or 405 the POST."""
    response.headers["HX-Push-Url"] = path
    return response
