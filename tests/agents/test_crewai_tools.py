"""CrewAI tools, called by a real Crew: two ranked agents compete for one slot.

CrewAI's own executor parses the scripted LLM's native tool calls, validates the
arguments, runs the tools and feeds their text back; the LLM only decides.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

# conftest.py has set CrewAI's offline switches before this import.
pytest.importorskip("crewai", reason="the 'crewai' extra is not installed")

from crewai import Agent, Crew, Process, Task

from agentdraft_agents.crewai_tools import get_tools
from agentdraft_agents.results import Result
from agentdraft_agents.testing import offered_slots
from agentdraft_agents.testing.crewai_llm import ScriptedLLM, last_tool_result, tool_call

from .conftest import Calendar, at, iso

SAFE = "agentdraft_commit_booking_safe"
#: CrewAI reads its own deprecated fields (function_calling_llm, allow_code_execution, …)
#: on every kickoff; nothing of ours sets them.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:crewai")


def take_first_offer(tool: str, seen: list[str]) -> Callable[[Any], Any]:
    """After losing, book the first slot the tool's text offered (what a model reads)."""

    def step(messages: Any) -> Any:
        text = last_tool_result(messages)
        seen.append(text)
        start, end = offered_slots(text)[0]
        return tool_call(tool, start=start, end=end)

    return step


def agent(
    role: str, client: Any, steps: list[Any], results: list[Result], **tool_options: Any
) -> Agent:
    return Agent(
        role=role,
        goal="Book a 30 minute intro call",
        backstory="Schedules for the owner.",
        llm=ScriptedLLM(steps=steps),
        tools=get_tools(client, on_result=results.append, **tool_options),
        max_iter=5,
        verbose=False,
    )


def task(a: Agent) -> Task:
    return Task(
        description="Book the intro call at 10:00 UTC.", expected_output="What was booked", agent=a
    )


def test_tool_names_match_the_langchain_tools_and_take_no_identity(local_cal: Calendar) -> None:
    tools = get_tools(local_cal.agent(1))
    assert [t.name for t in tools] == [
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
    for t in tools:
        assert not {"agent_id", "user_id", "api_key"} & set(t.args_schema.model_fields)


def test_a_crew_of_two_the_lower_ranked_agent_loses_and_books_the_offered_slot(
    local_cal: Calendar,
) -> None:
    sales, recruiter = local_cal.agent(1, "sales"), local_cal.agent(2, "recruiter")
    results: list[Result] = []
    seen: list[str] = []
    a1 = agent(
        "Sales", sales, [tool_call(SAFE, start=iso(0), end=iso(30)), "Booked 10:00."], results
    )
    a2 = agent(
        "Recruiter",
        recruiter,
        [
            tool_call(SAFE, start=iso(0), end=iso(30)),  # same tool, same arguments: not cached
            take_first_offer(SAFE, seen),
            "Lost 10:00 to the sales agent; booked 09:30 instead.",
        ],
        results,
    )
    out = Crew(
        agents=[a1, a2], tasks=[task(a1), task(a2)], process=Process.sequential, verbose=False
    ).kickoff()
    assert [r.outcome for r in results] == ["booked", "lost", "booked"]
    lost = results[1]
    assert (lost.winning_agent_id, lost.winning_agent_priority, lost.your_priority) == (
        sales.agent_id,
        1,
        2,
    )
    assert seen[0].startswith("OUTRANKED") and "(priority 1; id agt_" in seen[0]
    assert results[2].start == lost.alternatives[0].start == at(-30)
    assert local_cal.live() == [(recruiter.agent_id, 2), (sales.agent_id, 1)]
    assert out.raw.startswith("Lost 10:00")


def test_the_plain_booking_tool_reports_the_loss_as_a_tool_failure(local_cal: Calendar) -> None:
    local_cal.agent(1).bookings.commit(start=at(0), end=at(30))
    results: list[Result] = []
    tool = "agentdraft_commit_booking"
    a = agent(
        "Recruiter",
        local_cal.agent(2),
        [
            tool_call(tool, start=iso(0), end=iso(30)),
            take_first_offer(tool, []),
            "Rebooked.",
        ],
        results,
        conflict_aware=False,
    )
    t = task(a)
    Crew(agents=[a], tasks=[t], verbose=False).kickoff()
    assert [r.outcome for r in results] == ["lost", "booked"]
    failures = t.output.tool_failures
    assert [(f.tool_name, f.failure.code) for f in failures] == [(tool, "outranked")]


def test_a_naive_time_is_a_tool_failure_the_agent_corrects(local_cal: Calendar) -> None:
    results: list[Result] = []

    def with_offset(messages: Any) -> Any:
        assert "naive_time" in last_tool_result(messages)
        return tool_call(SAFE, start=iso(0), end=iso(30))

    a = agent(
        "Recruiter",
        local_cal.agent(2),
        [
            tool_call(SAFE, start="2031-03-03T10:00:00", end="2031-03-03T10:30:00"),
            with_offset,
            "Booked.",
        ],
        results,
    )
    t = task(a)
    Crew(agents=[a], tasks=[t], verbose=False).kickoff()
    assert [r.outcome for r in results] == ["error", "booked"]
    assert [f.failure.code for f in t.output.tool_failures] == ["naive_time"]


def test_an_async_kickoff_runs_the_same_recovery(local_cal: Calendar) -> None:
    local_cal.agent(1).bookings.commit(start=at(0), end=at(30))
    results: list[Result] = []
    a = agent(
        "Recruiter",
        local_cal.agent(2),
        [
            tool_call(SAFE, start=iso(0), end=iso(30)),
            take_first_offer(SAFE, []),
            "Rebooked.",
        ],
        results,
    )
    asyncio.run(Crew(agents=[a], tasks=[task(a)], verbose=False).akickoff())
    assert [r.outcome for r in results] == ["lost", "booked"]
