"""Microsoft Agent Framework tools, called by a real ``Agent`` over a scripted chat client.

The framework's own function-invocation layer runs the tools and its approval
flow pauses the run; the scripted client only decides. The owner's approval gate
maps onto that flow: a parked booking pauses the run with a user-input request,
and the person's decision, recorded with the coordinator, books or stands down.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

pytest.importorskip("agent_framework", reason="the 'agent-framework' extra is not installed")

from agent_framework import Agent

from agentdraft_agents import specs
from agentdraft_agents.agent_framework_tools import consent_request_id, decide, get_tools
from agentdraft_agents.results import ApprovalStatus, Result
from agentdraft_agents.testing.agent_framework_client import ScriptedChatClient
from agentdraft_agents.testing.script import Step, Turn, call

from .conftest import Calendar, iso
from .race_script import (
    ANSWER,
    SAFE,
    TASK,
    assert_took_the_offer,
    lose_then_take_offer,
    sibling_holds_ten,
)

CHECK = "agentdraft_check_approval"


def agent_for(client: Any, steps: list[Step], results: list[Result]) -> tuple[Agent, Any]:
    model = ScriptedChatClient(steps)
    return Agent(client=model, tools=get_tools(client, on_result=results.append)), model


def check_the_request(text: str) -> Turn:
    """After ``consent_required``: ask for the decision on the request the text names."""
    found = re.search(r"\(request (\S+)\)", text)
    assert found, text
    return call(CHECK, consent_request_id=found[1])


def test_tool_names_follow_the_other_frameworks_plus_the_approval_gate(
    local_cal: Calendar,
) -> None:
    tools = get_tools(local_cal.agent(1))
    assert [t.name for t in tools] == [s.name for s in specs.recommended()]
    assert [t.approval_mode for t in tools].count("always_require") == 1
    gated = [t.name for t in tools if t.approval_mode == "always_require"]
    assert gated == ["agentdraft_check_approval"]
    assert tools[2].parameters()["properties"]["start"]["description"].startswith("Meeting start")


def test_an_agent_that_lost_to_a_better_sibling_books_the_offered_slot(
    local_cal: Calendar,
) -> None:
    sales, me = sibling_holds_ten(local_cal)
    results: list[Result] = []
    agent, model = agent_for(me, lose_then_take_offer(), results)
    out = asyncio.run(agent.run(TASK))
    assert_took_the_offer(local_cal, sales, me, results, model.script.seen)
    assert out.text == ANSWER


def gated_run(cal: Calendar, results: list[Result], final: str) -> tuple[Any, ...]:
    """The agent commits 10:00 under the owner's approval gate; the run must pause."""
    me = cal.agent(2)
    cal.coord.rules.update(cal.user_id, require_approval={"agent_ids": [me.agent_id]})
    agent, model = agent_for(
        me, [call(SAFE, start=iso(0), end=iso(30)), check_the_request, final], results
    )
    session = agent.create_session()
    paused = asyncio.run(agent.run(TASK, session=session))
    (request,) = paused.user_input_requests
    assert request.type == "function_approval_request"
    assert consent_request_id(request) == results[0].consent_request_id
    assert [r.outcome for r in results] == ["error"]  # paused before the check ran
    assert results[0].error == "consent_required" and results[0].hold_id
    return me, agent, session, request, model


def test_a_parked_booking_pauses_the_run_and_the_persons_approval_books_it(
    local_cal: Calendar,
) -> None:
    cal = local_cal
    results: list[Result] = []
    me, agent, session, request, _ = gated_run(cal, results, "Approved and booked.")
    done = asyncio.run(agent.run(decide(request, True, cal.coord.approvals), session=session))
    (status,) = [r for r in results if isinstance(r, ApprovalStatus)]
    assert status.status == "approved" and status.booking_outcome == "committed"
    assert status.text().startswith("APPROVED")
    assert cal.live() == [(me.agent_id, 2)]
    assert done.text == "Approved and booked."


def test_a_denial_releases_the_hold_and_the_model_stands_down(local_cal: Calendar) -> None:
    cal = local_cal
    results: list[Result] = []
    _, agent, session, request, model = gated_run(cal, results, "The person said no.")
    hold_id = results[0].hold_id
    done = asyncio.run(agent.run(decide(request, False, cal.coord.approvals), session=session))
    assert [r.outcome for r in results] == ["error"]  # the check never ran: the call was rejected
    assert cal.coord.approvals.get(results[0].consent_request_id)["status"] == "denied"
    assert cal.coord.bookings.get(cal.user_id, hold_id).status != "HELD"
    assert cal.live() == []
    assert "rejected" in model.script.seen[-1]
    assert done.text == "The person said no."
