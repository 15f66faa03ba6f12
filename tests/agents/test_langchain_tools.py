"""LangChain tools, called by ``langchain.agents.create_agent``'s own loop.

A scripted chat model emits the tool calls; the agent graph, tool dispatch,
argument validation and error handling are LangChain's and LangGraph's.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

pytest.importorskip("langchain_core", reason="the 'langchain' extra is not installed")
pytest.importorskip("langchain.agents", reason="the 'langchain' extra is not installed")

from langchain.agents import create_agent
from langchain_core.messages import BaseMessage, ToolMessage

from agentdraft_agents import (
    AvailabilityTool,
    BookingTool,
    ConflictAwareBookingTool,
    OutrankedToolException,
    get_tools,
)
from agentdraft_agents.testing.langchain_model import (
    ScriptedChatModel,
    last_tool_message,
    reply,
    tool_call,
)

from .conftest import Calendar, at, iso


def tool_messages(state: dict[str, Any]) -> list[ToolMessage]:
    return [m for m in state["messages"] if isinstance(m, ToolMessage)]


def run_agent(client: Any, steps: list[Any], **tool_options: Any) -> dict[str, Any]:
    agent = create_agent(ScriptedChatModel(steps=steps), get_tools(client, **tool_options))
    return agent.invoke({"messages": [("user", "Book a 30 minute intro call.")]})


def test_tool_names_and_arguments_match_agentdraft_langchain(local_cal: Calendar) -> None:
    client = local_cal.agent(1)
    shapes = {
        t.name: sorted(t.args)
        for t in (
            AvailabilityTool(client=client),
            BookingTool(client=client),
            ConflictAwareBookingTool(client=client),
        )
    }
    assert shapes == {
        "agentdraft_get_availability": ["duration_minutes", "end", "granularity_minutes", "start"],
        "agentdraft_commit_booking": ["end", "idempotency_key", "start", "title"],
        "agentdraft_commit_booking_safe": ["end", "idempotency_key", "start", "title"],
    }


def test_no_tool_lets_the_model_choose_which_agent_it_acts_as(local_cal: Calendar) -> None:
    tools = get_tools(local_cal.agent(1))
    assert [t.name for t in tools] == [
        "agentdraft_whoami",
        "agentdraft_get_availability",
        "agentdraft_commit_booking_safe",
        "agentdraft_create_hold",
        "agentdraft_release_hold",
        "agentdraft_cancel_booking",
        "agentdraft_get_booking",
        "agentdraft_list_my_bookings",
        "agentdraft_check_approval",
        "agentdraft_counter_offer",
        "agentdraft_list_counters",
        "agentdraft_answer_counter",
    ]
    for t in tools:
        assert not {"agent_id", "user_id", "api_key", "client"} & set(t.args), t.name
    assert len({id(t.service) for t in tools}) == 1


def test_an_agent_books_a_free_slot_and_code_reads_the_artifact(local_cal: Calendar) -> None:
    client = local_cal.agent(1)
    state = run_agent(
        client,
        [
            tool_call("agentdraft_commit_booking_safe", start=iso(0), end=iso(30), title="Intro"),
            reply("Booked."),
        ],
    )
    (msg,) = tool_messages(state)
    assert msg.status == "success" and "Committed booking" in msg.content
    assert msg.artifact["outcome"] == "booked" and msg.artifact["title"] == "Intro"
    assert local_cal.live() == [(client.agent_id, 1)]


def test_a_lost_race_is_a_normal_result_naming_the_winner_and_priority(
    local_cal: Calendar,
) -> None:
    winner = local_cal.agent(1)
    winner.bookings.commit(start=at(0), end=at(30))
    state = run_agent(
        local_cal.agent(2),
        [
            tool_call("agentdraft_commit_booking_safe", start=iso(0), end=iso(30)),
            reply("Lost it."),
        ],
    )
    (msg,) = tool_messages(state)
    assert msg.status == "success"
    assert msg.content.startswith("OUTRANKED")
    assert f"(priority 1; id {winner.agent_id})" in msg.content
    assert msg.artifact["outcome"] == "lost"
    assert (msg.artifact["winning_agent_id"], msg.artifact["your_priority"]) == (winner.agent_id, 2)


def test_the_raising_booking_tool_turns_a_lost_race_into_an_error_message(
    local_cal: Calendar,
) -> None:
    local_cal.agent(1).bookings.commit(start=at(0), end=at(30))
    state = run_agent(
        local_cal.agent(2),
        [
            tool_call("agentdraft_commit_booking", start=iso(0), end=iso(30)),
            reply("Lost it."),
        ],
        conflict_aware=False,
    )
    (msg,) = tool_messages(state)
    assert msg.status == "error" and "OUTRANKED" in msg.content and "priority 1" in msg.content


def test_with_error_handling_off_the_lost_race_reaches_the_caller_with_its_result(
    local_cal: Calendar,
) -> None:
    local_cal.agent(1).bookings.commit(start=at(0), end=at(30))
    tool = BookingTool(client=local_cal.agent(2), handle_tool_error=False)
    with pytest.raises(OutrankedToolException) as err:
        tool.invoke({"start": iso(0), "end": iso(30)})
    assert err.value.result.winning_agent_priority == 1


def test_a_naive_time_comes_back_as_an_error_the_model_fixes_in_one_call(
    local_cal: Calendar,
) -> None:
    owner = local_cal.coord.owners.create(timezone="America/New_York")
    agent = local_cal.coord.agents.create(owner.user_id, name="ny-bot", priority=1)
    client = local_cal.coord.client(agent.api_key)

    def resend_with_offset(messages: list[BaseMessage]) -> Any:
        error = last_tool_message(messages)
        assert error.status == "error"
        # The refusal spells the owner's-zone reading; a model would copy it.
        fixed = "2031-03-03T10:00:00-05:00"
        assert fixed in error.content
        return tool_call(
            "agentdraft_commit_booking_safe", start=fixed, end="2031-03-03T10:30:00-05:00"
        )

    state = run_agent(
        client,
        [
            tool_call(
                "agentdraft_commit_booking_safe",
                start="2031-03-03T10:00:00",
                end="2031-03-03T10:30:00",
            ),
            resend_with_offset,
            reply("Booked at 10:00 New York time."),
        ],
    )
    first, second = tool_messages(state)
    assert "naive_time" in first.content
    assert second.artifact["outcome"] == "booked"
    assert second.artifact["start"] == "2031-03-03T15:00:00Z"


def test_an_agent_holds_then_commits_and_releases_another_hold(local_cal: Calendar) -> None:
    client = local_cal.agent(2)

    def commit_the_hold(messages: list[BaseMessage]) -> Any:
        held = last_tool_message(messages).artifact
        return tool_call("agentdraft_commit_booking_safe", start=held["start"], end=held["end"])

    def release_second(messages: list[BaseMessage]) -> Any:
        return tool_call(
            "agentdraft_release_hold", hold_id=last_tool_message(messages).artifact["booking_id"]
        )

    state = run_agent(
        client,
        [
            tool_call("agentdraft_create_hold", start=iso(0), end=iso(30)),
            commit_the_hold,
            tool_call("agentdraft_create_hold", start=iso(60), end=iso(90)),
            release_second,
            reply("Done."),
        ],
    )
    outcomes = [m.artifact["outcome"] for m in tool_messages(state)]
    assert outcomes == ["booked", "booked", "booked", "released"]
    assert local_cal.live() == [(client.agent_id, 2)]


def test_whoami_reports_the_bound_identity_through_the_agent(local_cal: Calendar) -> None:
    client = local_cal.agent(4)
    state = run_agent(client, [tool_call("agentdraft_whoami"), reply("ok")])
    (msg,) = tool_messages(state)
    assert msg.artifact["agent_id"] == client.agent_id and msg.artifact["priority"] == 4


def test_the_async_agent_loop_uses_the_async_tools(local_cal: Calendar) -> None:
    local_cal.agent(1).bookings.commit(start=at(0), end=at(30))
    agent = create_agent(
        ScriptedChatModel(
            steps=[
                tool_call("agentdraft_commit_booking_safe", start=iso(0), end=iso(30)),
                tool_call("agentdraft_commit_booking_safe", start=iso(60), end=iso(90)),
                reply("Booked the later slot."),
            ]
        ),
        get_tools(local_cal.agent(2)),
    )
    state = asyncio.run(agent.ainvoke({"messages": [("user", "Book it.")]}))
    assert [m.artifact["outcome"] for m in tool_messages(state)] == ["lost", "booked"]
