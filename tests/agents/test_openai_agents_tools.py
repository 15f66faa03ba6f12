"""OpenAI Agents SDK tools, called by a real ``Runner`` loop driven by a scripted ``agents.Model``.

The SDK's own loop sends the tool schemas, invokes the tools and feeds their
output back; the scripted model only decides, reading what a real model reads.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

pytest.importorskip("agents", reason="the 'openai-agents' extra is not installed")

from agents import Agent, RunConfig, Runner

from agentdraft_agents import specs
from agentdraft_agents.openai_agents_tools import get_tools
from agentdraft_agents.results import Result
from agentdraft_agents.testing.openai_agents_model import ScriptedModel
from agentdraft_agents.testing.script import Step, call, take_first_offer

from .conftest import Calendar, at, iso

SAFE = "agentdraft_commit_booking_safe"
OFFLINE = RunConfig(tracing_disabled=True)


def run(client: Any, steps: list[Step], results: list[Result], *, sync: bool = False) -> Any:
    model = ScriptedModel(steps)
    agent = Agent(name="recruiter", model=model, tools=get_tools(client, on_result=results.append))
    task = "Book a 30 minute intro call at 10:00 UTC."
    if sync:
        out = Runner.run_sync(agent, task, run_config=OFFLINE)
    else:
        out = asyncio.run(Runner.run(agent, task, run_config=OFFLINE))
    out.seen = model.script.seen
    return out


def test_tool_names_and_schemas_match_the_other_frameworks(local_cal: Calendar) -> None:
    tools = get_tools(local_cal.agent(1))
    assert [t.name for t in tools] == [s.name for s in specs.recommended()]
    assert tools[2].name == SAFE
    assert tools[2].params_json_schema["required"] == ["start", "end"]


@pytest.mark.parametrize("sync", [False, True], ids=["Runner.run", "Runner.run_sync"])
def test_an_agent_that_lost_to_a_better_sibling_books_the_offered_slot(
    local_cal: Calendar, sync: bool
) -> None:
    sales = local_cal.agent(1)
    sales.bookings.commit(start=at(0), end=at(30))
    me = local_cal.agent(2)
    results: list[Result] = []
    out = run(
        me,
        [
            call(SAFE, start=iso(0), end=iso(30)),
            take_first_offer(SAFE),
            "Lost 10:00 to the sales agent; booked 09:30 instead.",
        ],
        results,
        sync=sync,
    )
    assert [r.outcome for r in results] == ["lost", "booked"]
    lost_text = out.seen[1]
    assert lost_text.startswith("OUTRANKED") and "(priority 1)" in lost_text
    assert sales.agent_id in lost_text
    assert results[1].start == at(-30)
    assert local_cal.live() == [(me.agent_id, 2), (sales.agent_id, 1)]
    assert out.final_output == "Lost 10:00 to the sales agent; booked 09:30 instead."


def test_arguments_that_do_not_fit_come_back_as_a_sentence_naming_the_field(
    local_cal: Calendar,
) -> None:
    results: list[Result] = []
    out = run(
        local_cal.agent(2),
        [call(SAFE, start=iso(0)), call(SAFE, start=iso(0), end=iso(30)), "Booked."],
        results,
    )
    assert out.seen[1].startswith("ERROR invalid_arguments (end): end: Field required.")
    assert [r.outcome for r in results] == ["booked"]  # the refused call never ran


def test_a_naive_time_comes_back_as_an_error_the_model_fixes(local_cal: Calendar) -> None:
    results: list[Result] = []
    out = run(
        local_cal.agent(2),
        [
            call(SAFE, start="2031-03-03T10:00:00", end="2031-03-03T10:30:00"),
            call(SAFE, start=iso(0), end=iso(30)),
            "Booked.",
        ],
        results,
    )
    assert out.seen[1].startswith("ERROR naive_time (start)")
    assert [r.outcome for r in results] == ["error", "booked"]
