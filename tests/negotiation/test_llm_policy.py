"""A chat model picks the counter-proposal; its answer is checked before anything is booked.

The model is the repo's scripted one: each step reads what a real model would read
(the numbered offers in the prompt, or the error sent back) and answers with a tool
call, so the policy's own prompt, parsing, validation and correction loop all run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("langgraph", reason="the 'langgraph' extra is not installed")

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from agentdraft_agents.negotiation import (
    ChatModelPolicy,
    InvalidChoice,
    NearestPolicy,
    compile_book_or_negotiate,
    negotiation_input,
)
from agentdraft_agents.results import iso as spell
from agentdraft_agents.testing import offered_slots
from agentdraft_agents.testing.langchain_model import ScriptedChatModel, reply, tool_call

from .conftest import Calendar, at, iso
from .helpers import context, ours

INVENTED = {"start": "2031-03-03T13:07:00Z", "end": "2031-03-03T13:37:00Z"}


class Recorder:
    """Scripted steps that also keep every conversation the model was shown."""

    def __init__(self) -> None:
        self.seen: list[list[BaseMessage]] = []

    def pick(self, index: int, reason: str = "") -> Callable[[list[BaseMessage]], AIMessage]:
        def step(messages: list[BaseMessage]) -> AIMessage:
            self.seen.append(list(messages))
            prompt = next(m for m in messages if isinstance(m, HumanMessage))
            start, end = offered_slots(str(prompt.content))[index]
            return tool_call("choose_slot", start=start, end=end, reason=reason)

        return step

    def say(self, message: AIMessage) -> Callable[[list[BaseMessage]], AIMessage]:
        def step(messages: list[BaseMessage]) -> AIMessage:
            self.seen.append(list(messages))
            return message

        return step


def run(client: Any, *steps: Any, **policy: Any) -> dict[str, Any]:
    model = ScriptedChatModel(steps=list(steps))
    ctx = context(client, policy=ChatModelPolicy(model, **policy))
    return compile_book_or_negotiate().invoke(negotiation_input(iso(0), iso(30)), context=ctx)


def test_the_model_picks_an_offered_slot_and_that_slot_is_booked(local_cal: Calendar) -> None:
    sibling, me = local_cal.agent(1), local_cal.agent(2)
    sibling.bookings.commit(start=at(0), end=at(30))
    rec = Recorder()
    out = run(me, rec.pick(1, reason="mornings are full"))
    assert out["outcome"] == "booked"
    booked = out["attempts"][-1]
    # The model took the second offer, not the nearest-first default.
    assert booked["slot"] == out["offers"][1] != out["offers"][0]
    assert (booked["chosen_by"], booked["choice_reason"]) == ("chat_model", "mornings are full")
    assert [b.start.isoformat() for b in ours(local_cal, me)] == [booked["slot"]["start"]]
    prompt = str(rec.seen[0][1].content)
    assert f"to agent p1 (priority 1; id {sibling.agent_id})" in prompt
    assert [s for s, _ in offered_slots(prompt)] == [o["start"] for o in out["offers"]]


def test_a_slot_that_was_not_offered_is_sent_back_and_the_corrected_pick_booked(
    local_cal: Calendar,
) -> None:
    sibling, me = local_cal.agent(1), local_cal.agent(2)
    sibling.bookings.commit(start=at(0), end=at(30))
    rec = Recorder()
    out = run(me, rec.say(tool_call("choose_slot", **INVENTED)), rec.pick(0))
    assert out["outcome"] == "booked" and out["booked"] == out["offers"][0]
    correction = rec.seen[1][-1]
    assert isinstance(correction, ToolMessage) and correction.status == "error"
    assert "not one of the offered slots" in str(correction.content)
    assert [b.start for b in ours(local_cal, me)] == [at(-30)]


def test_a_model_that_keeps_missing_the_offers_raises_and_books_nothing(
    local_cal: Calendar,
) -> None:
    sibling, me = local_cal.agent(1), local_cal.agent(2)
    sibling.bookings.commit(start=at(0), end=at(30))
    with pytest.raises(InvalidChoice, match="not one of the offered slots") as err:
        run(me, reply("Let's do 13:07."), tool_call("choose_slot", **INVENTED))
    assert err.value.answer == (INVENTED["start"], INVENTED["end"])
    assert at(-30) in [o.start for o in err.value.offers]
    assert ours(local_cal, me) == []


def test_with_a_fallback_the_deterministic_policy_decides_instead(local_cal: Calendar) -> None:
    sibling, me = local_cal.agent(1), local_cal.agent(2)
    sibling.bookings.commit(start=at(0), end=at(30))
    out = run(
        me, reply("Let's do 13:07."), tool_call("choose_slot", **INVENTED), fallback=NearestPolicy()
    )
    assert out["outcome"] == "booked" and out["booked"]["start"] == spell(at(-30))
    assert "fallback" in out["attempts"][-1]["choice_reason"]


def test_a_model_that_declines_every_offer_ends_the_negotiation(local_cal: Calendar) -> None:
    sibling, me = local_cal.agent(1), local_cal.agent(2)
    sibling.bookings.commit(start=at(0), end=at(30))
    out = run(me, tool_call("decline_all", reason="Ada is only free at 10:00"))
    assert out["outcome"] == "no_alternatives"
    assert "Ada is only free at 10:00" in out["detail"]
    assert ours(local_cal, me) == []
