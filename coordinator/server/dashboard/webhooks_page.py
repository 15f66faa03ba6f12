"""The Webhooks page: register an endpoint (its secret shown once), delete one, read one's
delivery log and queue an event again.

Every write calls the ``/v1/dashboard/webhooks`` route function (``routes.webhooks`` and
``routes.owner_views``). The signing secret is rendered into the answer to the request
that created it and nowhere else: the list never carries it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ...errors import NotFound
from ..routes import owner_views, webhooks
from .pages import (
    ActionViewer,
    FormErrors,
    PageRefused,
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
HOME = "/dashboard/webhooks"
EndpointId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
EventId = Annotated[str, Path(min_length=5, max_length=200, pattern=r"^evt_[A-Za-z0-9_\-]+$")]


def _page(
    request: Request,
    viewer: Viewer,
    *,
    status: int = 200,
    errors: FormErrors | None = None,
    **extra: Any,
) -> Response:
    coord = request.app.state.coordinator
    return render(
        request,
        "webhooks.html",
        viewer,
        status=status,
        title="Webhooks",
        active="webhooks",
        endpoints=webhooks.list_endpoints(viewer.session, coord),
        catalog=owner_views.webhook_events(viewer.session),
        errors=errors or FormErrors(),
        **extra,
    )


@router.get("/webhooks")
def webhooks_list(request: Request, viewer: PageViewer) -> Response:
    return _page(request, viewer)


@router.post("/webhooks")
async def register(request: Request, viewer: ActionViewer) -> Response:
    data = await form_data(request)
    errors = FormErrors()
    raw = {"url": first(data, "url"), "events": data.get("events", [])}
    if not raw["events"]:
        errors.add("events", "choose at least one event")
    made = None
    hook_in = None if errors else body(webhooks.WebhookIn, raw, errors)
    if hook_in is not None:
        coord = request.app.state.coordinator
        # Registering resolves the URL's host (the SSRF guard): in a thread, so a slow
        # DNS answer does not hold the event loop.
        made = await run_in_threadpool(
            api, errors, webhooks.register, hook_in, viewer.session, coord
        )
    if made is None:
        return shown_at(_page(request, viewer, status=422, errors=errors, form=raw), HOME)
    return shown_at(_page(request, viewer, created=made), HOME)


@router.post("/webhooks/{endpoint_id}/delete")
def delete(endpoint_id: EndpointId, request: Request, viewer: ActionViewer) -> Response:
    errors = FormErrors()
    api(errors, webhooks.delete, endpoint_id, viewer.session, request.app.state.coordinator)
    if errors:
        return shown_at(_page(request, viewer, status=404, errors=errors), HOME)
    return see_other(HOME)


def _deliveries(
    request: Request, viewer: Viewer, endpoint_id: str, *, status: int = 200, **extra: Any
) -> Response:
    coord = request.app.state.coordinator
    found = [
        e for e in webhooks.list_endpoints(viewer.session, coord) if e.endpoint_id == endpoint_id
    ]
    if not found:
        raise PageRefused(404, "No such endpoint", f"no webhook endpoint {endpoint_id}")
    log = owner_views.webhook_deliveries(endpoint_id, viewer.session, coord, limit=100)
    return render(
        request,
        "webhook.html",
        viewer,
        status=status,
        title="Webhook deliveries",
        active="webhooks",
        endpoint=found[0],
        deliveries=log,
        **extra,
    )


@router.get("/webhooks/{endpoint_id}")
def deliveries(
    endpoint_id: EndpointId,
    request: Request,
    viewer: PageViewer,
    queued: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    return _deliveries(request, viewer, endpoint_id, queued=queued)


@router.post("/webhooks/{endpoint_id}/deliveries/{event_id}/redeliver")
def redeliver(
    endpoint_id: EndpointId, event_id: EventId, request: Request, viewer: ActionViewer
) -> Response:
    """Queue the event again for this endpoint only; the log shows the new attempt."""
    coord = request.app.state.coordinator
    try:
        owner_views.redeliver(endpoint_id, event_id, viewer.session, coord)
    except NotFound as exc:
        page = _deliveries(request, viewer, endpoint_id, status=404, failed=exc.detail)
        return shown_at(page, f"{HOME}/{endpoint_id}")
    return see_other(f"{HOME}/{endpoint_id}?queued={event_id}")
