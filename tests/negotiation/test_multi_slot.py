"""The multi-slot negotiation graph against real coordinators (every backend).

The organizer and each participant act through their own ``coord.client(key)``;
answers fan out with ``Send`` and really run concurrently against the coordinator,
whose last answer resolves the proposal. Nothing stands in for the coordinator.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from langchain_core.messages import BaseMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

from agentdraft_agents.negotiation import (
    AcceptBestPolicy,
    Answer,
    ChatModelAnswerPolicy,
    MultiSlotContext,
    MultiSlotState,
    Window,
    WindowPolicy,
    build_multi_slot_graph,
    compile_multi_slot_graph,
    multi_slot_input,
)
from agentdraft_agents.testing.langchain_model import ScriptedChatModel, tool_call
from coordinator.proposals import Proposal

from .conftest import BASE, Calendar, at


def setup(cal: Calendar, n: int = 3) -> tuple[Any, Any, list[Any]]:
    top = cal.agent(1, "rival")
    organizer = cal.agent(2, "organizer")
    people = [cal.agent(3 + i, f"participant-{i}") for i in range(n)]
    return top, organizer, people


def run(
    cal: Calendar, organizer: Any, people: list[Any], policies: dict[str, Any], **kw: Any
) -> dict[str, Any]:
    graph = compile_multi_slot_graph()
    ctx = MultiSlotContext(
        organizer=organizer, participants={p.agent_id: p for p in people}, policies=policies
    )
    state = multi_slot_input(
        title="design review",
        duration_minutes=60,
        earliest=at(0),
        latest=at(8 * 60),
        participant_agent_ids=[p.agent_id for p in people],
        **kw,
    )
    return graph.invoke(state, context=ctx)


def proposals(cal: Calendar) -> list[Proposal]:
    return cal.coord.proposals.list(cal.user_id)


def test_everyone_accepts_in_round_one(cal: Calendar) -> None:
    _, organizer, people = setup(cal)
    out = run(cal, organizer, people, {})
    assert out["outcome"] == "confirmed" and out["round"] == 1
    booking = organizer.bookings.get(out["booking_id"])
    assert booking.status == "COMMITTED" and booking.agent_id == organizer.agent_id
    assert out["resolved_slot"]["start_time"] == at(0).isoformat()
    assert sorted(a["agent_id"] for a in out["answers"]) == sorted(p.agent_id for p in people)
    [p] = proposals(cal)
    assert p.status == "confirmed" and len(p.responses) == 3
    kinds = [e.type for e in cal.coord.audit.range(cal.user_id) if e.type.startswith("proposal")]
    assert kinds == ["proposal.created"] + ["proposal.responded"] * 3 + [
        "proposal.resolving",
        "proposal.confirmed",
    ]


def test_answers_fan_out_in_one_step(cal: Calendar) -> None:
    _, organizer, people = setup(cal, n=4)
    graph = compile_multi_slot_graph()
    ctx = MultiSlotContext(organizer=organizer, participants={p.agent_id: p for p in people})
    state = multi_slot_input(
        title="x",
        duration_minutes=30,
        earliest=at(0),
        latest=at(120),
        participant_agent_ids=[p.agent_id for p in people],
    )
    tasks = [
        (e["step"], e["payload"]["name"])
        for e in graph.stream(state, context=ctx, stream_mode="debug")
        if e["type"] == "task"
    ]
    # One superstep holds all four answers: they ran as parallel branches.
    answer_steps = {step for step, name in tasks if name == "answer"}
    assert len(answer_steps) == 1 and [n for _, n in tasks].count("answer") == 4
    assert [n for _, n in tasks] == ["propose"] + ["answer"] * 4 + ["review"]


def test_all_decline_then_the_countered_slot_wins_round_two(cal: Calendar) -> None:
    _, organizer, people = setup(cal)
    afternoon = (at(6 * 60), at(7 * 60))
    # Everyone can only make the afternoon; one of them says so in a counter. Seed 004's
    # scorer confirms round one on the organizer's weights (a counter keeps the proposal
    # alive), but nobody accepted that slot: the graph undoes it and re-proposes.
    only_pm = (Window(*afternoon),)
    policies = {
        people[0].agent_id: WindowPolicy(only_pm, suggest=(afternoon,)),
        people[1].agent_id: WindowPolicy(only_pm),
        people[2].agent_id: WindowPolicy(only_pm),
    }
    out = run(cal, organizer, people, policies)
    assert out["outcome"] == "confirmed" and out["round"] == 2
    assert out["resolved_slot"]["start_time"] == afternoon[0].isoformat()
    first, second = sorted(proposals(cal), key=lambda p: p.created_at)
    assert first.status == "confirmed" and first.resolved_slot.start_time == at(0)
    assert organizer.bookings.get(first.created_event_id).status == "CANCELLED"
    assert out["rounds"][1]["reason"] == "confirmed_without_acceptance"
    assert any(r.counter_slots for r in first.responses)
    assert second.status == "confirmed"
    # The countered slot was offered first in round two, weighted up.
    assert second.slots[0].start_time == afternoon[0] and second.slots[0].weight > 1


def test_bounded_rounds_end_with_no_agreement(cal: Calendar) -> None:
    _, organizer, people = setup(cal, n=2)
    never = (Window(BASE - timedelta(days=30), BASE - timedelta(days=29)),)
    out = run(
        cal, organizer, people, {p.agent_id: WindowPolicy(never) for p in people}, max_rounds=2
    )
    assert out["outcome"] == "no_agreement" and out["round"] == 2
    assert "no agreement after 2 round(s)" in out["detail"]
    assert [p.reason for p in proposals(cal)] == ["all_declined", "all_declined"]
    assert out.get("booking_id") is None
    # Round two never re-offered a slot round one had offered.
    a, b = sorted(proposals(cal), key=lambda p: p.created_at)
    assert not {s.start_time for s in a.slots} & {s.start_time for s in b.slots}


class RivalFirst:
    """Accepts the favourite slot, but first a priority-1 rival really books it, so the
    proposal's resolution (at the organizer's priority 2) must lose that slot."""

    name = "rival-first"

    def __init__(self, rival: Any) -> None:
        self.rival = rival
        self.taken: list[str] = []

    def answer(self, proposal: Proposal, agent_id: str) -> Answer:
        best = min(proposal.slots, key=lambda s: (-s.weight, s.start_time))
        if not self.taken:
            b = self.rival.bookings.commit(start=best.start_time, end=best.end_time)
            self.taken.append(b.booking_id)
        return AcceptBestPolicy().answer(proposal, agent_id)


def test_a_lost_winning_slot_goes_to_the_next_best(cal: Calendar) -> None:
    rival, organizer, people = setup(cal, n=1)
    policy = RivalFirst(rival)
    # Any offered slot will do for this organizer, accepted or not.
    out = run(cal, organizer, people, {people[0].agent_id: policy}, require_acceptance=False)
    assert out["outcome"] == "confirmed" and out["round"] == 1
    assert out["resolved_slot"]["start_time"] == at(60).isoformat()  # the next candidate
    [p] = proposals(cal)
    [lost] = p.failed_slots
    assert lost.slot_id == p.slots[0].id and lost.winning_agent_id == rival.agent_id
    assert lost.winning_booking_id == policy.taken[0]
    assert rival.bookings.get(policy.taken[0]).status == "COMMITTED"


def _accept_second(messages: list[BaseMessage]) -> Any:
    text = next(m.content for m in messages if isinstance(m, HumanMessage))
    ids = [
        line.split(":")[0].strip("- ")
        for line in str(text).splitlines()
        if line.startswith("- slt_")
    ]
    return tool_call("accept_slot", slot_id=ids[1], reason="the later one suits my user")


def test_a_chat_model_decides_the_answers(cal: Calendar) -> None:
    _, organizer, people = setup(cal, n=2)
    careful = ScriptedChatModel(steps=[_accept_second])
    sloppy = ScriptedChatModel(
        steps=[tool_call("accept_slot", slot_id="slt_madeup"), _accept_second]
    )
    policies = {
        people[0].agent_id: ChatModelAnswerPolicy(careful),
        people[1].agent_id: ChatModelAnswerPolicy(sloppy),
    }
    out = run(cal, organizer, people, policies)
    assert out["outcome"] == "confirmed"
    [p] = proposals(cal)
    assert out["resolved_slot"]["id"] == p.slots[1].id
    assert {a["decided_by"] for a in out["answers"]} == {"chat-model"}
    # The made-up slot was sent back once and corrected; nothing unoffered was sent.
    assert [c["args"]["slot_id"] for c in policies[people[1].agent_id].transcript] == [
        "slt_madeup",
        p.slots[1].id,
    ]
    assert len(careful.bound_tools) == 3  # accept_slot, decline, counter


def test_a_model_that_never_answers_properly_declines_not_crashes(cal: Calendar) -> None:
    _, organizer, people = setup(cal, n=1)
    stubborn = ScriptedChatModel(steps=[tool_call("accept_slot", slot_id="slt_nope")] * 2)
    out = run(
        cal, organizer, people, {people[0].agent_id: ChatModelAnswerPolicy(stubborn)}, max_rounds=1
    )
    assert out["outcome"] == "no_agreement"
    assert "slt_nope" in out["answers"][0]["error"]


def test_used_as_a_subgraph_with_a_checkpointer(cal: Calendar) -> None:
    _, organizer, people = setup(cal, n=2)

    class Parent(MultiSlotState, total=False):
        announced: str

    def announce(state: Parent) -> dict[str, Any]:
        return {"announced": f"{state['outcome']} at {state['resolved_slot']['start_time']}"}

    parent = StateGraph(Parent, context_schema=MultiSlotContext)
    parent.add_node("negotiate", build_multi_slot_graph().compile())
    parent.add_node("announce", announce)
    parent.add_edge(START, "negotiate")
    parent.add_edge("negotiate", "announce")
    parent.add_edge("announce", END)
    app = parent.compile(checkpointer=InMemorySaver())
    ctx = MultiSlotContext(organizer=organizer, participants={p.agent_id: p for p in people})
    state = multi_slot_input(
        title="sub",
        duration_minutes=60,
        earliest=at(0),
        latest=at(240),
        participant_agent_ids=[p.agent_id for p in people],
    )
    config = {"configurable": {"thread_id": "multi-slot-1"}}
    out = app.invoke(state, config=config, context=ctx)
    assert out["announced"] == f"confirmed at {at(0).isoformat()}"
    saved = app.get_state(config).values
    assert saved["outcome"] == "confirmed" and saved["booking_id"] == out["booking_id"]


def test_bad_input_is_refused_before_anything_runs() -> None:
    with pytest.raises(ValueError, match="hold at least one meeting"):
        multi_slot_input(
            title="t",
            duration_minutes=60,
            earliest=at(0),
            latest=at(30),
            participant_agent_ids=["agt_x"],
        )
    with pytest.raises(ValueError):
        multi_slot_input(
            title="t",
            duration_minutes=60,
            earliest="2031-03-03T10:00:00",
            latest=at(300),
            participant_agent_ids=["agt_x"],
        )
    with pytest.raises(ValueError):
        multi_slot_input(
            title="t",
            duration_minutes=60,
            earliest=at(0),
            latest=at(300),
            participant_agent_ids=["agt_x"],
            max_rounds=0,
        )
    assert isinstance(at(0), datetime)


def test_the_graph_draws_offline() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from agentdraft_agents.negotiation.drawing import draw_graph, layers

    graph = compile_multi_slot_graph()
    rows = layers(graph)
    assert rows["__start__"] == 0 and rows["propose"] == 1 and rows["answer"] == 2
    assert rows["__end__"] == max(rows.values())
    fig = draw_graph(graph, title="multi-slot")
    assert {t.get_text() for t in fig.axes[0].texts} >= {
        "propose",
        "answer",
        "review",
        "resolve",
        "start",
        "end",
    }
