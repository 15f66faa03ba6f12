"""What a model or an MCP host reads about the tools: dates ahead, MCP metadata complete.

A model copies the examples it is shown, so they lie in the future; an MCP host
shows titles and hints to a person deciding what to allow, and the server names
this package's version, not the mcp library's.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
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
        "check_approval",
        "get_proposal",
        "list_proposals",
        "list_mail",
        "read_mail",
        "check_suppression",
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
    assert state.text().startswith(f"Booking {booked.booking_id} (")
    assert f"agent {sales.agent_id} (priority 1) displaced it with {winner.booking_id}" in (
        state.text()
    )
    assert mine.get_booking(winner.booking_id).status == "COMMITTED"


def test_a_hold_can_last_long_enough_to_ask_a_person_and_says_when_it_lapses(
    local_cal: Calendar,
) -> None:
    service = BookingService(local_cal.agent(2))
    held = specs.HOLD.invoke(service, {"start": iso(0), "end": iso(30), "ttl_seconds": 900})
    if local_cal.server_url is not None:  # the official SDK cannot pass a TTL yet
        assert (held.outcome, held.error, held.field) == (
            "error",
            "unsupported",
            "hold_ttl_seconds",
        )
        assert local_cal.live() == [] and "nothing was booked" in held.text()
        return
    assert held.outcome == "booked" and held.expires_at is not None
    left = (held.expires_at - datetime.now(UTC)).total_seconds()
    assert 800 < left <= 900
    assert f"until {held.expires_at.isoformat()}" in held.text()


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
