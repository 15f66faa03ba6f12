"""The lost-race scenario every scripted framework test plays, and what it must end with.

The priority-1 sibling already holds 10:00; the agent under test (priority 2)
asks for it, reads the OUTRANKED text, books the first offer (09:30) and answers.
"""

from __future__ import annotations

from typing import Any

from agentdraft_agents.results import Result
from agentdraft_agents.testing.script import Step, call, take_first_offer

from .conftest import Calendar, at, iso

SAFE = "agentdraft_commit_booking_safe"
TASK = "Book a 30 minute intro call at 10:00 UTC."
ANSWER = "Lost 10:00 to the sales agent; booked 09:30 instead."


def lose_then_take_offer() -> list[Step]:
    """The model's turns: ask for 10:00, book the first offer, answer."""
    return [call(SAFE, start=iso(0), end=iso(30)), take_first_offer(SAFE), ANSWER]


def missing_end_then_fixed() -> list[Step]:
    """The model's turns: a booking call without ``end``, then the corrected call."""
    return [call(SAFE, start=iso(0)), call(SAFE, start=iso(0), end=iso(30)), "Booked."]


def assert_missing_end_was_named(results: list[Result], seen: list[str | None]) -> None:
    """The model read which argument was missing, and only the corrected call ran."""
    assert str(seen[1]).startswith("ERROR invalid_arguments (end): end: Field required.")
    assert [r.outcome for r in results] == ["booked"]


def sibling_holds_ten(cal: Calendar) -> tuple[Any, Any]:
    """``(sales, me)``: the priority-1 agent that holds 10:00, and the priority-2 agent."""
    sales = cal.agent(1)
    sales.bookings.commit(start=at(0), end=at(30))
    return sales, cal.agent(2)


def assert_took_the_offer(
    cal: Calendar, sales: Any, me: Any, results: list[Result], seen: list[str | None]
) -> None:
    """The model read who won, then the calendar has it at 09:30 beside the winner."""
    assert [r.outcome for r in results] == ["lost", "booked"]
    lost_text = seen[1]
    assert lost_text is not None and lost_text.startswith("OUTRANKED")
    assert f"(priority 1; id {sales.agent_id})" in lost_text
    assert results[1].start == at(-30)
    assert cal.live() == [(me.agent_id, 2), (sales.agent_id, 1)]
