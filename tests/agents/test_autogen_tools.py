"""AutoGen tools, called by a real ``AssistantAgent`` driven by a replay model client.

The agent's own loop sends the tool schemas, executes the calls through its
workbench, and feeds results (and errors) back; the replay client only decides.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("autogen_agentchat", reason="the 'autogen' extra is not installed")
pytest.importorskip("autogen_ext.models.replay", reason="the 'autogen' extra is not installed")

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.base import TaskResult
from autogen_core.models import LLMMessage

from agentdraft_agents.autogen_tools import get_tools
from agentdraft_agents.results import Result
from agentdraft_agents.testing import offered_slots
from agentdraft_agents.testing.autogen_replay import (
    ReactiveReplayClient,
    last_tool_result,
    tool_call,
)

from .conftest import Calendar, at, iso

SAFE = "agentdraft_commit_booking_safe"


def take_first_offer(tool: str, seen: list[tuple[str, bool]]) -> Callable[..., Any]:
    """After losing, book the first slot the tool's text offered."""

    def step(messages: list[LLMMessage]) -> Any:
        text, is_error = last_tool_result(messages)
        seen.append((text, is_error))
        start, end = offered_slots(text)[0]
        return tool_call(tool, start=start, end=end)

    return step


def run(client: Any, steps: list[Any], results: list[Result], **tool_options: Any) -> TaskResult:
    agent = AssistantAgent(
        "recruiter",
        model_client=ReactiveReplayClient(steps),
        tools=get_tools(client, on_result=results.append, **tool_options),  # type: ignore[arg-type]
        max_tool_iterations=4,
    )
    return asyncio.run(agent.run(task="Book a 30 minute intro call at 10:00 UTC."))


def test_tool_names_match_the_other_frameworks(local_cal: Calendar) -> None:
    assert [t.name for t in get_tools(local_cal.agent(1))] == [
        "agentdraft_whoami",
        "agentdraft_get_availability",
        SAFE,
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


def test_an_assistant_that_lost_to_a_better_sibling_books_the_offered_slot(
    local_cal: Calendar,
) -> None:
    sales = local_cal.agent(1)
    sales.bookings.commit(start=at(0), end=at(30))
    me = local_cal.agent(2)
    results: list[Result] = []
    seen: list[tuple[str, bool]] = []
    out = run(
        me,
        [
            tool_call(SAFE, start=iso(0), end=iso(30)),
            take_first_offer(SAFE, seen),
            "Lost 10:00 to the sales agent; booked 09:30 instead. TERMINATE",
        ],
        results,
    )
    assert [r.outcome for r in results] == ["lost", "booked"]
    text, is_error = seen[0]
    assert not is_error and text.startswith("OUTRANKED") and "(priority 1; id agt_" in text
    assert results[1].start == at(-30)
    assert local_cal.live() == [(me.agent_id, 2), (sales.agent_id, 1)]
    assert "booked 09:30" in str(out.messages[-1].content)


def test_the_plain_booking_tool_hands_the_loss_to_the_model_as_an_error(
    local_cal: Calendar,
) -> None:
    local_cal.agent(1).bookings.commit(start=at(0), end=at(30))
    results: list[Result] = []
    seen: list[tuple[str, bool]] = []
    tool = "agentdraft_commit_booking"
    run(
        local_cal.agent(2),
        [
            tool_call(tool, start=iso(0), end=iso(30)),
            take_first_offer(tool, seen),
            "Done.",
        ],
        results,
        conflict_aware=False,
    )
    assert [r.outcome for r in results] == ["lost", "booked"]
    assert seen[0][1] is True and "OUTRANKED" in seen[0][0]


def test_a_naive_time_comes_back_as_an_error_the_model_fixes(local_cal: Calendar) -> None:
    results: list[Result] = []

    def with_offset(messages: list[LLMMessage]) -> Any:
        text, is_error = last_tool_result(messages)
        assert is_error and "naive_time" in text
        return tool_call(SAFE, start=iso(0), end=iso(30))

    run(
        local_cal.agent(2),
        [
            tool_call(SAFE, start="2031-03-03T10:00:00", end="2031-03-03T10:30:00"),
            with_offset,
            "Booked.",
        ],
        results,
    )
    assert [r.outcome for r in results] == ["error", "booked"]
