"""Multi-slot negotiation as a LangGraph graph: propose, fan out, resolve, or re-propose.

::

    propose ──Send×N──▶ answer ──▶ review ──▶ END (confirmed)
       ▲                              │
       │                              ├──▶ resolve ──▶ END | resolve (next-best) | propose
       └── all declined, expired, nobody accepted, or every slot lost ◀──┘

``propose``: the organizer picks candidate slots (open on the calendar, so inside
the owner's rules; counter slots from the last round first) and opens a proposal.
``answer`` runs once per participant, in parallel (``Send`` fan-out), each with its
own client and :class:`~.answers.AnswerPolicy`; the last answer resolves the
proposal in the coordinator. ``review`` reads the outcome: confirmed ends it; a
resolution that lost its slot goes to ``resolve`` (the next-best slot); everyone
declining, the deadline, or a confirmation nobody accepted (``require_acceptance``:
the booking is cancelled) starts another round, up to ``max_rounds``.

Dependencies come through the runtime context (:class:`MultiSlotContext`), so the
state stays plain data: it checkpoints, and the graph drops into a parent graph
as a node.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send

from coordinator.buckets import parse_time
from coordinator.proposals import Proposal

from ..core import error_code
from .answers import AcceptBestPolicy, AnswerError, AnswerPolicy, check_answer

Outcome = Literal["confirmed", "no_agreement", "no_slots", "lost"]


class MultiSlotState(TypedDict, total=False):
    """The negotiation as plain data (ISO times, ids), safe to checkpoint."""

    #: What to schedule: a title, a length, and the stretch to search.
    title: str
    duration_minutes: int
    earliest: str
    latest: str
    participant_agent_ids: list[str]
    max_rounds: int
    slots_per_round: int
    #: Keep a confirmed slot only if some participant accepted it. Seed 004's scorer
    #: can confirm on the organizer's weights alone (counters and declines add nothing
    #: to a slot); with this on, such a booking is cancelled and the next round offers
    #: the counter slots instead.
    require_acceptance: bool
    #: Progress.
    round: int
    proposal_id: str | None
    #: One entry per participant answer, every round (fan-in through the reducer).
    answers: Annotated[list[dict[str, Any]], operator.add]
    #: One summary per round: the proposal, its slots, what became of it.
    rounds: Annotated[list[dict[str, Any]], operator.add]
    #: The end: outcome, and the booking when confirmed.
    outcome: Outcome
    booking_id: str | None
    resolved_slot: dict[str, str] | None
    detail: str


class AnswerTask(TypedDict):
    """What one fan-out branch gets: which proposal, which participant."""

    proposal_id: str
    agent_id: str
    round: int


#: Codes of an answer that lands too late (the proposal ended, or the resolution began,
#: first), by error code so the graph runs on the in-process client and over HTTP alike.
LATE_ANSWER = frozenset(
    {"proposal_not_pending", "duplicate_response", "resolution_in_progress", "invalid_state"}
)


def _detail(exc: BaseException, name: str) -> Any:
    """A field of an error from either client: an attribute, or a key of its JSON body."""
    value = getattr(exc, name, None)
    if value is None:
        body = getattr(exc, "body", None)
        value = body.get(name) if isinstance(body, dict) else None
    return value


@dataclass
class MultiSlotContext:
    """Who acts: the organizer's client, each participant's client and answer policy.

    Clients are ``coord.client(key)`` objects (anything with ``.proposals`` and
    ``.availability``). A participant without a policy accepts the organizer's
    favourite slot. ``expires_in`` bounds each round in the coordinator.
    """

    organizer: Any
    participants: Mapping[str, Any]
    policies: Mapping[str, AnswerPolicy] = field(default_factory=dict)
    expires_in: timedelta = timedelta(hours=1)
    granularity_minutes: int = 30
    max_resolve_attempts: int = 5


def _iso(d: datetime) -> str:
    return d.isoformat()


def _tried(state: MultiSlotState) -> set[tuple[str, str]]:
    return {
        (s["start_time"], s["end_time"])
        for r in state.get("rounds", [])
        for s in r.get("slots", [])
    }


def candidate_slots(
    state: MultiSlotState, organizer: Any, granularity: int
) -> list[dict[str, Any]]:
    """This round's slots: last round's counter slots that are open (most-asked first),
    then the earliest open slots that overlap none picked, never a slot already proposed."""
    dur = int(state["duration_minutes"])
    lo, hi = parse_time(state["earliest"], "earliest"), parse_time(state["latest"], "latest")
    opened = organizer.availability.list(
        start=lo, end=hi, duration_minutes=dur, granularity_minutes=granularity
    )
    open_slots = [(s.start, s.end) for s in opened]
    is_open = set(open_slots)
    tried = _tried(state)
    asked: dict[tuple[datetime, datetime], int] = {}
    last = state.get("proposal_id")
    for a in state.get("answers", []):
        if a.get("proposal_id") != last:
            continue
        for s, e in a.get("counter_slots", []):
            key = (parse_time(s, "start"), parse_time(e, "end"))
            asked[key] = asked.get(key, 0) + 1
    picked: list[tuple[datetime, datetime, float]] = []
    for (s, e), n in sorted(asked.items(), key=lambda kv: (-kv[1], kv[0][0])):
        if (s, e) in is_open and (_iso(s), _iso(e)) not in tried:
            picked.append((s, e, 1.0 + 0.5 * n))  # asked-for slots weigh more
    for s, e in open_slots:
        if len(picked) >= int(state.get("slots_per_round", 3)):
            break
        # Distinct alternatives: never two candidates that overlap each other.
        if (_iso(s), _iso(e)) not in tried and all(e <= ps or pe <= s for ps, pe, _ in picked):
            picked.append((s, e, 1.0))
    picked = picked[: int(state.get("slots_per_round", 3))]
    return [{"start_time": _iso(s), "end_time": _iso(e), "weight": w} for s, e, w in picked]


def propose(state: MultiSlotState, runtime: Runtime[MultiSlotContext]) -> dict[str, Any]:
    """The organizer opens this round's proposal (or ends: nothing left to offer)."""
    ctx = runtime.context
    n = int(state.get("round", 0)) + 1
    slots = candidate_slots(state, ctx.organizer, ctx.granularity_minutes)
    if not slots:
        return {
            "outcome": "no_slots",
            "round": n,
            "detail": "no open slot is left in the search window that was not tried",
        }
    expires = datetime.now().astimezone() + ctx.expires_in
    p = ctx.organizer.proposals.create(
        participant_agent_ids=list(state["participant_agent_ids"]),
        slots=slots,
        title=state.get("title"),
        expires_at=expires,
    )
    return {
        "proposal_id": p.id,
        "round": n,
        "rounds": [
            {
                "round": n,
                "proposal_id": p.id,
                "slots": [
                    {
                        "id": s.id,
                        "start_time": _iso(s.start_time),
                        "end_time": _iso(s.end_time),
                        "weight": s.weight,
                    }
                    for s in p.slots
                ],
            }
        ],
    }


def fan_out(state: MultiSlotState) -> list[Send] | str:
    """One ``answer`` branch per participant, run in parallel; or stop."""
    if state.get("outcome"):
        return END
    return [
        Send(
            "answer",
            AnswerTask(
                proposal_id=str(state["proposal_id"]), agent_id=a, round=int(state["round"])
            ),
        )
        for a in state["participant_agent_ids"]
    ]


def answer(task: AnswerTask, runtime: Runtime[MultiSlotContext]) -> dict[str, Any]:
    """One participant reads the proposal, its policy decides, and it answers once."""
    ctx = runtime.context
    agent_id = task["agent_id"]
    client = ctx.participants[agent_id]
    policy = ctx.policies.get(agent_id) or AcceptBestPolicy()
    proposal: Proposal = client.proposals.get(task["proposal_id"])
    record: dict[str, Any] = {
        "proposal_id": task["proposal_id"],
        "round": task["round"],
        "agent_id": agent_id,
    }
    try:
        a = check_answer(proposal, policy.answer(proposal, agent_id))
    except AnswerError as exc:
        a = None
        record.update(response="decline", error=str(exc))
    if a is None:
        client.proposals.respond(
            task["proposal_id"], response="decline", message="could not decide"
        )
        return {"answers": [record]}
    record.update(
        response=a.response,
        selected_slot_id=a.selected_slot_id,
        counter_slots=[[_iso(s), _iso(e)] for s, e in a.counter_slots],
        message=a.message,
        decided_by=a.decided_by,
    )
    try:
        client.proposals.respond(
            task["proposal_id"],
            response=a.response,
            selected_slot_id=a.selected_slot_id,
            counter_slots=[{"start_time": s, "end_time": e} for s, e in a.counter_slots] or None,
            message=a.message,
        )
    except Exception as exc:
        if error_code(exc) not in LATE_ANSWER:
            raise
        record["error"] = error_code(exc)  # expired or resolved before this answer landed
    return {"answers": [record]}


def _confirmed(p: Proposal) -> dict[str, Any]:
    assert p.resolved_slot is not None
    return {
        "outcome": "confirmed",
        "booking_id": p.created_event_id,
        "resolved_slot": {
            "id": p.resolved_slot.id,
            "start_time": _iso(p.resolved_slot.start_time),
            "end_time": _iso(p.resolved_slot.end_time),
        },
        "detail": "confirmed",
    }


def _keep_or_undo(state: MultiSlotState, p: Proposal, organizer: Any, how: str) -> dict[str, Any]:
    """A confirmed proposal ends the graph, unless nobody accepted its slot."""
    assert p.resolved_slot is not None
    accepted = [
        r
        for r in p.responses
        if r.response == "accept" and r.selected_slot_id == p.resolved_slot.id
    ]
    if accepted or not state.get("require_acceptance", True):
        return _confirmed(p) | {"detail": f"confirmed in round {state.get('round')}{how}"}
    organizer.bookings.cancel(str(p.created_event_id))
    out = _ended(state, p)
    out["rounds"][0].update(
        status="undone", reason="confirmed_without_acceptance", booking_id=p.created_event_id
    )
    if out.get("outcome"):
        out["detail"] = (
            f"no participant accepted any slot in {state.get('round')} round(s); "
            "the last confirmation was undone"
        )
    return out


def _ended(state: MultiSlotState, p: Proposal) -> dict[str, Any]:
    """Record how this round ended; stop if it was the last round."""
    out: dict[str, Any] = {
        "rounds": [
            {
                "round": state.get("round"),
                "proposal_id": p.id,
                "status": p.status,
                "reason": p.reason,
                "failed_slots": [f.model_dump(mode="json") for f in p.failed_slots],
            }
        ]
    }
    if int(state.get("round", 0)) >= int(state.get("max_rounds", 3)):
        out.update(
            outcome="no_agreement",
            detail=f"no agreement after {state.get('round')} round(s); last proposal "
            f"{p.status}" + (f" ({p.reason})" if p.reason else ""),
        )
    return out


def review(state: MultiSlotState, runtime: Runtime[MultiSlotContext]) -> dict[str, Any]:
    """Fan-in: read what the answers (and the automatic resolution) produced."""
    organizer = runtime.context.organizer
    p: Proposal = organizer.proposals.get(str(state["proposal_id"]))
    if p.status == "confirmed":
        return _keep_or_undo(state, p, organizer, "")
    if p.status in ("cancelled", "expired"):
        return _ended(state, p)
    return {}  # pending: the resolution lost its slot, or someone did not answer


def route_review(state: MultiSlotState) -> str:
    """Done, resolve the pending proposal, or open the next round."""
    if state.get("outcome"):
        return END
    last = (state.get("rounds") or [{}])[-1]
    if last.get("proposal_id") == state.get("proposal_id") and last.get("status"):
        return "propose"  # this round ended: declined, expired, or undone
    return "resolve"


def resolve(state: MultiSlotState, runtime: Runtime[MultiSlotContext]) -> dict[str, Any]:
    """The organizer resolves: the next-best slot, until one books or none is left."""
    ctx = runtime.context
    pid = str(state["proposal_id"])
    for _ in range(ctx.max_resolve_attempts):
        try:
            res = ctx.organizer.proposals.resolve(pid)
        except Exception as exc:
            if error_code(exc) != "resolution_failed":
                raise
            if _detail(exc, "remaining_slot_ids"):
                continue  # the best slot was lost: resolve again for the next-best
            break
        if res.status == "confirmed":
            return _keep_or_undo(state, res.proposal, ctx.organizer, " after a lost slot")
        return _ended(state, res.proposal)
    p = ctx.organizer.proposals.get(pid)
    if p.status == "pending":
        p = ctx.organizer.proposals.cancel(pid)
    out = _ended(state, p)
    if out.get("outcome"):
        out.update(
            outcome="lost",
            detail=f"every slot of round {state.get('round')} was taken by a better-ranked agent",
        )
    return out


def route_resolve(state: MultiSlotState) -> str:
    return END if state.get("outcome") else "propose"


def build_multi_slot_graph() -> StateGraph[Any, Any, Any, Any]:
    """The uncompiled graph, to compile with a checkpointer or add to a parent graph."""
    g: StateGraph[Any, Any, Any, Any] = StateGraph(MultiSlotState, context_schema=MultiSlotContext)
    g.add_node("propose", propose)
    # ``answer`` takes the AnswerTask each Send carries, not the graph state.
    g.add_node("answer", answer)  # type: ignore[arg-type]
    g.add_node("review", review)
    g.add_node("resolve", resolve)
    g.add_edge(START, "propose")
    g.add_conditional_edges("propose", fan_out, ["answer", END])
    g.add_edge("answer", "review")
    g.add_conditional_edges("review", route_review, ["resolve", "propose", END])
    g.add_conditional_edges("resolve", route_resolve, ["propose", END])
    return g


def compile_multi_slot_graph(**compile_kwargs: Any) -> Any:
    """``build_multi_slot_graph().compile(**compile_kwargs)`` (e.g. ``checkpointer=``)."""
    return build_multi_slot_graph().compile(**compile_kwargs)


def multi_slot_input(
    *,
    title: str,
    duration_minutes: int,
    earliest: datetime | str,
    latest: datetime | str,
    participant_agent_ids: list[str],
    max_rounds: int = 3,
    slots_per_round: int = 3,
    require_acceptance: bool = True,
) -> MultiSlotState:
    """The input state, checked: times need an offset, the window must hold the meeting."""
    lo, hi = parse_time(earliest, "earliest"), parse_time(latest, "latest")
    if hi - lo < timedelta(minutes=duration_minutes):
        raise ValueError("latest - earliest must hold at least one meeting")
    if not 1 <= max_rounds <= 10 or not 1 <= slots_per_round <= 20:
        raise ValueError("max_rounds must be 1..10 and slots_per_round 1..20")
    return MultiSlotState(
        title=title,
        duration_minutes=duration_minutes,
        earliest=_iso(lo),
        latest=_iso(hi),
        participant_agent_ids=list(participant_agent_ids),
        max_rounds=max_rounds,
        slots_per_round=slots_per_round,
        require_acceptance=require_acceptance,
        round=0,
        proposal_id=None,
        answers=[],
        rounds=[],
    )
