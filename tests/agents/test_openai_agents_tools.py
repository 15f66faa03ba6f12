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
from agentdraft_agents.testing.script import Step, call

from .conftest import Calendar, iso
from .race_script import (
    ANSWER,
    SAFE,
    TASK,
    assert_missing_end_was_named,
    assert_took_the_offer,
    lose_then_take_offer,
    missing_end_then_fixed,
    sibling_holds_ten,
)

OFFLINE = RunConfig(tracing_disabled=True)


def run(client: Any, steps: list[Step], results: list[Result], *, sync: bool = False) -> Any:
    model = ScriptedModel(steps)
    agent = Agent(name="recruiter", model=model, tools=get_tools(client, on_result=results.append))
    if sync:
        out = Runner.run_sync(agent, TASK, run_config=OFFLINE)
    else:
        out = asyncio.run(Runner.run(agent, TASK, run_config=OFFLINE))
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
    sales, me = sibling_holds_ten(local_cal)
    results: list[Result] = []
    out = run(me, lose_then_take_offer(), results, sync=sync)
    assert_took_the_offer(local_cal, sales, me, results, out.seen)
    assert out.final_output == ANSWER


def test_arguments_that_do_not_fit_come_back_as_a_sentence_naming_the_field(
    local_cal: Calendar,
) -> None:
    results: list[Result] = []
    out = run(
        local_cal.agent(2),
        missing_end_then_fixed(),
        results,
    )
    assert_missing_end_was_named(results, out.seen)


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
