"""The Timeline and Audit pages in a real browser, over a real race of SDK agents.

The owner's timezone is Europe/Berlin, so every label the page draws is a conversion.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from coordinator.buckets import BUCKET_MS
from tests.dashboard.conftest import Dash
from tests.dashboard.sdk_agents import sdk, slot

agentdraft = pytest.importorskip("agentdraft")
expect = pytest.importorskip("playwright.sync_api").expect
BERLIN = ZoneInfo("Europe/Berlin")


def race(clients: dict[str, Any], start: Any, end: Any) -> dict[str, Any]:
    """Every client commits the same slot at once (a barrier); name -> booking or Conflict."""
    barrier = threading.Barrier(len(clients))
    out: dict[str, Any] = {}

    def run(name: str, client: Any) -> None:
        barrier.wait()
        try:
            out[name] = client.bookings.commit(start=start, end=end)
        except agentdraft.Conflict as lost:
            out[name] = lost

    threads = [threading.Thread(target=run, args=item) for item in clients.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_the_timeline_draws_an_eviction_inside_the_bump_window_and_a_real_race(
    signed_in: Dash,
) -> None:
    dash = signed_in
    dash.coord.owners.set_timezone(dash.user_id, "Europe/Berlin")
    low, top = sdk(dash, "Sales bot", 2), sdk(dash, "Assistant", 1)
    start, end = slot(2, 9)
    lost = low.bookings.commit(start=start, end=end, title="Intro", bump_window_seconds=600)
    won = top.bookings.commit(start=start, end=end, title="Board call")
    assert dash.coord.bookings.get(dash.user_id, lost.booking_id).status == "EVICTED"
    raced = race({"low": low, "top": top}, *slot(2, 11, 60))
    assert isinstance(raced["low"], agentdraft.Conflict), "priority 2 beat priority 1"
    assert not isinstance(raced["top"], agentdraft.Conflict)

    day = start.astimezone(BERLIN).date()
    dash.go(f"/dashboard/timeline?day={day.isoformat()}")
    svg = dash.page.locator("svg.bucket-timeline")
    assert "(Europe/Berlin)" in (svg.locator("title").first.text_content() or "")
    mark = svg.locator(f"g.eviction[data-booking='{lost.booking_id}']")
    expect(mark).to_have_count(1)
    assert mark.get_attribute("data-by") == top.agent_id
    expect(svg.locator(f"rect[data-booking='{lost.booking_id}']")).to_have_attribute(
        "data-end", "booking.evicted"
    )
    expect(svg.locator(f"rect[data-booking='{won.booking_id}']")).to_have_attribute(
        "data-end", "open"
    )
    # 09:00 UTC is 10:00 in Berlin in winter: the row label says so, UTC on hover.
    row = svg.locator(f"text[data-bucket='{int(start.timestamp() * 1000) // BUCKET_MS}']")
    assert row.evaluate("t => t.firstChild.nodeValue") == "10:00"
    assert row.locator("title").text_content() == start.strftime("%Y-%m-%dT%H:%M:00.000Z")
    # The race's loser is in the picture too: taken inside its window, or refused.
    losers = svg.locator("g.eviction").count() - 1 + svg.locator("circle.refusal").count()
    assert losers == 1
    table = dash.page.locator(f"tr.eviction[data-booking='{lost.booking_id}']")
    expect(table).to_contain_text("evicted by")
    expect(table).to_contain_text("Assistant")
    dash.shot("timeline")

    # The victim's trail names the booking that took its slot, not a second "Committed".
    table.get_by_role("link", name=lost.booking_id).click()
    dash.page.wait_for_url(f"**/dashboard/bookings/{lost.booking_id}")
    steps = dash.page.locator("ol.trail > li")
    expect(steps).to_have_count(3)
    expect(steps.nth(1)).to_contain_text("Evicted by a better-ranked booking")
    expect(steps.nth(2)).to_contain_text(f"Another booking: committed {won.booking_id}")
    dash.page.go_back()
    dash.page.get_by_role("link", name="Next day").click()
    expect(dash.page.locator("svg.bucket-timeline desc")).to_have_text(
        "0 bookings, 0 evictions, 0 refused writes"
    )


def test_the_audit_page_shows_the_verification_and_the_latest_signed_checkpoint(
    signed_in: Dash, tmp_path: Path
) -> None:
    dash = signed_in
    agent = sdk(dash, "Assistant", 1)
    start, end = slot(3, 9)
    agent.bookings.commit(start=start, end=end, title="Standup")
    dash.go("/dashboard/audit")
    card = dash.page.locator("section.verification")
    expect(card.get_by_role("heading")).to_have_text("✓ The history is intact")
    verified = dash.coord.audit.verify(dash.user_id)
    assert verified.ok
    expect(card.locator("dd").first).to_have_text(str(verified.entries))
    expect(dash.page.locator("#checkpoint-title + p")).to_contain_text("No checkpoint signed yet")

    cp = dash.coord.audit.checkpoint(dash.user_id, key=tmp_path / "audit.key")
    assert cp is not None
    dash.page.reload()
    facts = dash.page.locator("section[aria-labelledby='checkpoint-title'] dl")
    expect(facts).to_contain_text(cp.entry_id)
    expect(facts).to_contain_text(cp.key_id)
    # This server was given no key, so it can show the checkpoint but not vouch for it.
    expect(facts).to_contain_text("no signing key")
    rows = dash.page.locator("table.entries tbody tr")
    assert rows.count() == verified.entries
    dash.shot("audit")
