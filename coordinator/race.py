"""A race you can watch: N agents, ranked 1..N, fire at one slot at once.

Used by ``examples/race.py`` and ``python -m coordinator race``. Each agent runs
in its own thread and builds its own client (as real agents do), then all
wait on a barrier and commit the same slot. Latency is measured from the
barrier's release, so it includes everything the agent waits for.

:func:`run_staggered_race` is the longer race of ``notebooks/race.ipynb``: agents
arrive at planned moments over several rounds, hold or commit overlapping slots
and promote their holds, so worse-ranked agents take buckets first and better
ones push them off (see :func:`staggered_plan`).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Literal

from .coordinator import Coordinator
from .errors import Conflict
from .models import AgentCreated, AuditEntry, Booking

Action = Literal["hold", "commit", "promote"]


@dataclass(frozen=True)
class Step:
    """One write of a staggered race, planned ahead so a race can be replayed from a seed.

    ``agent`` indexes the race's agents (0 is the top-ranked, priority 1). ``at_ms`` is
    when the agent starts the write, in ms after the race starts. ``hold`` and
    ``commit`` write ``[offset_min, offset_min + minutes)`` after the race's slot
    start; ``promote`` commits the range of the agent's latest hold (``offset_min``
    and ``minutes`` are unused), a fresh commit if that hold was pushed off meanwhile.
    """

    agent: int
    at_ms: float
    action: Action
    offset_min: int = 0
    minutes: int = 30


@dataclass(frozen=True)
class Outcome:
    """One agent's write and what it was told; ``step`` is set in a staggered race."""

    name: str
    agent_id: str
    priority: int
    won: bool
    latency_ms: float
    booking: Booking | None = None
    conflict: Conflict | None = None
    step: Step | None = None


@dataclass
class RaceResult:
    user_id: str
    start: datetime
    end: datetime
    outcomes: list[Outcome] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)
    audit_ok: bool = False

    @property
    def winners(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.won]


def _create_agents(
    coord: Coordinator, user_id: str, agents: int, names: Sequence[str] | None
) -> list[AgentCreated]:
    if agents < 1:
        raise ValueError("agents must be at least 1")
    labels = list(names or [f"agent-{i}" for i in range(1, agents + 1)])
    if len(labels) < agents:
        raise ValueError(f"{agents} agents need {agents} names, got {len(labels)}")
    return [coord.agents.create(user_id, name=labels[i], priority=i + 1) for i in range(agents)]


def _default_start() -> datetime:
    """The top of the hour a day ahead: clear of any lead-time rule and of today's clock."""
    return (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)


def _collect_audit(coord: Coordinator, result: RaceResult) -> RaceResult:
    result.audit = [
        e for e in coord.audit.range(result.user_id) if e.type.startswith(("booking", "hold"))
    ]
    result.audit_ok = coord.audit.verify(result.user_id).ok
    return result


def _timed(a: AgentCreated, write: Callable[[], Booking], step: Step | None = None) -> Outcome:
    """One write, timed from its first byte to its final answer (window wait included)."""
    t0 = time.perf_counter()
    try:
        b = write()
        return Outcome(
            a.name,
            a.agent_id,
            a.priority,
            True,
            (time.perf_counter() - t0) * 1000,
            booking=b,
            step=step,
        )
    except Conflict as c:
        return Outcome(
            a.name,
            a.agent_id,
            a.priority,
            False,
            (time.perf_counter() - t0) * 1000,
            conflict=c,
            step=step,
        )


def run_race(
    coord: Coordinator,
    agents: int = 5,
    *,
    start: datetime | None = None,
    minutes: int = 30,
    names: list[str] | None = None,
) -> RaceResult:
    """Create an owner and ``agents`` agents (priority 1..N) and race them for one slot."""
    owner = coord.owners.create()
    created = _create_agents(coord, owner.user_id, agents, names)
    start = start or _default_start()
    end = start + timedelta(minutes=minutes)
    barrier = threading.Barrier(agents)
    outcomes: list[Outcome | None] = [None] * agents

    def run(i: int) -> None:
        a = created[i]
        client = coord.client(a.api_key)
        barrier.wait()
        outcomes[i] = _timed(
            a,
            lambda: client.bookings.commit(
                start=start, end=end, idempotency_key=f"race-{a.agent_id}"
            ),
        )

    threads = [threading.Thread(target=run, args=(i,), name=created[i].name) for i in range(agents)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = RaceResult(
        user_id=owner.user_id, start=start, end=end, outcomes=[o for o in outcomes if o is not None]
    )
    return _collect_audit(coord, result)


def staggered_plan(
    agents: int = 6,
    rounds: int = 3,
    *,
    seed: int = 0,
    round_ms: float = 600.0,
    span_minutes: int = 150,
    hold_share: float = 0.35,
    lengths: Sequence[int] = (15, 20, 30),
) -> list[Step]:
    """A plan in which worse-ranked agents come first and better ones push them off.

    In each round of ``round_ms`` the agents arrive worst-ranked first, about
    ``round_ms / (agents + 1)`` apart with some jitter, so the top-ranked agent comes
    last. Each picks a slot of one of ``lengths`` minutes inside ``span_minutes``
    (never overlapping its own earlier slots: an agent refused by itself teaches
    nothing) and holds it (share ``hold_share``) or commits it. A hold is promoted
    half a round later. Arrivals closer than the arbitration window (150 ms by
    default) are judged by rank inside it; later ones meet the bump window (a
    better commit evicts a worse one) or a hold (any same-or-better commit ends it).
    Deterministic for a given ``seed``; ordered by ``at_ms``.
    """
    if agents < 1 or rounds < 1:
        raise ValueError("agents and rounds must be at least 1")
    if min(lengths) < 5 or max(lengths) > span_minutes or any(n % 5 for n in lengths):
        raise ValueError("lengths must be multiples of 5 minutes that fit in span_minutes")
    rng = random.Random(seed)
    spacing = round_ms / (agents + 1)
    taken: dict[int, list[tuple[int, int]]] = {a: [] for a in range(agents)}
    steps: list[Step] = []
    for r in range(rounds):
        for k, agent in enumerate(reversed(range(agents))):
            # Jitter never moves an arrival out of its round: rounds stay apart.
            at = r * round_ms + max(0.0, (k + rng.uniform(-0.25, 0.25)) * spacing)
            slot = _free_slot(rng, taken[agent], span_minutes, lengths)
            if slot is None:
                continue
            taken[agent].append(slot)
            offset, minutes = slot[0], slot[1] - slot[0]
            if rng.random() < hold_share:
                steps.append(Step(agent, at, "hold", offset, minutes))
                steps.append(Step(agent, at + round_ms / 2, "promote"))
            else:
                steps.append(Step(agent, at, "commit", offset, minutes))
    return sorted(steps, key=lambda s: s.at_ms)


def _free_slot(
    rng: random.Random, own: list[tuple[int, int]], span: int, lengths: Sequence[int]
) -> tuple[int, int] | None:
    for _ in range(50):
        minutes = rng.choice(list(lengths))
        lo = 5 * rng.randrange(0, (span - minutes) // 5 + 1)
        if all(lo + minutes <= a or b <= lo for a, b in own):
            return lo, lo + minutes
    return None


def run_staggered_race(
    coord: Coordinator,
    plan: Sequence[Step],
    agents: int | None = None,
    *,
    start: datetime | None = None,
    names: list[str] | None = None,
) -> RaceResult:
    """Run ``plan`` on a new owner with ``agents`` agents (default: as many as it names).

    Each agent is a thread with its own client that performs its steps in order,
    each at its ``at_ms`` after a shared start (a barrier releases them together;
    a step whose agent is still busy starts as soon as the previous one returns).
    A ``promote`` with no hold to promote (the hold was refused) is skipped, so
    ``outcomes`` may be shorter than the plan. Errors other than a lost race are
    re-raised here. ``result.audit`` is the owner's booking and hold entries.
    """
    n = agents if agents is not None else 1 + max((s.agent for s in plan), default=0)
    if any(not 0 <= s.agent < n for s in plan):
        raise ValueError(f"the plan names an agent outside 0..{n - 1}")
    owner = coord.owners.create()
    created = _create_agents(coord, owner.user_id, n, names)
    start = start or _default_start()
    span = max((s.offset_min + s.minutes for s in plan if s.action != "promote"), default=0)
    outcomes: list[Outcome] = []
    failures: list[BaseException] = []
    lock = threading.Lock()
    t0 = [0.0]

    def mark_start() -> None:
        t0[0] = time.perf_counter()

    barrier = threading.Barrier(n, action=mark_start)

    def run(i: int) -> None:
        a = created[i]
        mine = sorted((step for step in plan if step.agent == i), key=lambda step: step.at_ms)
        last_hold: str | None = None
        try:
            client = coord.client(a.api_key)
            barrier.wait()
            for j, step in enumerate(mine):
                delay = t0[0] + step.at_ms / 1000 - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)  # the plan's arrival time, not synchronisation
                key = f"stg-{a.agent_id}-{j}"
                if step.action == "promote":
                    if last_hold is None:
                        continue
                    hold_id, last_hold = last_hold, None
                    o = _timed(
                        a, partial(client.bookings.promote, hold_id, idempotency_key=key), step
                    )
                else:
                    lo = start + timedelta(minutes=step.offset_min)
                    hi = lo + timedelta(minutes=step.minutes)
                    write = (
                        client.bookings.commit
                        if step.action == "commit"
                        else (client.bookings.hold)
                    )
                    o = _timed(a, partial(write, start=lo, end=hi, idempotency_key=key), step)
                    if step.action == "hold" and o.booking is not None:
                        last_hold = o.booking.booking_id
                with lock:
                    outcomes.append(o)
        except BaseException as exc:  # surfaced in the caller's thread below
            with lock:
                failures.append(exc)
            barrier.abort()  # nobody waits forever for an agent that died before the start

    threads = [threading.Thread(target=run, args=(i,), name=created[i].name) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise failures[0]
    outcomes.sort(key=lambda o: o.step.at_ms if o.step else 0.0)
    result = RaceResult(
        user_id=owner.user_id, start=start, end=start + timedelta(minutes=span), outcomes=outcomes
    )
    return _collect_audit(coord, result)


def format_race(result: RaceResult) -> str:
    """A human-readable report: each agent's outcome and latency, the winner, the trail."""
    lines = [
        f"Race for {result.start:%Y-%m-%d %H:%M}-{result.end:%H:%M} UTC on calendar "
        f"{result.user_id}",
        "",
        f"{'agent':<12} {'prio':>4}  {'outcome':<34} {'latency':>9}",
    ]
    names = {o.agent_id: o.name for o in result.outcomes}
    for o in sorted(result.outcomes, key=lambda o: o.priority):
        if o.won and o.booking:
            what = f"WON  {o.booking.booking_id}"
        elif o.conflict:
            # The 409 names the final winner: a loser waits while the booking in its way
            # could still be displaced, so this is the agent that actually won.
            c = o.conflict
            who = names.get(c.winning_agent_id or "", c.winning_agent_id)
            what = f"409 {c.reason} by {who} (prio {c.winning_agent_priority})"
        else:
            what = "?"
        lines.append(f"{o.name:<12} {o.priority:>4}  {what:<34} {o.latency_ms:>7.1f}ms")
    winners = result.winners
    lines.append("")
    if len(winners) == 1:
        w = winners[0]
        lines.append(
            f"Winner: {w.name} (priority {w.priority}), exactly one of "
            f"{len(result.outcomes)} agents was told it won."
        )
    else:
        lines.append(f"WINNERS: {len(winners)} -- this should never happen")
    lines += [
        "",
        "Audit trail (hash-chained, " + ("verified" if result.audit_ok else "VERIFY FAILED") + "):",
    ]
    for e in result.audit:
        f = e.fields
        who = names.get(f.get("agent_id", ""), f.get("agent_id", ""))
        extra = ""
        if e.type == "booking.rejected":
            winner = names.get(f["winner_agent_id"], f["winner_agent_id"])
            extra = f" lost to {winner} ({f['reason']})"
        elif e.type in ("booking.evicted", "hold.invalidated"):
            extra = f" by {names.get(f['by_agent_id'], f['by_agent_id'])}"
        lines.append(
            f"  {e.id:<16} {e.type:<18} {who:<10} prio {f.get('priority', '?'):>2} "
            f"{f.get('booking_id', '')}{extra}"
        )
    return "\n".join(lines)
