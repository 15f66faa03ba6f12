"""``/dashboard``: every page module's routes under one prefix, then the placeholders.

Page modules are included in ``PAGE_MODULES`` order; the placeholder for sections not
built yet is registered last, so a real page always wins its path.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from . import (
    agents_page,
    approvals_page,
    bookings_page,
    connectors_page,
    mailbox_page,
    proposals_page,
    rules_page,
    signin,
    timeline_page,
    webhooks_page,
)
from .nav import BY_SLUG
from .pages import PageRefused, PageViewer, SignInRequired, render, see_other

PAGE_MODULES = (
    signin,
    agents_page,
    rules_page,
    approvals_page,
    bookings_page,
    timeline_page,
    webhooks_page,
    connectors_page,
    proposals_page,
    mailbox_page,
)

router = APIRouter(prefix="/dashboard", include_in_schema=False)
for _module in PAGE_MODULES:
    router.include_router(_module.router)


@router.get("")
@router.get("/")
def home() -> Response:
    return see_other("/dashboard/agents")


@router.get("/{section}")
def placeholder(section: str, request: Request, viewer: PageViewer) -> Response:
    """A section in the navigation whose page is not here yet."""
    if section not in BY_SLUG:
        raise PageRefused(404, "Not found", f"there is no dashboard page {section!r}")
    return render(request, "placeholder.html", viewer, section=BY_SLUG[section])


def install_handlers(app: FastAPI) -> None:
    """Dashboard refusals are pages (or a redirect to sign in), not JSON bodies."""

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        if request.headers.get("hx-request") and not request.headers.get("hx-boosted"):
            # A part of a page refreshing itself (the inbox's poll): swapping the sign-in
            # page into it would nest a page in a page, so the whole tab goes there.
            here = urlsplit(request.headers.get("hx-current-url") or "")
            nxt = exc.next_path
            if here.path.startswith("/dashboard/"):
                nxt = here.path + (f"?{here.query}" if here.query else "")
            return Response(
                headers={"HX-Redirect": f"/dashboard/sign-in?next={quote(nxt, safe='/')}"}
            )
        return see_other(f"/dashboard/sign-in?next={quote(exc.next_path, safe='/')}")

    @app.exception_handler(PageRefused)
    async def _refused(request: Request, exc: PageRefused) -> Response:
        request.state.outcome = "refused"
        return render(
            request, "refused.html", status=exc.status, title=exc.title, detail=exc.detail
        )
