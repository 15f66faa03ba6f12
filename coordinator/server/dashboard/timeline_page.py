"""The Timeline and Audit pages: one day's bucket timeline, and the chain's verification.

Both read the audit stream through the ``/v1/dashboard/audit`` route function
(``routes.owner_views.audit``). The timeline is drawn by ``coordinator/timeline_svg.py``
from ``coordinator/timeline.py``, so it is the engine's own history of who held each
5-minute bucket of the chosen day (in the owner's timezone), and when.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import Markup

from ...audit.checkpoints import anchor_dir
from ...models import AuditEntry
from ...owner_views import MAX_AUDIT_PAGE
from ...timeline import build_timeline
from ...timeline_svg import day_buckets, entries_touching, pick, render_svg
from ..routes import owner_views
from .directory import agent_names, agents_by_id
from .pages import FormErrors, PageViewer, api, render

router = APIRouter()
#: Pages of the audit stream read for one day's picture (a cap, said on the page).
MAX_SCAN_PAGES = 50
#: Entries listed on the Audit page at a time.
AUDIT_PAGE = 50


def read_stream(coord: Any, session: Any) -> tuple[list[AuditEntry], bool]:
    """The calendar's audit entries oldest first, page by page; True when the cap cut it."""
    out: list[AuditEntry] = []
    cursor: str | None = None
    for _ in range(MAX_SCAN_PAGES):
        page = owner_views.audit(session, coord, cursor=cursor, limit=MAX_AUDIT_PAGE, verify=False)
        out += page.entries
        cursor = page.next_cursor
        if cursor is None:
            return out, False
    return out, True


@router.get("/timeline")
def timeline(
    request: Request,
    viewer: PageViewer,
    day: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    coord = request.app.state.coordinator
    tz = ZoneInfo(viewer.timezone)
    errors = FormErrors()
    today = datetime.now(UTC).astimezone(tz).date()
    chosen = today
    if day:
        try:
            chosen = date.fromisoformat(day)
        except ValueError:
            errors.add("day", "must be a date such as 2031-03-04")
    window = day_buckets(chosen, tz)
    entries, cut = read_stream(coord, viewer.session)
    tl = build_timeline(entries_touching(entries, window))
    agents = agents_by_id(coord, viewer.session)
    names = agent_names(agents)
    svg = render_svg(
        tl,
        window,
        tz=tz,
        names=names,
        title=f"Who held each 5-minute slot on {chosen:%A %d %B %Y} ({viewer.timezone})",
    )
    return render(
        request,
        "timeline.html",
        viewer,
        status=422 if errors else 200,
        title="Timeline",
        active="timeline",
        errors=errors,
        day=chosen,
        prev_day=chosen - timedelta(days=1),
        next_day=chosen + timedelta(days=1),
        today=today,
        svg=Markup(svg),  # render_svg escapes every text it draws
        picture=pick(tl, window),
        agents=agents,
        cut=cut,
    )


@router.get("/audit")
def audit(
    request: Request,
    viewer: PageViewer,
    cursor: Annotated[str, Query(max_length=42)] = "",
) -> Response:
    """The chain's verification (a full re-walk), the latest signed checkpoint, and the
    entries a page at a time."""
    coord = request.app.state.coordinator
    errors = FormErrors()
    page = api(
        errors,
        owner_views.audit,
        viewer.session,
        coord,
        cursor=cursor or None,
        limit=AUDIT_PAGE,
        verify=True,
    )
    key = coord.audit.key_path()
    checkpoints = coord.audit.checkpoints.list(viewer.user_id, anchor_dir(key) if key else None)
    return render(
        request,
        "audit.html",
        viewer,
        status=422 if errors else 200,
        title="Audit",
        active="audit",
        errors=errors,
        page=page,
        latest=checkpoints[-1] if checkpoints else None,
        agents=agents_by_id(coord, viewer.session),
        first_page=not cursor,
    )
