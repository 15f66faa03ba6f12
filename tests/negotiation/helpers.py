"""Small helpers shared by the negotiation tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agentdraft_agents.negotiation import (
    Choice,
    ChoiceRequest,
    NearestPolicy,
    NegotiationContext,
    SlotPolicy,
)

from .conftest import Calendar


def context(client: Any, **options: Any) -> NegotiationContext:
    return NegotiationContext.for_client(client, **options)


def thread(name: str = "t1") -> dict[str, Any]:
    return {"configurable": {"thread_id": name}}


def ours(cal: Calendar, client: Any) -> list[Any]:
    """Every live booking (held or committed) of one agent, by start, as the owner sees it."""
    k = cal.coord.store.keys
    bookings = [
        cal.coord.bookings.get(cal.user_id, b)
        for b in cal.coord.redis.hkeys(k.bookings(cal.user_id))
    ]
    return sorted(
        (
            b
            for b in bookings
            if b.agent_id == client.agent_id and b.status in ("COMMITTED", "HOLD")
        ),
        key=lambda b: b.start,
    )


@dataclass
class RivalTakesEachPick:
    """A policy whose every pick a better-ranked sibling commits first: a real race lost.

    The rival's commit goes to the real coordinator between the choice and our commit,
    exactly as a faster sibling's would.
    """

    rival: Any
    inner: SlotPolicy = field(default_factory=NearestPolicy)
    name: str = "nearest"

    def choose(self, request: ChoiceRequest) -> Choice:
        choice = self.inner.choose(request)
        if choice.slot is not None:
            self.rival.bookings.commit(start=choice.slot.start, end=choice.slot.end)
        return choice
