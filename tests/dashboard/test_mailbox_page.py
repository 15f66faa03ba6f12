"""The Mailbox page in a real browser: an agent's sent and received mail, one message with
its sender checks (its body as text, never HTML), the send policy, and lifting a
suppression.

The agent sends through the official SDK; inbound mail is stored by the same call the
mail receiver makes (``coord.mailbox.receive``).
"""

from __future__ import annotations

import pytest

from tests.dashboard.conftest import Dash
from tests.dashboard.sdk_agents import sdk, slot

expect = pytest.importorskip("playwright.sync_api").expect


def test_sent_and_received_mail_verdicts_policy_and_suppressions(signed_in: Dash) -> None:
    dash = signed_in
    agent = sdk(dash, "Scheduler", 1)
    start, end = slot(2, 9)
    booking = agent.bookings.commit(start=start, end=end, title="Intro call")
    sent = agent.mailbox.send(
        to="ada@example.com",
        subject="Our intro call",
        body_text="See you on Monday.",
        booking_id=booking.booking_id,
    )
    received = dash.coord.mailbox.receive(
        dash.user_id,
        agent.agent_id,
        {
            "from": "ada@example.com",
            "to": [sent["from"]],
            "subject": "Re: Our intro call",
            "body_text": "Great <script>alert(1)</script> see you",
            "imid": "<reply-1@example.com>",
            "in_reply_to": sent["internet_message_id"],
            "references": [sent["internet_message_id"]],
            "verdicts": {
                "spf": {"result": "pass", "domain": "example.com"},
                "dkim": {"result": "fail", "domain": "example.com", "detail": "body hash"},
                "dmarc": {"result": "fail", "domain": "example.com", "policy": "reject"},
            },
        },
        suppress=[{"address": "angry@example.com", "kind": "complaint", "diagnostic": "abuse"}],
    )["message"]

    dash.go("/dashboard/mailbox")
    rows = dash.page.locator("table.messages tbody tr")
    expect(rows).to_have_count(2)
    ids = rows.evaluate_all("rs => rs.map(r => r.dataset.message)")
    assert ids == [received["message_id"], sent["message_id"]]  # newest first
    expect(rows.nth(1)).to_contain_text("→ sent")
    dash.page.get_by_label("Messages", exact=True).select_option("inbound")
    dash.page.get_by_role("button", name="Show").click()
    expect(rows).to_have_count(1)
    dash.shot("mailbox")

    rows.first.get_by_role("link").click()
    dash.page.wait_for_url(f"**/dashboard/mailbox/messages/{received['message_id']}")
    checks = dash.page.locator("section[aria-labelledby='checks-title'] dl")
    expect(checks).to_contain_text("pass for example.com")
    expect(checks).to_contain_text("fail for example.com (body hash)")
    body = dash.page.locator("pre.mail-body")
    expect(body).to_have_text("Great <script>alert(1)</script> see you")
    assert dash.page.locator("pre.mail-body script").count() == 0
    expect(dash.page.get_by_role("link", name=booking.booking_id)).to_be_visible()
    dash.shot("mail-message")

    dash.go(f"/dashboard/mailbox?agent_id={agent.agent_id}")
    dash.page.get_by_text("Change this agent's send policy").click()
    dash.page.get_by_label("Messages a day").fill("3")
    dash.page.get_by_role("button", name="Save policy").click()
    expect(dash.page.get_by_role("status")).to_have_text("Policy saved.")
    expect(dash.page.locator("#box-title + dl")).to_contain_text("1 of 3")
    assert dash.coord.mailbox.info(dash.user_id, agent.agent_id)["quota"]["cap"] == 3
    dash.page.get_by_text("Change this agent's send policy").click()
    dash.page.get_by_label("Messages a day").fill("-1")
    dash.page.get_by_role("button", name="Save policy").click()
    expect(dash.page.locator("#err-send_cap_per_day")).to_be_visible()
    assert dash.coord.mailbox.info(dash.user_id, agent.agent_id)["quota"]["cap"] == 3

    supp = dash.page.locator("li.suppression[data-address='angry@example.com']")
    expect(supp).to_contain_text("complaint")
    supp.get_by_role("button", name="Allow again").click()
    expect(dash.page.locator("li.suppression")).to_have_count(0)
    assert dash.coord.mailbox.suppressions(dash.user_id) == []
