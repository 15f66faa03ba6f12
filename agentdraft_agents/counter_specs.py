"""Counter-offer tools: a lost race is not a dead end.

After an OUTRANKED answer the losing agent may offer the winning booking's agent up to
five other times (``agentdraft_counter_offer``); the winner's agent lists the offers
on its bookings and accepts one (its booking moves there, atomically) or rejects it
(``agentdraft_list_counters``, ``agentdraft_answer_counter``). The offering agent
reads the answer with the list tool too. Calls go to ``client.bookings.counter`` and
friends on the in-process client, or to the server's ``/v1/bookings/{id}/counter…``
endpoints through the official SDK's request method (SDK 0.1.3 has no counter calls).

These specs join the recommended set of every adapter and MCP through
:data:`agentdraft_agents.specs.EXTRA_SPECS` (registered when this module is imported,
which ``import agentdraft_agents`` does).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from . import specs
from .core import BookingService, TimeInputError, parse_time
from .results import CounterList, CounterState, Failed, Slot
from .specs import TIME_FORMAT, ToolSpec

#: What a counter may hold (the coordinator refuses more, naming the field).
MAX_PROPOSED, MAX_NOTE = 5, 500


class ProposedSlot(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: str = Field(description=f"Start, {TIME_FORMAT}")
    end: str = Field(description="End, same format")


class CounterOfferInput(BaseModel):
    booking_id: str = Field(
        description="The winning booking's id (bkg_…), as the OUTRANKED answer names it"
    )
    proposed: list[ProposedSlot] = Field(
        min_length=1, max_length=MAX_PROPOSED, description="1 to 5 other times you could take"
    )
    note: str | None = Field(
        default=None, max_length=MAX_NOTE, description="A short note for the other agent"
    )


class ListCountersInput(BaseModel):
    booking_id: str = Field(description="Your booking's id, or the booking you countered")
    counter_id: str | None = Field(
        default=None, description="Your own counter-offer's id (cnt_…) to read its answer"
    )


class AnswerCounterInput(BaseModel):
    booking_id: str = Field(description="Your booking's id (bkg_…)")
    counter_id: str = Field(description="The counter-offer's id (cnt_…)")
    decision: Literal["accept", "reject"] = Field(description="accept or reject")
    slot_index: int | None = Field(
        default=None, description="To accept: which offered slot, 0-based, as listed"
    )


def _state(raw: Any, me: str) -> CounterState:
    """One counter, from the coordinator's model or the server's JSON."""
    c = raw.model_dump(mode="json") if hasattr(raw, "model_dump") else dict(raw)
    return CounterState(
        counter_id=c["counter_id"],
        booking_id=c["booking_id"],
        agent_id=c["agent_id"],
        winner_agent_id=c["winner_agent_id"],
        proposed=[Slot(start=p["start"], end=p["end"]) for p in c["proposed"]],
        note=c.get("note"),
        status=c["status"],
        slot_index=c.get("slot_index"),
        new_booking_id=c.get("new_booking_id"),
        mine=c["agent_id"] == me,
    )


class CounterCalls:
    """One agent's counter-offer calls, as tool results (:class:`Failed` for what the
    model can fix: a 409 naming who took a slot, a decided counter, a bad index)."""

    def __init__(self, service: BookingService) -> None:
        self.service = service
        self.client = service.client

    def _me(self) -> str:
        return str(getattr(self.client, "agent_id", None) or self.client.agents.me().agent_id)

    def _http(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """The server's endpoint through the official SDK (its ``_request``)."""
        return self.client._request(method, path, json=body)[1]

    def offer(
        self, booking_id: str, proposed: list[Any], note: str | None
    ) -> CounterState | Failed:
        try:
            slots = [
                {
                    "start": parse_time(_get(p, "start"), f"proposed[{i}].start").isoformat(),
                    "end": parse_time(_get(p, "end"), f"proposed[{i}].end").isoformat(),
                }
                for i, p in enumerate(proposed)
            ]
        except TimeInputError as exc:
            return Failed(error=exc.code, message=exc.message, field=exc.field, status=422)
        try:
            if hasattr(self.client.bookings, "counter"):
                raw = self.client.bookings.counter(booking_id, proposed=slots, note=note)
            else:
                raw = self._http(
                    "POST", f"/v1/bookings/{booking_id}/counter", {"proposed": slots, "note": note}
                )
            return _state(raw, self._me())
        except Exception as exc:
            return self.service.failed(exc)

    def list(self, booking_id: str, counter_id: str | None) -> CounterList | CounterState | Failed:
        try:
            me = self._me()
            if counter_id:
                if hasattr(self.client.bookings, "get_counter"):
                    return _state(self.client.bookings.get_counter(booking_id, counter_id), me)
                return _state(
                    self._http("GET", f"/v1/bookings/{booking_id}/counters/{counter_id}"), me
                )
            if hasattr(self.client.bookings, "counters"):
                raw = self.client.bookings.counters(booking_id)
            else:
                raw = self._http("GET", f"/v1/bookings/{booking_id}/counters")["counters"]
            return CounterList(booking_id=booking_id, counters=[_state(c, me) for c in raw])
        except Exception as exc:
            return self.service.failed(exc)

    def answer(
        self, booking_id: str, counter_id: str, decision: str, slot_index: int | None
    ) -> CounterState | Failed:
        if decision == "accept" and slot_index is None:
            return Failed(
                error="invalid_arguments",
                field="slot_index",
                status=422,
                message="to accept, name the offered slot you take (slot_index, 0-based); "
                "nothing was changed.",
            )
        base = f"/v1/bookings/{booking_id}/counters/{counter_id}"
        local = hasattr(self.client.bookings, "accept_counter")
        try:
            if decision == "accept":
                raw = (
                    self.client.bookings.accept_counter(
                        booking_id, counter_id, slot_index=slot_index
                    )
                    if local
                    else self._http("POST", f"{base}/accept", {"slot_index": slot_index})
                )
            else:
                raw = (
                    self.client.bookings.reject_counter(booking_id, counter_id)
                    if local
                    else self._http("POST", f"{base}/reject")
                )
            return _state(raw, self._me())
        except Exception as exc:
            return self.service.failed(exc)


def _get(slot: Any, key: str) -> Any:
    return slot.get(key) if isinstance(slot, dict) else getattr(slot, key)


COUNTER_OFFER = ToolSpec(
    "agentdraft_counter_offer",
    "After losing a slot (an OUTRANKED answer), offer the winning booking's agent up to 5 "
    "other times instead, with a short note. If it accepts one, its booking moves there "
    "and the slot you wanted opens: book it then. Nothing is booked for you by this call; "
    "read the answer with agentdraft_list_counters (booking_id and your counter_id).",
    CounterOfferInput,
    lambda svc, a: CounterCalls(svc).offer(a.booking_id, a.proposed, a.note),
)
LIST_COUNTERS = ToolSpec(
    "agentdraft_list_counters",
    "List the counter-offers other agents made on one of your bookings (each with its "
    "counter_id and numbered slots), or pass counter_id to read the answer to a "
    "counter-offer you made.",
    ListCountersInput,
    lambda svc, a: CounterCalls(svc).list(a.booking_id, a.counter_id),
)
ANSWER_COUNTER = ToolSpec(
    "agentdraft_answer_counter",
    "Answer a counter-offer on one of your bookings, once: accept with the slot_index you "
    "take (your booking moves there in one step; if another agent took that time "
    "meanwhile, nothing moves and you are told who), or reject it (your booking stays).",
    AnswerCounterInput,
    lambda svc, a: CounterCalls(svc).answer(a.booking_id, a.counter_id, a.decision, a.slot_index),
)

#: The counter tools, in the order an agent is shown them.
COUNTER_SPECS = (COUNTER_OFFER, LIST_COUNTERS, ANSWER_COUNTER)
for _spec in COUNTER_SPECS:
    if _spec not in specs.EXTRA_SPECS:
        specs.EXTRA_SPECS.append(_spec)

__all__ = [
    "ANSWER_COUNTER",
    "COUNTER_OFFER",
    "COUNTER_SPECS",
    "LIST_COUNTERS",
    "AnswerCounterInput",
    "CounterCalls",
    "CounterOfferInput",
    "ListCountersInput",
    "ProposedSlot",
]
