"""Google ADK tools, called by a real ``LlmAgent`` through ADK's ``Runner`` over a scripted model.

ADK's own flow sends the declarations, runs the tools and feeds the function
responses back; the scripted ``BaseLlm`` only decides. google-adk lives in its own
test venv (``make test-adk``): it cannot share one with fastapi's current pins.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

pytest.importorskip("google.adk", reason="the 'google-adk' extra is not installed")

from google.adk.agents import LlmAgent
from google.adk.runners import Runner
from google.adk.sessions import InMemorySessionService
from google.genai import types

from agentdraft_agents import specs
from agentdraft_agents.google_adk_tools import get_tools
from agentdraft_agents.results import Result
from agentdraft_agents.testing.google_adk_llm import ScriptedLlm
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


def run(client: Any, steps: list[Step], results: list[Result]) -> tuple[str, ScriptedLlm]:
    llm = ScriptedLlm(steps)
    agent = LlmAgent(name="recruiter", model=llm, tools=get_tools(client, on_result=results.append))

    async def go() -> str:
        sessions = InMemorySessionService()
        session = await sessions.create_session(app_name="demo", user_id="u")
        runner = Runner(agent=agent, app_name="demo", session_service=sessions)
        message = types.Content(role="user", parts=[types.Part(text=TASK)])
        final = ""
        async for event in runner.run_async(
            user_id="u", session_id=session.id, new_message=message
        ):
            if event.is_final_response() and event.content and event.content.parts:
                final = event.content.parts[0].text or ""
        return final

    return asyncio.run(go()), llm


def test_tool_names_and_declarations_match_the_other_frameworks(local_cal: Calendar) -> None:
    tools = get_tools(local_cal.agent(1))
    assert [t.name for t in tools] == [s.name for s in specs.recommended()]
    declaration = tools[2]._get_declaration()
    assert declaration.parameters_json_schema["required"] == ["start", "end"]


def test_an_agent_that_lost_to_a_better_sibling_books_the_offered_slot(
    local_cal: Calendar,
) -> None:
    sales, me = sibling_holds_ten(local_cal)
    results: list[Result] = []
    final, llm = run(me, lose_then_take_offer(), results)
    assert_took_the_offer(local_cal, sales, me, results, llm.script.seen)
    assert final == ANSWER


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
