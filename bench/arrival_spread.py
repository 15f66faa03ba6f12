"""How far apart do "simultaneous" agents really arrive? The measurement behind the window.

Five agents start together in a thread pool, as agent frameworks commonly run
tools. Each builds its own HTTP client (``httpx.Client()``, which creates a TLS
context, the usual start-up cost), then its coordinator client, then commits the
same slot. The arrival time of each write is read from the server (its audit
entry's timestamp), so the spread is measured on one clock. The report gives the
spread's percentiles, how often the top-ranked agent arrived first, and which
share of rounds each candidate window would have covered.

Run alone:  python -m bench.arrival_spread [--rounds 200] [--agents 5] [--redis-url URL]
"""

from __future__ import annotations

import argparse
import statistics
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import BenchContext, Row

CANDIDATE_WINDOWS_MS = (25, 50, 75, 100, 150, 200)


def _agent_task(coord: Any, api_key: str, start: datetime, conflict: type[Exception]) -> bool:
    try:
        import httpx

        http = httpx.Client()  # the start-up cost real agents pay before their first call
    except ImportError:  # pragma: no cover - httpx missing: measure without it
        http = None
    try:
        client = coord.client(api_key)
        try:
            client.bookings.commit(start=start, end=start + timedelta(minutes=30))
            return True
        except conflict:
            return False
    finally:
        if http is not None:
            http.close()


def measure(coord: Any, rounds: int, agents: int) -> dict[str, Any]:
    from coordinator import Conflict

    owner = coord.owners.create()
    made = [
        coord.agents.create(owner.user_id, name=f"a{p}", priority=p) for p in range(1, agents + 1)
    ]
    prio_of = {a.agent_id: a.priority for a in made}
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=60)
    spreads: list[int] = []
    top_first = 0
    top_won = 0
    one_winner = 0
    for rnd in range(rounds):
        start = base + timedelta(hours=rnd)
        mark = coord.audit.range(owner.user_id)[-1].id if rnd else "-"
        with ThreadPoolExecutor(max_workers=agents) as pool:
            futures = [pool.submit(_agent_task, coord, a.api_key, start, Conflict) for a in made]
            won = [f.result() for f in futures]
        one_winner += sum(won) == 1
        top_won += won[0]
        first_seen: dict[str, int] = {}
        for e in coord.audit.range(owner.user_id):
            if mark != "-" and e.id <= mark:
                continue
            aid = e.fields.get("agent_id", "")
            if aid in prio_of and e.type in ("booking.committed", "booking.rejected"):
                first_seen.setdefault(aid, int(e.fields["ts"]))
        times = sorted(first_seen.items(), key=lambda kv: kv[1])
        spreads.append(times[-1][1] - times[0][1])
        top_first += prio_of[times[0][0]] == 1
    spreads.sort()

    def pct(p: float) -> int:
        return spreads[min(len(spreads) - 1, int(p * len(spreads)))]

    return {
        "rounds": rounds,
        "agents": agents,
        "spread_p50_ms": pct(0.5),
        "spread_p99_ms": pct(0.99),
        "spread_max_ms": spreads[-1],
        "spread_mean_ms": round(statistics.fmean(spreads), 1),
        "top_arrived_first": top_first / rounds,
        "covered_by_window": {
            w: sum(s <= w for s in spreads) / rounds for w in CANDIDATE_WINDOWS_MS
        },
        "exactly_one_winner": one_winner / rounds,
        "top_won": top_won / rounds,
        "window_ms": coord.settings.arbitration_window_ms,
    }


def arrival_rows(ctx: BenchContext, coord: Any, rounds: int = 100) -> list[Row]:
    m = measure(coord, rounds, 5)
    covered = ", ".join(f"{w}ms:{c:.0%}" for w, c in m["covered_by_window"].items())
    return [
        Row(
            what="arrival spread, 5 agents (thread pool, new HTTP client each)",
            threads=5,
            p50_ms=m["spread_p50_ms"],
            p99_ms=m["spread_p99_ms"],
            notes=(
                f"max {m['spread_max_ms']} ms; top-ranked first {m['top_arrived_first']:.0%}; "
                f"window covers {covered}; at window {m['window_ms']} ms: one winner "
                f"{m['exactly_one_winner']:.0%}, top won {m['top_won']:.0%}"
            ),
            data=m,
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--agents", type=int, default=5)
    parser.add_argument("--redis-url", help="default: a temporary embedded engine")
    args = parser.parse_args()
    import tempfile

    from coordinator import Coordinator
    from coordinator.store.embedded import stop_embedded

    folder = None
    if args.redis_url:
        coord = Coordinator.from_url(args.redis_url)
    else:
        folder = tempfile.mkdtemp(prefix="agentdraft-spread-")
        coord = Coordinator.embedded(folder)
    try:
        m = measure(coord, args.rounds, args.agents)
    finally:
        coord.close()
        if folder:
            stop_embedded(folder)
    for k, v in m.items():
        print(f"{k:>20}: {v}")


if __name__ == "__main__":
    main()
