"""The Proposals page: the multi-slot meetings the owner's agents are negotiating.

A read of the ``/v1/dashboard/proposals`` route function (``routes.owner_views``): the
candidate slots with their scores, who answered what, and how each ended.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from ...proposals.models import Proposal, ProposalStatus
from ..routes import owner_views
from .directory import agents_by_id
from .pages import FormErrors, PageViewer, api, render

router = APIRouter()
STATUSES: tuple[str, ...] = ProposalStatus.__args__  # type: ignore[attr-defined]


@router.get("/proposals")
def proposals(
    request: Request,
    viewer: PageViewer,
    status: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    coord = request.app.state.coordinator
    errors = FormErrors()
    found = api(errors, owner_views.proposals, viewer.session, coord, status=status or None)
    # The route answers JSON-ready dicts; read them back as the model for its scores.
    rows = [Proposal.model_validate(p) for p in reversed(found or [])]  # newest first
    return render(
        request,
        "proposals.html",
        viewer,
        status=422 if errors else 200,
        title="Proposals",
        active="proposals",
        errors=errors,
        rows=rows,
        status_filter=status,
        statuses=STATUSES,
        agents=agents_by_id(coord, viewer.session),
    )
