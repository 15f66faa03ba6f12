"""axe-core's WCAG 2 A/AA rules on the read views and the inbox, with data on every page,
wide and at phone width; at phone width no page scrolls sideways (wide tables and the
timeline scroll inside their own box)."""

from __future__ import annotations

import httpx
import pytest

from tests.dashboard.conftest import Dash
from tests.dashboard.sdk_agents import sdk, slot
from tests.dashboard.test_accessibility import WIDTHS, violations

agentdraft = pytest.importorskip("agentdraft")


def fill_the_calendar(dash: Dash) -> str:
    """Something on each page: a pending consent, an eviction, a proposal, mail. Returns
    the evicted booking's id."""
    top, low = sdk(dash, "Assistant", 1), sdk(dash, "Sales bot", 2)
    start, end = slot(2, 9)
    lost = low.bookings.commit(start=start, end=end, title="Intro", bump_window_seconds=600)
    board = top.bookings.commit(start=start, end=end, title="Board call")
    dash.coord.rules.update(dash.user_id, require_approval={"agent_ids": [low.agent_id]})
    with pytest.raises(agentdraft.ConsentRequired):
        low.bookings.commit(start=start.replace(hour=14), end=end.replace(hour=14), title="Demo")
    a, b = slot(3, 10)
    c, d = slot(3, 15)
    made = httpx.post(
        dash.url + "/v1/scheduling/proposals",
        headers={"Authorization": f"Bearer {top.key}"},
        json={
            "title": "Quarterly planning",
            "participant_agent_ids": [low.agent_id],
            "slots": [
                {"start_time": a.isoformat(), "end_time": b.isoformat()},
                {"start_time": c.isoformat(), "end_time": d.isoformat()},
            ],
        },
        timeout=30,
    )
    assert made.status_code == 201, made.text
    top.mailbox.send(
        to="ada@example.com",
        subject="Board call",
        body_text="Agenda attached.",
        booking_id=board.booking_id,
    )
    return lost.booking_id


@pytest.mark.parametrize("width", WIDTHS)
def test_every_view_passes_axe_and_fits_a_phone(signed_in: Dash, width: str) -> None:
    dash = signed_in
    w, h = WIDTHS[width]
    dash.page.set_viewport_size({"width": w, "height": h})
    evicted = fill_the_calendar(dash)
    day = slot(2, 9)[0].date().isoformat()
    pages = {
        "approvals": "/dashboard/approvals",
        "bookings": "/dashboard/bookings?range=all",
        "booking": f"/dashboard/bookings/{evicted}",
        "timeline": f"/dashboard/timeline?day={day}",
        "audit": "/dashboard/audit",
        "webhooks": "/dashboard/webhooks",
        "connectors": "/dashboard/connectors",
        "proposals": "/dashboard/proposals",
        "mailbox": "/dashboard/mailbox",
    }
    for name, path in pages.items():
        assert dash.go(path).status == 200, path
        assert violations(dash) == [], name
        if width == "phone":
            scroll = dash.page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= w, f"{name} scrolls sideways on a phone ({scroll}px)"
        if name in ("proposals", "booking") or (width == "phone" and name == "timeline"):
            dash.shot(f"{name}-{width}")
