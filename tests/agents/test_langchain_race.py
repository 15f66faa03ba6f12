"""A LangChain agent loses a race to a better-ranked sibling and recovers onto an offer.

Both agents are ``langchain.agents.create_agent`` loops over the same calendar; the
loser's scripted model reads the tool's text (what a real model reads), takes the
first offered slot and books it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("langchain.agents", reason="the 'langchain' extra is not installed")

from langchain.agents import create_agent
from langchain_core.messages import BaseMessage, ToolMessage

from agentdraft_agents import get_tools
from agentdraft_agents.testing import offered_slots
from agentdraft_agents.testing.langchain_model import (
    ScriptedChatModel,
    last_tool_message,
    reply,
    tool_call,
)

from .conftest import Calendar, at, iso

SAFE = "agentdraft_commit_booking_safe"


def take_first_offer(tool: str) -> Callable[[list[BaseMessage]], Any]:
    """The step a model takes after losing: book the first slot the tool offered."""

    def step(messages: list[BaseMessage]) -> Any:
        offers = offered_slots(str(last_tool_message(messages).content))
        if not offers:  # it won after all: nothing to recover from
            return reply("Booked the slot I asked for.")
        start, end = offers[0]
        return tool_call(tool, start=start, end=end)

    return step


def booker(client: Any, tool: str = SAFE, **tool_options: Any) -> Any:
    """An agent that tries 10:00-10:30, and on losing takes the first offer."""
    model = ScriptedChatModel(
        steps=[
            tool_call(tool, start=iso(0), end=iso(30), title="Intro call"),
            take_first_offer(tool),
            reply("Done."),
        ]
    )
    return create_agent(model, get_tools(client, conflict_aware=tool == SAFE, **tool_options))


def tool_results(state: dict[str, Any]) -> list[ToolMessage]:
    return [m for m in state["messages"] if isinstance(m, ToolMessage)]


def assert_recovered(cal: Calendar, loser_state: dict[str, Any]) -> None:
    lost, rebooked = tool_results(loser_state)[:2]
    assert lost.artifact["outcome"] == "lost"
    assert lost.artifact["winning_agent_id"] == cal.clients[1].agent_id
    assert (lost.artifact["winning_agent_priority"], lost.artifact["your_priority"]) == (1, 2)
    first_offer = lost.artifact["alternatives"][0]
    assert rebooked.artifact["outcome"] == "booked"
    assert (rebooked.artifact["start"], rebooked.artifact["end"]) == (
        first_offer["start"],
        first_offer["end"],
    )
    # Exactly two bookings: the winner at 10:00, the loser on the offered 09:30.
    assert cal.live() == [(cal.clients[2].agent_id, 2), (cal.clients[1].agent_id, 1)]
    assert cal.coord.bookings.get(cal.user_id, rebooked.artifact["booking_id"]).start == at(-30)


def test_an_agent_that_lost_to_a_better_sibling_books_the_offered_slot(
    local_cal: Calendar,
) -> None:
    sibling, me = local_cal.agent(1), local_cal.agent(2)
    booker(sibling).invoke({"messages": [("user", "Book the intro call.")]})
    state = booker(me).invoke({"messages": [("user", "Book the intro call.")]})
    assert_recovered(local_cal, state)
    assert "OUTRANKED" in tool_results(state)[0].content


def test_the_raising_tool_recovers_the_same_way_from_its_error_message(
    local_cal: Calendar,
) -> None:
    sibling, me = local_cal.agent(1), local_cal.agent(2)
    sibling.bookings.commit(start=at(0), end=at(30))
    state = booker(me, tool="agentdraft_commit_booking").invoke(
        {"messages": [("user", "Book the intro call.")]}
    )
    lost, rebooked = tool_results(state)
    assert lost.status == "error" and "OUTRANKED" in lost.content
    assert rebooked.status == "success" and "Committed booking" in rebooked.content
    assert len(local_cal.live()) == 2


def test_async_agents_racing_at_once_leave_the_better_one_the_slot_and_the_other_an_offer(
    make_local_cal: Callable[..., Calendar],
) -> None:
    # The arbitration window decides by rank whichever write lands first; the top
    # agent never waits for it, so the window only delays the loser's rebooking.
    cal = make_local_cal(arbitration_window_ms=1000)
    sibling, me = cal.agent(1), cal.agent(2)

    async def race() -> list[dict[str, Any]]:
        msgs = {"messages": [("user", "Book the intro call.")]}
        return await asyncio.gather(booker(me).ainvoke(msgs), booker(sibling).ainvoke(msgs))

    mine, theirs = asyncio.run(race())
    assert [m.artifact["outcome"] for m in tool_results(theirs)] == ["booked"]
    assert_recovered(cal, mine)
