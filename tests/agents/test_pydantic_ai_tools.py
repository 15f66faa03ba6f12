"""PydanticAI tools, called by a real ``Agent`` loop driven by a scripted ``FunctionModel``.

The agent's own loop sends the tool schemas, runs the tools with the run's
``deps`` and feeds results back; the scripted model only decides.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("pydantic_ai", reason="the 'pydantic-ai' extra is not installed")

import pydantic_ai.models
from pydantic_ai import Agent
from pydantic_ai.messages import ToolReturnPart

from agentdraft_agents import specs
from agentdraft_agents.core import BookingService
from agentdraft_agents.pydantic_ai_tools import deps, get_tools
from agentdraft_agents.results import Result
from agentdraft_agents.testing.pydantic_ai_model import ScriptedModel
from agentdraft_agents.testing.script import Step, call

from .conftest import Calendar
from .race_script import (
    ANSWER,
    TASK,
    assert_missing_end_was_named,
    assert_took_the_offer,
    lose_then_take_offer,
    missing_end_then_fixed,
    sibling_holds_ten,
)


@pytest.fixture(autouse=True)
def no_real_model() -> Iterator[None]:
    allowed = pydantic_ai.models.ALLOW_MODEL_REQUESTS
    pydantic_ai.models.ALLOW_MODEL_REQUESTS = False
    yield
    pydantic_ai.models.ALLOW_MODEL_REQUESTS = allowed


def agent_for(steps: list[Step]) -> tuple[Agent[BookingService, str], ScriptedModel]:
    model = ScriptedModel(steps)
    return Agent(model, deps_type=BookingService, tools=get_tools()), model


def test_tool_names_and_typed_schemas_match_the_other_frameworks() -> None:
    tools = get_tools()
    assert [t.name for t in tools] == [s.name for s in specs.recommended()]
    schema = tools[2].tool_def.parameters_json_schema
    assert schema["required"] == ["start", "end"]
    assert schema["properties"]["title"]["anyOf"][0] == {"type": "string"}


@pytest.mark.parametrize("flavour", ["run", "run_sync"])
def test_an_agent_that_lost_to_a_better_sibling_books_the_offered_slot(
    local_cal: Calendar, flavour: str
) -> None:
    sales, me = sibling_holds_ten(local_cal)
    results: list[Result] = []
    agent, model = agent_for(lose_then_take_offer())
    service = deps(me, on_result=results.append)
    if flavour == "run":
        out: Any = asyncio.run(agent.run(TASK, deps=service))
    else:
        out = agent.run_sync(TASK, deps=service)
    assert_took_the_offer(local_cal, sales, me, results, model.script.seen)
    assert out.output == ANSWER
    returns = [p for m in out.all_messages() for p in m.parts if isinstance(p, ToolReturnPart)]
    assert [p.metadata["outcome"] for p in returns] == ["lost", "booked"]
    assert returns[0].metadata["winning_agent_id"] == sales.agent_id


def test_one_agent_serves_two_identities_through_deps(local_cal: Calendar) -> None:
    first, second = local_cal.agent(1), local_cal.agent(2)
    agent, _ = agent_for([call("agentdraft_whoami"), "ok", call("agentdraft_whoami"), "ok"])
    seen = [
        agent.run_sync(TASK, deps=deps(c)).all_messages()[2].parts[0].metadata["agent_id"]
        for c in (first, second)
    ]
    assert seen == [first.agent_id, second.agent_id]


def test_arguments_that_do_not_fit_come_back_as_a_sentence_naming_the_field(
    local_cal: Calendar,
) -> None:
    results: list[Result] = []
    agent, model = agent_for(missing_end_then_fixed())
    agent.run_sync(TASK, deps=deps(local_cal.agent(2), on_result=results.append))
    assert_missing_end_was_named(results, model.script.seen)
