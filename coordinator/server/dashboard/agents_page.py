"""The Agents page: list, create, rotate, revoke, unrevoke and re-rank the owner's agents.

Every write calls the ``/v1/dashboard/agents`` route function (``routes.owner_agents``);
a new key (and signing JWK) is rendered into the answer to that one request and kept
nowhere else, so it is shown once.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from ...models import ALL_SCOPES
from ..routes import owner_agents
from ..schemas import DashboardAgentIn, DashboardAgentOut
from .activity import last_activity
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
)

router = APIRouter()
AgentId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]


def _page(
    request: Request,
    viewer: Viewer,
    *,
    status: int = 200,
    errors: FormErrors | None = None,
    **extra: Any,
) -> Response:
    coord = request.app.state.coordinator
    agents = owner_agents.list_agents(viewer.session, coord)
    return render(
        request,
        "agents.html",
        viewer,
        status=status,
        title="Agents",
        active="agents",
        agents=agents,
        activity=last_activity(coord, viewer.user_id),
        all_scopes=ALL_SCOPES,
        errors=errors or FormErrors(),
        **extra,
    )


@router.get("/agents")
def agents(request: Request, viewer: PageViewer) -> Response:
    return _page(request, viewer)


@router.post("/agents")
async def create(request: Request, viewer: ActionViewer) -> Response:
    data = await form_data(request)
    errors = FormErrors()
    raw: dict[str, Any] = {"name": first(data, "name"), "scopes": data.get("scopes", [])}
    priority = first(data, "priority")
    if priority:
        try:
            raw["priority"] = int(priority)
        except ValueError:
            errors.add("priority", "must be a whole number")
    made: DashboardAgentOut | None = None
    agent_in = body(DashboardAgentIn, raw, errors)
    if agent_in is not None and not errors:
        coord = request.app.state.coordinator
        made = api(errors, owner_agents.create_agent, agent_in, viewer.session, coord)
    if made is None:
        return _page(request, viewer, status=422, errors=errors, form=raw)
    return _page(request, viewer, secret=made, secret_reason="created")


def _act(request: Request, viewer: Viewer, fn: Any, agent_id: str, reason: str) -> Response:
    errors = FormErrors()
    made = api(errors, fn, agent_id, viewer.session, request.app.state.coordinator)
    if made is None:
        return _page(request, viewer, status=422, errors=errors)
    if made.plaintext_key:
        return _page(request, viewer, secret=made, secret_reason=reason)
    return see_other("/dashboard/agents")


@router.post("/agents/{agent_id}/rotate")
def rotate(agent_id: AgentId, request: Request, viewer: ActionViewer) -> Response:
    return _act(request, viewer, owner_agents.rotate, agent_id, "rotated")


@router.post("/agents/{agent_id}/revoke")
def revoke(agent_id: AgentId, request: Request, viewer: ActionViewer) -> Response:
    return _act(request, viewer, owner_agents.revoke, agent_id, "revoked")


@router.post("/agents/{agent_id}/unrevoke")
def unrevoke(agent_id: AgentId, request: Request, viewer: ActionViewer) -> Response:
    return _act(request, viewer, owner_agents.unrevoke, agent_id, "unrevoked")


def _rerank(request: Request, viewer: Viewer, order: list[str], **extra: Any) -> Response:
    errors = FormErrors()
    if order:
        api(
            errors,
            owner_agents.rerank,
            owner_agents.Rerank(agent_ids=order),
            viewer.session,
            request.app.state.coordinator,
        )
    else:
        errors.add("agent_ids", "the list of agents is empty")
    return _page(
        request, viewer, status=422 if errors else 200, errors=errors, reranked=not errors, **extra
    )


@router.post("/agents/rerank")
async def rerank(request: Request, viewer: ActionViewer) -> Response:
    """The order the owner dropped the agents in, top (priority 1) first."""
    data = await form_data(request)
    return _rerank(request, viewer, data.get("agent_id", []))


@router.post("/agents/{agent_id}/move/{direction}")
def move(
    agent_id: AgentId,
    direction: Literal["up", "down"],
    request: Request,
    viewer: ActionViewer,
) -> Response:
    """The keyboard alternative to dragging: one place up or down."""
    coord = request.app.state.coordinator
    order = [a.agent_id for a in owner_agents.list_agents(viewer.session, coord)]
    if agent_id in order:
        i = order.index(agent_id)
        j = i - 1 if direction == "up" else i + 1
        if 0 <= j < len(order):
            order[i], order[j] = order[j], order[i]
    return _rerank(request, viewer, order, focus=f"{direction}-{agent_id}")
