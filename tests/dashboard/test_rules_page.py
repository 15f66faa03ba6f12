"""The Rules page in a real browser: what the owner sets changes what agents are offered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import agentdraft
from playwright.sync_api import expect

from tests.dashboard.conftest import Dash

MONDAY = datetime(2032, 3, 1, tzinfo=UTC)  # Berlin is UTC+1 then


def hours_offered(client: agentdraft.Client, day: datetime) -> list[int]:
    slots = client.availability.list(
        start=day, end=day + timedelta(days=1), duration_minutes=60, granularity_minutes=60
    )
    return [s.start.hour for s in slots]


def version(dash: Dash) -> int:
    return int(dash.page.locator("#rules-version").inner_text())


def test_setting_working_hours_and_a_focus_block_changes_availability(signed_in: Dash) -> None:
    dash = signed_in
    made = dash.coord.agents.create(dash.user_id, name="bot", priority=1)
    bot = agentdraft.Client(api_key=made.api_key, base_url=dash.url)
    assert hours_offered(bot, MONDAY) == list(range(24))

    dash.go("/dashboard/rules")
    before = version(dash)
    dash.page.get_by_label("IANA time zone").fill("Europe/Berlin")
    dash.page.get_by_role("button", name="Save time zone").click()
    expect(dash.page.get_by_role("status")).to_contain_text("Saved")
    assert "Europe/Berlin" in dash.page.locator("header").inner_text()

    dash.page.get_by_label("Only book me in working hours").check()
    dash.page.get_by_label("Friday interval 1 until").fill("12:00")
    dash.page.get_by_role("button", name="Save rules").click()
    expect(dash.page.get_by_role("status")).to_contain_text("Saved")
    assert version(dash) > before
    # Monday 09:00-17:00 Berlin is 08:00-16:00 UTC; the weekend is not bookable.
    assert hours_offered(bot, MONDAY) == list(range(8, 16))
    assert hours_offered(bot, MONDAY + timedelta(days=4)) == list(range(8, 11))
    assert hours_offered(bot, MONDAY + timedelta(days=5)) == []

    dash.page.get_by_label("Day", exact=True).select_option("mon")
    dash.page.locator("#fw-start").fill("12:00")
    dash.page.locator("#fw-end").fill("13:00")
    dash.page.locator("#fw-title").fill("Lunch")
    dash.page.get_by_role("button", name="Add weekly block").click()
    expect(dash.page.locator("ul.blocks")).to_contain_text("Every Monday, 12:00–13:00 · Lunch")
    assert hours_offered(bot, MONDAY) == [8, 9, 10, 12, 13, 14, 15]

    dash.page.locator("#fo-start").fill("2032-03-01T09:00")
    dash.page.locator("#fo-end").fill("2032-03-01T10:00")
    dash.page.get_by_role("button", name="Add one-off block").click()
    once = dash.page.locator("ul.blocks li").nth(1).locator("time").first
    expect(once).to_have_attribute("title", "2032-03-01 08:00:00 UTC")
    assert hours_offered(bot, MONDAY) == [9, 10, 12, 13, 14, 15]
    dash.shot("rules")

    dash.page.locator("ul.blocks li").first.get_by_role("button", name="Remove").click()
    expect(dash.page.locator("ul.blocks li")).to_have_count(1)
    assert hours_offered(bot, MONDAY) == [9, 10, 11, 12, 13, 14, 15]


def test_the_apis_typed_errors_are_shown_next_to_their_fields(signed_in: Dash) -> None:
    dash = signed_in
    dash.go("/dashboard/rules")
    start = version(dash)

    dash.page.get_by_label("Only book me in working hours").check()
    dash.page.get_by_label("Monday interval 1 until").fill("08:00")
    dash.page.get_by_role("button", name="Save rules").click()
    table = dash.page.locator("table.hours")
    expect(table).to_have_attribute("aria-invalid", "true")
    error = dash.page.locator(f"#{table.get_attribute('aria-describedby')}")
    expect(error).to_contain_text("ends before it starts")
    # The form comes back as typed, and nothing was saved.
    expect(dash.page.get_by_label("Monday interval 1 until")).to_have_value("08:00")
    assert version(dash) == start
    assert dash.coord.rules.get(dash.user_id).working_hours is None

    dash.page.get_by_label("Monday interval 1 until").fill("17:00")
    dash.page.get_by_label("Buffer before each booking (minutes)").fill("-5")
    dash.page.get_by_role("button", name="Save rules").click()
    buffer = dash.page.get_by_label("Buffer before each booking (minutes)")
    expect(buffer).to_have_attribute("aria-invalid", "true")
    expect(dash.page.locator("#err-buffer_before_min")).to_contain_text("must be between 0 and")
    assert dash.coord.rules.get(dash.user_id).rules_version == start

    dash.page.get_by_label("Buffer before each booking (minutes)").fill("10")
    dash.page.get_by_label("Longest hold (seconds)").fill("7200")
    dash.page.get_by_role("button", name="Save rules").click()
    expect(dash.page.get_by_role("status")).to_contain_text("Saved")
    expect(dash.page.get_by_label("Longest hold (seconds)")).to_have_value("7200")
    saved = dash.coord.rules.get(dash.user_id)
    assert (saved.buffer_before_min, saved.max_hold_ttl_seconds) == (10, 7200)
    assert saved.working_hours is not None and saved.working_hours["mon"] == (("09:00", "17:00"),)

    dash.page.get_by_label("IANA time zone").fill("Mars/Olympus_Mons")
    dash.page.get_by_role("button", name="Save time zone").click()
    expect(dash.page.locator("#err-timezone")).to_contain_text("unknown IANA zone")

    window = "Window for my calendar (ms, 0–10000; empty: the server default)"
    dash.page.get_by_label(window).fill("20000")
    dash.page.get_by_role("button", name="Save window").click()
    expect(dash.page.locator("#err-arbitration_window_ms")).to_contain_text("10000")
    dash.page.get_by_label(window).fill("250")
    dash.page.get_by_role("button", name="Save window").click()
    expect(dash.page.get_by_role("status")).to_contain_text("Saved")
    assert dash.coord.owners.arbitration_window(dash.user_id) == 250
    dash.shot("rules-after-errors")
