"""The Approvals inbox in a real browser: requests arrive without a reload, decisions show
their outcome (booked, or lost to a better booking), and a generic request's evidence.

Agents are the official ``agentdraft`` SDK over HTTP against the same ``coordinator
serve`` the browser talks to.
"""

from __future__ import annotations

import pytest

from tests.dashboard.conftest import Dash
from tests.dashboard.sdk_agents import sdk, slot

agentdraft = pytest.importorskip("agentdraft")
expect = pytest.importorskip("playwright.sync_api").expect


def mark_page(dash: Dash) -> None:
    """A value only this page load holds: a reload (or full navigation) loses it."""
    dash.page.evaluate("window.__sameLoad = 'yes'")


def same_load(dash: Dash) -> bool:
    return dash.page.evaluate("window.__sameLoad") == "yes"


def test_a_gated_booking_appears_without_a_reload_and_approving_commits_it(
    signed_in: Dash,
) -> None:
    dash = signed_in
    agent = sdk(dash, "Scheduler", 1)
    dash.coord.rules.update(dash.user_id, require_approval={"agent_ids": [agent.agent_id]})
    dash.go("/dashboard/approvals")
    expect(dash.page.locator("#pending-empty")).to_be_visible()
    mark_page(dash)

    start, end = slot(3, 10)
    with pytest.raises(agentdraft.ConsentRequired) as gate:
        agent.bookings.commit(start=start, end=end, title="Quarterly review")
    approval_id = gate.value.consent_request_id
    item = dash.page.locator(f"#{approval_id}")
    expect(item).to_be_visible()  # the inbox's poll brought it in
    assert same_load(dash), "the page was reloaded"
    expect(dash.page.locator("#pending-count")).to_have_text("1")
    expect(dash.page.locator("#pending-empty")).to_be_hidden()
    assert "Quarterly review" in item.inner_text() and "Scheduler" in item.inner_text()
    dash.shot("approvals-pending")

    item.get_by_label("Note to the agent").fill("Fine, book it.")
    item.get_by_role("button", name="Approve").click()
    outcome = dash.page.locator("#decided-outcome")
    expect(outcome).to_contain_text("Approved: booked.")
    decided = dash.coord.approvals.get(approval_id)
    assert (decided["status"], decided["outcome"]) == ("approved", "committed")
    booking_id = decided["booking_id"]
    assert dash.coord.bookings.get(dash.user_id, booking_id).status == "COMMITTED"
    expect(dash.page.locator("#pending-empty")).to_be_visible()
    dash.shot("approvals-decided")

    outcome.get_by_role("link", name=booking_id).click()
    dash.page.wait_for_url(f"**/dashboard/bookings/{booking_id}")
    expect(dash.page.locator("dl.facts .status")).to_have_text("committed")
    trail = dash.page.locator("ol.trail > li")
    assert "Approved by you" in trail.all_inner_texts()[-2] + trail.all_inner_texts()[-1]


def test_approving_after_a_better_booking_took_the_slot_says_it_was_lost(
    signed_in: Dash,
) -> None:
    dash = signed_in
    top, gated = sdk(dash, "Assistant", 1), sdk(dash, "Sales bot", 2)
    dash.coord.rules.update(dash.user_id, require_approval={"agent_ids": [gated.agent_id]})
    start, end = slot(4, 14)
    with pytest.raises(agentdraft.ConsentRequired) as gate:
        gated.bookings.commit(start=start, end=end, title="Demo")
    won = top.bookings.commit(start=start, end=end, title="Board call")

    dash.go("/dashboard/approvals")
    item = dash.page.locator(f"#{gate.value.consent_request_id}")
    item.get_by_role("button", name="Approve").click()
    outcome = dash.page.locator("#decided-outcome")
    expect(outcome).to_contain_text("lost to a better booking")
    expect(outcome).to_contain_text("Assistant (priority 1) took the slot first")
    expect(outcome.get_by_role("link", name=won.booking_id)).to_be_visible()
    assert dash.coord.approvals.get(gate.value.consent_request_id)["outcome"] == "conflict"


def test_a_generic_request_shows_its_evidence_and_denying_sends_the_note(
    signed_in: Dash,
) -> None:
    dash = signed_in
    agent = sdk(dash, "Support bot", 1)
    dash.go("/dashboard/approvals")
    mark_page(dash)
    asked = agent.approvals.request(
        "refund", "Refund order 1042", evidence={"order": "1042", "amount_eur": 129}
    )
    item = dash.page.locator(f"#{asked['approval_id']}")
    expect(item).to_be_visible()
    assert same_load(dash)
    evidence = item.locator("dl.evidence")
    expect(evidence).to_contain_text("amount_eur")
    expect(evidence).to_contain_text("129")

    item.get_by_label("Note to the agent").fill("Not without a receipt")
    item.get_by_role("button", name="Deny").click()
    expect(dash.page.locator("#decided-outcome")).to_contain_text("Denied")
    seen = agent.approvals.get(asked["approval_id"])
    assert (seen["status"], seen["note"]) == ("denied", "Not without a receipt")
    row = dash.page.locator(f"#row-{asked['approval_id']}")
    expect(row).to_contain_text("Not without a receipt")


def test_a_request_decided_elsewhere_is_marked_decided_in_an_open_inbox(signed_in: Dash) -> None:
    dash = signed_in
    agent = sdk(dash, "Deploy bot", 1)
    asked = agent.approvals.request("deploy", "Ship 2.3 to production")
    dash.go("/dashboard/approvals")
    item = dash.page.locator(f"#{asked['approval_id']}")
    expect(item.get_by_role("button", name="Approve")).to_be_visible()
    mark_page(dash)
    dash.coord.approvals.approve(asked["approval_id"])  # another tab, or the JSON API
    expect(item.locator(".outcome")).to_contain_text("Approved")
    expect(item.get_by_role("button", name="Approve")).to_have_count(0)
    assert same_load(dash)
    expect(dash.page.locator("#pending-count")).to_have_text("0")


def test_the_inbox_fits_a_phone(signed_in: Dash) -> None:
    dash = signed_in
    agent = sdk(dash, "Travel agent", 1)
    agent.approvals.request(
        "purchase", "Book a flight to Lisbon", evidence={"price": "412 EUR", "flight": "TP 573"}
    )
    dash.page.set_viewport_size({"width": 390, "height": 844})
    dash.go("/dashboard/approvals")
    expect(dash.page.get_by_role("button", name="Approve")).to_be_visible()
    width = dash.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    dash.shot("approvals-phone")


def test_an_open_inbox_whose_session_ended_goes_to_sign_in_not_into_the_list(
    signed_in: Dash,
) -> None:
    dash = signed_in
    dash.go("/dashboard/approvals")
    dash.page.context.clear_cookies()  # the session is gone (signed out elsewhere, expired)
    dash.page.wait_for_url("**/dashboard/sign-in?next=/dashboard/approvals")
    assert dash.page.locator("#pending-list").count() == 0
    expect(dash.page.get_by_label("Email")).to_be_visible()
