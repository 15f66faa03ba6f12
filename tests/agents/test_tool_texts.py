"""What a model or an MCP host reads about the tools: dates ahead, MCP metadata complete.

A model copies the examples it is shown, so they lie in the future; an MCP host
shows titles and hints to a person deciding what to allow, and the server names
this package's version, not the mcp library's.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from agentdraft_agents import specs
from agentdraft_agents.core import BookingService

from .conftest import Calendar, at, iso

DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:Z|[+-]\d{2}:\d{2})")


def future_examples(text: str) -> list[datetime]:
    found = [datetime.fromisoformat(d.replace("Z", "+00:00")) for d in DATE.findall(text)]
    assert found, text
    return found


def test_every_example_time_a_model_is_shown_lies_ahead() -> None:
    now = datetime.now(UTC)
    start = specs.BookingInput.model_fields["start"].description
    texts = [specs.TIME_FORMAT, specs.AVAILABILITY.description, str(start)]
    for text in texts:
        assert all(d > now for d in future_examples(text)), text


def test_a_refused_time_suggests_a_future_spelling(local_cal: Calendar) -> None:
    refused = BookingService(local_cal.agent(1)).commit("tomorrow at ten", iso(30))
    assert refused.outcome == "error" and refused.error == "invalid_time"
    assert all(d > datetime.now(UTC) for d in future_examples(refused.message))


mcp = pytest.importorskip("mcp", reason="the 'mcp' extra is not installed")

from mcp.shared.memory import create_connected_server_and_client_session  # noqa: E402

from agentdraft_agents.mcp_server import build_server, package_version  # noqa: E402


def with_session(client: Any, body: Any) -> Any:
    async def main() -> Any:
        async with create_connected_server_and_client_session(build_server(client)) as s:
            return await body(s)

    return asyncio.run(main())


def test_every_mcp_tool_has_a_title_all_four_hints_and_described_arguments(
    local_cal: Calendar,
) -> None:
    async def body(s: Any) -> Any:
        return (await s.list_tools()).tools

    tools = {t.name: t for t in with_session(local_cal.agent(1), body)}
    for t in tools.values():
        hints = t.annotations
        assert t.title and hints is not None, t.name
        assert None not in (
            hints.readOnlyHint,
            hints.destructiveHint,
            hints.idempotentHint,
            hints.openWorldHint,
        ), t.name
        assert t.description and "\n " not in t.description and not t.description[0].isspace()
        for name, prop in t.inputSchema.get("properties", {}).items():
            assert prop.get("description"), f"{t.name}.{name}"
    assert [n for n, t in tools.items() if t.annotations.readOnlyHint] == [
        "whoami",
        "get_availability",
        "get_booking",
        "list_my_bookings",
        "check_approval",
        "get_proposal",
        "list_proposals",
        "list_mail",
        "read_mail",
        "check_suppression",
        "list_counters",
    ]
    # Only mail leaves the coordinator.
    assert [n for n, t in tools.items() if t.annotations.openWorldHint] == [
        "send_mail",
        "reply_mail",
    ]
    assert tools["cancel_booking"].annotations.destructiveHint is True
    assert tools["commit_booking"].annotations.idempotentHint is False


def test_the_server_reports_this_packages_version() -> None:
    options = build_server(object())._mcp_server.create_initialization_options()
    assert options.server_version == package_version() != "1.30.0"


def test_result_text_is_readable_unicode_not_escapes(local_cal: Calendar) -> None:
    local_cal.agent(1).bookings.commit(start=at(0), end=at(30))

    async def body(s: Any) -> Any:
        return await s.call_tool("commit_booking", {"start": iso(0), "end": iso(30)})

    text = with_session(local_cal.agent(2), body).content[0].text
    assert "\\u" not in text and "OUTRANKED — not booked" in json.loads(text)["message"]


def test_a_commit_says_until_when_it_can_be_displaced_in_utc_and_the_owners_time(
    make_local_cal: Any,
) -> None:
    coord = make_local_cal().coord
    cal = Calendar(coord, coord.owners.create(timezone="Europe/Berlin").user_id)
    booked = BookingService(cal.agent(2)).commit(iso(0), iso(30))
    assert booked.outcome == "booked" and booked.bump_until is not None
    until = booked.bump_until
    text = booked.text()
    assert f"displace it until {until.isoformat()} (" in text
    berlin = until.astimezone(ZoneInfo("Europe/Berlin")).isoformat()
    assert f"{berlin} in the owner's timezone Europe/Berlin)" in text
    assert f"agentdraft_get_booking with {booked.booking_id}" in text


def test_get_booking_names_who_displaced_a_commit(local_cal: Calendar) -> None:
    mine = BookingService(local_cal.agent(2))
    booked = mine.commit(iso(0), iso(30))
    sales = local_cal.agent(1)
    winner = sales.bookings.commit(start=at(0), end=at(30))
    state = mine.get_booking(booked.booking_id)
    assert state.outcome == "booking" and state.status == "EVICTED"
    assert (state.ended_by_agent_id, state.ended_by_priority) == (sales.agent_id, 1)
    assert state.ended_by_agent_name == "p1"
    assert state.text().startswith(f"Booking {booked.booking_id} from ")
    assert (
        f"agent p1 (priority 1; id {sales.agent_id}) displaced it with {winner.booking_id}"
        in state.text()
    )
    assert mine.get_booking(winner.booking_id).status == "COMMITTED"


def test_a_hold_can_last_long_enough_to_ask_a_person_and_says_when_it_lapses(
    local_cal: Calendar,
) -> None:
    service = BookingService(local_cal.agent(2))
    held = specs.HOLD.invoke(service, {"start": iso(0), "end": iso(30), "ttl_seconds": 900})
    # Through the official SDK too: the tools send the TTL over its own transport.
    assert held.outcome == "booked" and held.expires_at is not None
    left = (held.expires_at - datetime.now(UTC)).total_seconds()
    assert 800 < left <= 900
    assert f"It lapses at {held.expires_at.isoformat()} unless you commit it." in held.text()


def test_a_hold_longer_than_the_coordinator_allows_is_refused_naming_the_field(
    make_local_cal: Any,
) -> None:
    service = BookingService(make_local_cal().agent(2))
    refused = specs.HOLD.invoke(
        service, {"start": iso(0), "end": iso(30), "ttl_seconds": 2 * 24 * 3600}
    )
    assert (refused.outcome, refused.field) == ("error", "hold_ttl_seconds")


def test_a_missing_mcp_argument_is_a_tool_error_naming_the_field_not_a_pydantic_dump(
    local_cal: Calendar,
) -> None:
    async def body(s: Any) -> Any:
        return await s.call_tool("commit_booking", {"start": iso(0)})

    out = with_session(local_cal.agent(2), body)
    text = out.content[0].text
    assert out.isError and "errors.pydantic.dev" not in text
    assert out.structuredContent["error"] == "invalid_arguments"
    assert out.structuredContent["detail"]["field"] == "end"
    assert json.loads(text)["message"].startswith("ERROR invalid_arguments (end): end: Field")
    assert local_cal.live() == []


def berlin(cal: Calendar) -> Calendar:
    cal.coord.owners.set_timezone(cal.user_id, "Europe/Berlin")
    return cal


BERLIN_10_TO_1030 = (
    "(2031-03-03T11:00:00+01:00 to 2031-03-03T11:30:00+01:00 in the owner's timezone"
)


def test_every_result_text_shows_the_owners_time_beside_utc_and_names_the_winner(
    local_cal: Calendar,
) -> None:
    cal = berlin(local_cal)
    cal.agent(1, name="sales").bookings.commit(start=at(0), end=at(30))
    service = BookingService(cal.agent(2))
    texts = {
        "availability": service.availability(iso(0), iso(60), duration_minutes=30).text(),
        "lost": service.commit(iso(0), iso(30)).text(),
        "booked": service.commit(iso(60), iso(90)).text(),
        "held": specs.HOLD.invoke(service, {"start": iso(120), "end": iso(150)}).text(),
        "listed": service.list_bookings(iso(0), iso(24 * 60)).text(),
    }
    for name, text in texts.items():
        assert "in the owner's timezone Europe/Berlin)" in text, name
    assert "agent sales (priority 1; id agt_" in texts["lost"]
    assert (
        f"2031-03-03T10:00:00+00:00 to 2031-03-03T10:30:00+00:00 {BERLIN_10_TO_1030}"
        in (texts["lost"])
    )
    assert "- 2031-03-03T10:30:00+00:00 to 2031-03-03T11:00:00+00:00 (" in texts["availability"]


def test_a_commit_through_either_client_says_until_when_it_may_be_displaced(
    local_cal: Calendar,
) -> None:
    booked = BookingService(local_cal.agent(2)).commit(iso(0), iso(30))
    assert booked.outcome == "booked" and booked.bump_until is not None
    assert booked.bump_until > datetime.now(UTC)
    assert f"displace it until {booked.bump_until.isoformat()}" in booked.text()


def test_a_hold_longer_than_the_owner_allows_is_refused_and_holds_nothing(
    local_cal: Calendar,
) -> None:
    local_cal.coord.rules.update(local_cal.user_id, max_hold_ttl_seconds=600)
    service = BookingService(local_cal.agent(2))
    refused = specs.HOLD.invoke(service, {"start": iso(0), "end": iso(30), "ttl_seconds": 900})
    assert (refused.outcome, refused.error, refused.field) == (
        "error",
        "hold_ttl_too_long",
        "hold_ttl_seconds",
    )
    assert "max_hold_ttl_seconds=600" in refused.text()
    assert "Nothing was held; call again with a shorter ttl_seconds." in refused.text()
    k = local_cal.coord.store.keys
    assert local_cal.coord.redis.hlen(k.bookings(local_cal.user_id)) == 0


def test_list_my_bookings_shows_only_mine_with_who_displaced_one(local_cal: Calendar) -> None:
    mine = BookingService(local_cal.agent(3))
    kept = mine.commit(iso(120), iso(150))
    lost = mine.commit(iso(0), iso(30))
    local_cal.agent(1, name="recruiter").bookings.commit(start=at(0), end=at(30))
    local_cal.agent(2).bookings.commit(start=at(300), end=at(330))  # not mine
    listed = specs.LIST_MY_BOOKINGS.invoke(mine, {"start": iso(-60), "end": iso(24 * 60)})
    assert listed.outcome == "bookings"
    assert [(b.booking_id, b.status) for b in listed.bookings] == [
        (lost.booking_id, "EVICTED"),
        (kept.booking_id, "COMMITTED"),
    ]
    text = listed.text()
    assert text.startswith("2 booking(s) of yours from ") and ", 1 of them on the calendar:" in text
    assert "displaced it with" in text and "agent recruiter (priority 1; id agt_" in text
    empty = mine.list_bookings(iso(24 * 60), iso(25 * 60))
    assert empty.outcome == "bookings" and empty.text().startswith("You have no bookings from ")
    naive = mine.list_bookings("2031-03-03T10:00:00", iso(30))
    assert (naive.outcome, naive.error) == ("error", "naive_time")


def test_a_past_time_is_refused_with_a_text_that_says_so(local_cal: Calendar) -> None:
    past = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    refused = BookingService(local_cal.agent(2)).commit(
        past.isoformat(), (past + timedelta(minutes=30)).isoformat()
    )
    assert (refused.outcome, refused.error, refused.field) == ("error", "in_the_past", "start")
    assert "is in the past (the coordinator's clock says " in refused.text()
    assert "pick a later slot" in refused.text()
    assert local_cal.live() == []


def test_an_approval_that_lost_its_slot_names_the_winner_and_the_park_says_when_it_lapses(
    local_cal: Calendar,
) -> None:
    cal = berlin(local_cal)
    me = cal.agent(2)
    cal.coord.rules.update(cal.user_id, require_approval={"agent_ids": [me.agent_id]})
    service = BookingService(me)
    parked = service.commit(iso(0), iso(30))
    assert parked.outcome == "error" and parked.error == "consent_required"
    assert parked.expires_at is not None
    assert f"until {parked.expires_at.isoformat()} (" in parked.text()
    assert "in the owner's timezone Europe/Berlin)" in parked.text()
    winner = cal.agent(1, name="sales").bookings.commit(start=at(0), end=at(30))
    cal.coord.approvals.approve(parked.consent_request_id)
    decided = service.check_approval(parked.consent_request_id)
    assert decided.outcome == "approval" and decided.booking_outcome == "conflict"
    assert (decided.winning_booking_id, decided.winning_agent_name) == (winner.booking_id, "sales")
    assert f"({winner.booking_id}) of agent sales (priority 1; id agt_" in decided.text()
