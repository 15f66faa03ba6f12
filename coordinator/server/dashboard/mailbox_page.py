"""The Mailbox page: each agent's mail (newest first), one message with its SPF/DKIM/DMARC
verdicts, the agent's send policy, and the addresses the agents no longer mail.

Built on the ``/v1/dashboard/mailbox`` route functions (``routes.owner_mailbox``); they
answer JSON responses, which the page reads back, so the page shows exactly what the
API says. A message body is shown as text, never as HTML.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from ...errors import NotFound
from ..routes import owner_mailbox
from .directory import agents_by_id
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
HOME = "/dashboard/mailbox"
AgentId = Annotated[str, Path(min_length=5, max_length=64, pattern=r"^agt_[0-9a-f]+$")]
PAGE = 25


def _json(response: Response | None) -> Any:
    return None if response is None else json.loads(bytes(response.body))


def _page(
    request: Request,
    viewer: Viewer,
    agent_id: str,
    *,
    direction: str = "",
    cursor: str = "",
    status: int = 200,
    errors: FormErrors | None = None,
    **extra: Any,
) -> Response:
    coord = request.app.state.coordinator
    errors = errors or FormErrors()
    agents = agents_by_id(coord, viewer.session)
    chosen = agent_id if agent_id in agents else next(iter(agents), "")
    box = None
    if chosen:
        box = _json(
            api(
                errors,
                owner_mailbox.agent_mailbox,
                viewer.session,
                coord,
                chosen,
                limit=PAGE,
                cursor=cursor or None,
                direction=direction or None,
            )
        )
    return render(
        request,
        "mailbox.html",
        viewer,
        status=422 if errors and status == 200 else status,
        title="Mailbox",
        active="mailbox",
        errors=errors,
        agents=agents,
        chosen=chosen,
        direction=direction,
        box=box,
        suppressions=_json(owner_mailbox.suppressions(viewer.session, coord)),
        **extra,
    )


@router.get("/mailbox")
def mailbox(
    request: Request,
    viewer: PageViewer,
    agent_id: Annotated[str, Query(max_length=64)] = "",
    direction: Annotated[str, Query(max_length=16)] = "",
    cursor: Annotated[str, Query(max_length=80)] = "",
    saved: Annotated[str, Query(max_length=8)] = "",
) -> Response:
    return _page(request, viewer, agent_id, direction=direction, cursor=cursor, saved=bool(saved))


@router.get("/mailbox/messages/{message_id}")
def message(
    message_id: Annotated[str, Path(min_length=5, max_length=64, pattern=r"^msg_[0-9a-f]+$")],
    request: Request,
    viewer: PageViewer,
) -> Response:
    coord = request.app.state.coordinator
    try:
        msg = _json(owner_mailbox.owner_message(message_id, viewer.session, coord))
    except NotFound as exc:
        raise PageRefused(404, "No such message", exc.detail) from exc
    return render(
        request,
        "mail_message.html",
        viewer,
        title=msg["subject"] or "Message",
        active="mailbox",
        m=msg,
        agents=agents_by_id(coord, viewer.session),
    )


@router.post("/mailbox/agents/{agent_id}/policy")
async def policy(agent_id: AgentId, request: Request, viewer: ActionViewer) -> Response:
    """The agent's daily send cap and whether it may mail about no booking."""
    data = await form_data(request)
    errors = FormErrors()
    raw: dict[str, Any] = {"free_form_allowed": first(data, "free_form_allowed") == "on"}
    cap = first(data, "send_cap_per_day")
    if cap:
        try:
            raw["send_cap_per_day"] = int(cap)
        except ValueError:
            errors.add("send_cap_per_day", "must be a whole number")
    policy_in = None if errors else body(owner_mailbox.MailPolicyIn, raw, errors)
    if policy_in is not None:
        coord = request.app.state.coordinator
        api(errors, owner_mailbox.set_policy, agent_id, policy_in, viewer.session, coord)
    if errors:
        page = _page(request, viewer, agent_id, status=422, errors=errors)
        return shown_at(page, f"{HOME}?agent_id={agent_id}")
    return see_other(f"{HOME}?agent_id={agent_id}&saved=1")


@router.post("/mailbox/suppressions/{address}/delete")
def unsuppress(
    address: Annotated[str, Path(min_length=3, max_length=254)],
    request: Request,
    viewer: ActionViewer,
) -> Response:
    """Take an address off the list: the agents may mail it again."""
    errors = FormErrors()
    api(errors, owner_mailbox.unsuppress, address, viewer.session, request.app.state.coordinator)
    if errors:
        return shown_at(_page(request, viewer, "", status=404, errors=errors), HOME)
    return see_other(HOME)
