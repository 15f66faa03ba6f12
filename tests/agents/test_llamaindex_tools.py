"""LlamaIndex tools, called by a real ``FunctionAgent`` loop over a scripted LLM.

The agent workflow sends the tool schemas, runs the tools and feeds their
output back; the scripted LLM only decides, reading what a real model reads.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

pytest.importorskip("llama_index.core", reason="the 'llamaindex' extra is not installed")

from llama_index.core.agent.workflow import FunctionAgent

from agentdraft_agents import specs
from agentdraft_agents.llamaindex_tools import get_tools
from agentdraft_agents.results import Result
from agentdraft_agents.testing.llamaindex_llm import ScriptedLLM
from agentdraft_agents.testing.script import Step

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

#: Building a ``FunctionAgent``, LlamaIndex's workflows run ``inspect.getmembers`` over the
#: agent (a pydantic model), which touches pydantic's deprecated attributes.
pytestmark = [
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince20"),
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince211"),
]


def run(client: Any, steps: list[Step], results: list[Result]) -> tuple[Any, ScriptedLLM]:
    llm = ScriptedLLM(steps)
    agent = FunctionAgent(tools=get_tools(client, on_result=results.append), llm=llm)

    async def go() -> Any:
        return await agent.run(user_msg=TASK)

    return asyncio.run(go()), llm


def test_tool_names_and_schemas_match_the_other_frameworks(local_cal: Calendar) -> None:
    tools = get_tools(local_cal.agent(1))
    assert [t.metadata.name for t in tools] == [s.name for s in specs.recommended()]
    assert tools[2].metadata.get_parameters_dict()["required"] == ["start", "end"]


def test_an_agent_that_lost_to_a_better_sibling_books_the_offered_slot(
    local_cal: Calendar,
) -> None:
    sales, me = sibling_holds_ten(local_cal)
    results: list[Result] = []
    out, llm = run(me, lose_then_take_offer(), results)
    assert_took_the_offer(local_cal, sales, me, results, llm.script.seen)
    assert str(out) == ANSWER


def test_arguments_that_do_not_fit_come_back_as_a_sentence_naming_the_field(
    local_cal: Calendar,
) -> None:
    results: list[Result] = []
    _, llm = run(
        local_cal.agent(2),
        missing_end_then_fixed(),
        results,
    )
    assert_missing_end_was_named(results, llm.script.seen)
