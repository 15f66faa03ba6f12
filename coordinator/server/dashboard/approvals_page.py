"""The Approvals page: the inbox of requests waiting for the owner, decided with a note.

Deciding calls the ``/v1/dashboard/approvals`` route functions (``routes.owner_approvals``),
so approving a parked booking commits it through the normal claim: it can still lose to
a better booking, and the page then says so with the winner.

The inbox updates itself by short polling (htmx ``every 2s``), not server-sent events:
a poll is one cheap read answered ``204`` when nothing changed, needs no long-lived
connection through proxies, and works the same with several server processes. A poll
that finds new requests appends only those (out-of-band swaps), so a note being typed
into another request is never wiped.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from ..routes import owner_approvals
from .directory import agents_by_id
from .pages import (
    SECURITY_HEADERS,
    ActionViewer,
    FormErrors,
    PageViewer,
    Viewer,
    api,
    first,
    form_data,
    render,
    see_other,
    shown_at,
    templates,
)

router = APIRouter()
ApprovalId = Annotated[str, Path(min_length=5, max_length=80, pattern=r"^apr_[A-Za-z0-9_\-]+$")]
#: Decided requests listed under the inbox, newest first.
RECENT = 20
#: How often an open inbox asks for news.
POLL = "every 2s"


def _all(request: Request, viewer: Viewer) -> list[dict[str, Any]]:
    coord = request.app.state.coordinator
    return owner_approvals.list_approvals(viewer.session, coord)


def _context(request: Request, viewer: Viewer, items: list[dict[str, Any]]) -> dict[str, Any]:
    pending = [a for a in items if a["status"] == "pending"]
    decided = [a for a in items if a["status"] != "pending"]
    decided.sort(key=lambda a: a.get("decided_at") or a.get("expires_at") or "", reverse=True)
    return {
        "pending": pending,
        "recent": decided[:RECENT],
        "agents": agents_by_id(request.app.state.coordinator, viewer.session),
        "shown": ",".join(a["approval_id"] for a in pending),
        "poll": POLL,
    }


def _page(
    request: Request,
    viewer: Viewer,
    *,
    status: int = 200,
    errors: FormErrors | None = None,
    decided: str | None = None,
) -> Response:
    items = _all(request, viewer)
    outcome = next((a for a in items if a["approval_id"] == decided), None)
    if outcome is not None and outcome.get("outcome") == "conflict":
        # One read of the request as the approve route answers it: it names the winner.
        outcome = request.app.state.coordinator.approvals.get(outcome["approval_id"])
    return render(
        request,
        "approvals.html",
        viewer,
        status=status,
        title="Approvals",
        active="approvals",
        errors=errors or FormErrors(),
        outcome=outcome,
        **_context(request, viewer, items),
    )


@router.get("/approvals")
def approvals(
    request: Request,
    viewer: PageViewer,
    decided: Annotated[str | None, Query(max_length=80)] = None,
) -> Response:
    return _page(request, viewer, decided=decided)


@router.get("/approvals/inbox")
def inbox(
    request: Request,
    viewer: PageViewer,
    shown: Annotated[str, Query(max_length=20_000)] = "",
) -> Response:
    """What changed since the page drew the ids in ``shown``: 204 when nothing did,
    else the new requests (appended), the ones decided meanwhile (replaced) and a new
    poller carrying the ids now on the page."""
    items = _all(request, viewer)
    ctx = _context(request, viewer, items)
    known = {i for i in shown.split(",") if i}
    pending_ids = {a["approval_id"] for a in ctx["pending"]}
    new = [a for a in ctx["pending"] if a["approval_id"] not in known]
    gone = [a for a in items if a["approval_id"] in known - pending_ids]
    if not new and not gone:
        return Response(status_code=204, headers={"Cache-Control": "no-store"})
    html = templates.get_template("_approvals_news.html").render(
        viewer=viewer,
        tz=viewer.timezone,
        csrf=viewer.csrf,
        new=new,
        gone=gone,
        **ctx,
    )
    return HTMLResponse(html, headers=SECURITY_HEADERS)


@router.post("/approvals/{approval_id}/decide")
async def decide(approval_id: ApprovalId, request: Request, viewer: ActionViewer) -> Response:
    """Approve or deny (the button pressed), with the optional note the agent will see."""
    data = await form_data(request)
    errors = FormErrors()
    decision = first(data, "decision")
    note = first(data, "note") or None
    fn = {"approve": owner_approvals.approve, "deny": owner_approvals.deny}.get(decision)
    if fn is None:
        errors.add("_form", "choose Approve or Deny")
    else:
        body = None
        try:
            body = owner_approvals.Decision(note=note)
        except ValueError:
            errors.add("note", "a note is at most 2000 characters")
        if body is not None:
            api(errors, fn, approval_id, viewer.session, request.app.state.coordinator, body)
    if errors:
        return shown_at(_page(request, viewer, status=409, errors=errors), "/dashboard/approvals")
    return see_other(f"/dashboard/approvals?decided={approval_id}")
