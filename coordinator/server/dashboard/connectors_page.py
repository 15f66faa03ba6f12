"""The Connectors page: the owner's real calendars (CalDAV, ICS), their sync status, add,
sync now, remove.

Every write calls the ``/v1/dashboard/connectors`` route function (``routes.connectors``).
Credentials go in once: the route's answers never carry them, and a form shown again
after an error leaves the password and token fields empty rather than echo them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ...connectors.models import KINDS, MODES, POLICIES, STALE_POLICIES
from ...errors import AgentDraftError
from ..routes import connectors
from .pages import (
    ActionViewer,
    FormErrors,
    PageViewer,
    Viewer,
    api,
    body,
    first,
    form_data,
    render,
    see_other,
    shown_at,
)

router = APIRouter()
HOME = "/dashboard/connectors"
ConnectorId = Annotated[str, Path(pattern=r"^cxn_[0-9a-f]{16}$")]
#: Never put back into a form.
SECRET_FIELDS = ("password", "bearer_token")
_TEXT = ("url", "username", "calendar", "owner_email")
_CHOICES = {"kind": KINDS, "mode": MODES, "policy": POLICIES, "stale": STALE_POLICIES}
_NUMBERS = ("horizon_days", "max_staleness_seconds")


def _page(
    request: Request,
    viewer: Viewer,
    *,
    status: int = 200,
    errors: FormErrors | None = None,
    **extra: Any,
) -> Response:
    coord = request.app.state.coordinator
    rows = []
    for c in connectors.list_connectors(viewer.session, coord):
        rows.append(connectors.get(c.connector_id, viewer.session, coord))
    return render(
        request,
        "connectors.html",
        viewer,
        status=status,
        title="Connectors",
        active="connectors",
        rows=rows,
        choices=_CHOICES,
        errors=errors or FormErrors(),
        **extra,
    )


@router.get("/connectors")
def connectors_list(request: Request, viewer: PageViewer) -> Response:
    return _page(request, viewer)


def connector_form(data: dict[str, list[str]], errors: FormErrors) -> dict[str, Any]:
    """The route's request body from the form: empty fields are left to its defaults."""
    raw: dict[str, Any] = {}
    for name in (*_TEXT, *SECRET_FIELDS, *_CHOICES):
        value = first(data, name)
        if value:
            raw[name] = value
    for name in _NUMBERS:
        value = first(data, name)
        if value:
            try:
                raw[name] = int(value)
            except ValueError:
                errors.add(name, "must be a whole number")
    raw["show_summary"] = first(data, "show_summary") == "on"
    raw["verify_tls"] = first(data, "verify_tls") == "on"
    return raw


@router.post("/connectors")
async def add(request: Request, viewer: ActionViewer) -> Response:
    data = await form_data(request)
    errors = FormErrors()
    raw = connector_form(data, errors)
    made = None
    conn_in = None if errors else body(connectors.ConnectorIn, raw, errors)
    if conn_in is not None:
        # Adding validates by a first pull from the remote server (up to its 20 s
        # timeout): in a thread, so the event loop keeps answering everyone else.
        coord = request.app.state.coordinator
        made = await run_in_threadpool(api, errors, connectors.add, conn_in, viewer.session, coord)
    if made is None:
        shown = {k: v for k, v in raw.items() if k not in SECRET_FIELDS}
        return shown_at(_page(request, viewer, status=422, errors=errors, form=shown), HOME)
    return shown_at(_page(request, viewer, added=made), HOME)


@router.post("/connectors/{connector_id}/sync")
def sync(connector_id: ConnectorId, request: Request, viewer: ActionViewer) -> Response:
    """Pull now; the page shows what the pull changed. A pull already running (the
    background worker's) is no error: the page says so, and the status shows its result."""
    errors = FormErrors()
    report, busy = None, False
    try:
        report = connectors.sync(connector_id, viewer.session, request.app.state.coordinator)
    except AgentDraftError as exc:
        busy = exc.error == "connector_busy"
        if not busy:  # as ``api`` reports a refusal
            errors.add(str(exc.context.get("field") or "_form"), exc.detail)
    page = _page(
        request, viewer, status=422 if errors else 200, errors=errors, synced=report, busy=busy
    )
    return shown_at(page, HOME)


@router.post("/connectors/{connector_id}/delete")
def remove(connector_id: ConnectorId, request: Request, viewer: ActionViewer) -> Response:
    errors = FormErrors()
    api(errors, connectors.remove, connector_id, viewer.session, request.app.state.coordinator)
    if errors:
        return shown_at(_page(request, viewer, status=404, errors=errors), HOME)
    return see_other(HOME)
