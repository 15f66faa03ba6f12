"""The Bookings page in a real browser: filters by agent, status and dates give what the
JSON API gives for the same filter, a bad range is an error next to its field, and a
booking's page shows its trail."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.dashboard.conftest import Dash
from tests.dashboard.sdk_agents import sdk, slot

expect = pytest.importorskip("playwright.sync_api").expect


def listed(dash: Dash) -> set[str]:
    dash.page.wait_for_load_state()
    return (
        set(
            dash.page.locator("table.bookings tbody tr").evaluate_all(
                "rows => rows.map(r => r.dataset.booking)"
            )
        )
        if dash.page.locator("table.bookings").count()
        else set()
    )


def apply(dash: Dash) -> None:
    """Submit the filters and wait until htmx has swapped the answer in.

    The response arriving is not enough: the rows are read from the page, and htmx
    swaps and settles them after the response event, so a read in between sees the
    previous filter's rows.
    """
    with dash.settled(), dash.page.expect_response(lambda r: "/dashboard/bookings?" in r.url):
        dash.page.get_by_role("button", name="Apply filters").click()


def test_filters_by_agent_status_and_dates(signed_in: Dash) -> None:
    dash = signed_in
    alice, bob = sdk(dash, "Alice's assistant", 1), sdk(dash, "Bob's bot", 2)
    start, end = slot(2, 9)
    a1 = alice.bookings.commit(start=start, end=end)
    b_cancel_start, end = slot(3, 10)
    b_cancel = bob.bookings.commit(start=b_cancel_start, end=end)
    bob.bookings.cancel(b_cancel.booking_id)
    b_start, b_end = slot(5, 11)
    b2 = bob.bookings.commit(start=b_start, end=b_end, title="Pricing call")

    dash.go("/dashboard/bookings")
    everything = {a1.booking_id, b_cancel.booking_id, b2.booking_id}
    assert listed(dash) == everything  # upcoming, by default
    dash.shot("bookings")

    dash.page.get_by_label("Agent").select_option(label="Alice's assistant (priority 1)")
    apply(dash)
    assert listed(dash) == {a1.booking_id}
    assert f"agent_id={alice.agent_id}" in dash.page.url

    dash.page.get_by_label("Agent").select_option("")
    dash.page.get_by_label("Status").select_option("CANCELLED")
    apply(dash)
    assert listed(dash) == {b_cancel.booking_id}
    api = dash.coord.views.bookings(dash.user_id, status="CANCELLED")
    assert {b.booking_id for b in api.bookings} == listed(dash)

    dash.page.get_by_label("Status").select_option("")
    day = b_start.date().isoformat()
    dash.page.get_by_label("From").fill(day)
    dash.page.get_by_label("To").fill(day)
    apply(dash)
    assert listed(dash) == {b2.booking_id}
    expect(dash.page.get_by_label("Show")).to_have_value("custom")

    dash.page.get_by_label("From").fill((b_start + timedelta(days=3)).date().isoformat())
    apply(dash)
    to = dash.page.get_by_label("To")
    expect(to).to_have_attribute("aria-invalid", "true")
    expect(dash.page.locator("#err-end")).to_have_text("must be after start")
    assert listed(dash) == set()

    dash.go(f"/dashboard/bookings/{b_cancel.booking_id}")
    expect(dash.page.locator("dl.facts .status")).to_have_text("cancelled")
    steps = dash.page.locator("ol.trail > li").evaluate_all("l => l.map(e => e.dataset.type)")
    assert steps == ["booking.committed", "booking.cancelled"]
    dash.shot("booking-trail")
    dash.page.get_by_role("link", name="See this day on the timeline").click()
    dash.page.wait_for_url(f"**/dashboard/timeline?day={b_cancel_start.date().isoformat()}")
    svg = dash.page.locator("svg.bucket-timeline")
    expect(svg.locator(f"rect[data-booking='{b_cancel.booking_id}']")).to_have_attribute(
        "data-end", "booking.cancelled"
    )


def test_an_unknown_booking_is_a_404_page(signed_in: Dash) -> None:
    response = signed_in.go("/dashboard/bookings/bkg_doesnotexist")
    assert response.status == 404
    expect(signed_in.page.get_by_role("heading", level=1)).to_have_text("No such booking")
