"""A race you can watch: N agents, ranked 1..N, fire at one slot at once.

Used by ``examples/race.py`` and ``python -m coordinator race``. Each agent runs
in its own thread and builds its own client (as real agents do), then all
wait on a barrier and commit the same slot. Latency is measured from the
barrier's release, so it includes everything the agent waits for.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from .coordinator import Coordinator
from .errors import Conflict
from .models import AuditEntry, Booking


@dataclass(frozen=True)
class Outcome:
    name: str
    agent_id: str
    priority: int
    won: bool
    latency_ms: float
    booking: Booking | None = None
    conflict: Conflict | None = None


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


def run_race(
    coord: Coordinator,
    agents: int = 5,
    *,
    start: datetime | None = None,
    minutes: int = 30,
    names: list[str] | None = None,
) -> RaceResult:
    """Create an owner and ``agents`` agents (priority 1..N) and race them for one slot."""
    if agents < 1:
        raise ValueError("agents must be at least 1")
    owner = coord.owners.create()
    labels = names or [f"agent-{i}" for i in range(1, agents + 1)]
    created = [
        coord.agents.create(owner.user_id, name=labels[i], priority=i + 1) for i in range(agents)
    ]
    start = start or (datetime.now(UTC) + timedelta(days=1)).replace(
        minute=0, second=0, microsecond=0
    )
    end = start + timedelta(minutes=minutes)
    barrier = threading.Barrier(agents)
    outcomes: list[Outcome | None] = [None] * agents

    def run(i: int) -> None:
        a = created[i]
        client = coord.client(a.api_key)
        barrier.wait()
        t0 = time.perf_counter()
        try:
            b = client.bookings.commit(start=start, end=end, idempotency_key=f"race-{a.agent_id}")
            outcomes[i] = Outcome(a.name, a.agent_id, a.priority, True,
                                  (time.perf_counter() - t0) * 1000, booking=b)
        except Conflict as c:
            outcomes[i] = Outcome(a.name, a.agent_id, a.priority, False,
                                  (time.perf_counter() - t0) * 1000, conflict=c)

    threads = [threading.Thread(target=run, args=(i,), name=labels[i]) for i in range(agents)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = RaceResult(user_id=owner.user_id, start=start, end=end,
                        outcomes=[o for o in outcomes if o is not None])
    result.audit = [e for e in coord.audit.range(owner.user_id) if e.type.startswith(("booking",
                                                                                       "hold"))]
    result.audit_ok = coord.audit.verify(owner.user_id).ok
    return result


def format_race(result: RaceResult) -> str:
    """A human-readable report: each agent's outcome and latency, the winner, the trail."""
    lines = [
        f"Race for {result.start:%Y-%m-%d %H:%M}-{result.end:%H:%M} UTC on calendar "
        f"{result.user_id}",
        "",
        f"{'agent':<12} {'prio':>4}  {'outcome':<34} {'latency':>9}",
    ]
    for o in sorted(result.outcomes, key=lambda o: o.priority):
        if o.won and o.booking:
            what = f"WON  {o.booking.booking_id}"
        elif o.conflict:
            c = o.conflict
            what = f"409 {c.reason} by prio {c.winning_agent_priority}"
        else:
            what = "?"
        lines.append(f"{o.name:<12} {o.priority:>4}  {what:<34} {o.latency_ms:>7.1f}ms")
    winners = result.winners
    lines.append("")
    if len(winners) == 1:
        w = winners[0]
        lines.append(f"Winner: {w.name} (priority {w.priority}), exactly one of "
                     f"{len(result.outcomes)} agents was told it won.")
    else:
        lines.append(f"WINNERS: {len(winners)} -- this should never happen")
    lines += ["", "Audit trail (hash-chained, "
              + ("verified" if result.audit_ok else "VERIFY FAILED") + "):"]
    names = {o.agent_id: o.name for o in result.outcomes}
    for e in result.audit:
        f = e.fields
        who = names.get(f.get("agent_id", ""), f.get("agent_id", ""))
        extra = ""
        if e.type == "booking.rejected":
            winner = names.get(f["winner_agent_id"], f["winner_agent_id"])
            extra = f" lost to {winner} ({f['reason']})"
        elif e.type in ("booking.evicted", "hold.invalidated"):
            extra = f" by {names.get(f['by_agent_id'], f['by_agent_id'])}"
        lines.append(f"  {e.id:<16} {e.type:<18} {who:<10} prio {f.get('priority', '?'):>2} "
                     f"{f.get('booking_id', '')}{extra}")
    return "\n".join(lines)
