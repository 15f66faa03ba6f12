"""What telling losers the final winner costs them, and the in-process commit path's cost.

    python -m bench.final_winner [--rounds 200] [--window-ms 150] [--seconds 2]

On one private redis-server, in one run:

* ``no-op EVALSHA``: ``return 1`` by SHA from the coordinator's own redis-py client,
  the round-trip ceiling every other row is divided by.
* ``commit, in-process``: ``client.bookings.commit`` by a top-ranked agent on fresh
  slots (uncontended), from the same client: the whole Python path (validation,
  argument packing, reply parsing) plus one script call.
* losers' time to their 409, from the barrier's release, in two shapes of 5 agents
  ranked 1..5 on one slot per round:
  - ``certain``: the top agent's commit is already there when the four others write,
    so each loser is answered at once (no wait possible: the baseline);
  - ``race``: all five are released together, so a loser that finds a worse-than-top
    booking still inside its arbitration window waits (BLMOVE on its wake list) until
    that booking is displaced or its window closes, then names the final winner.
  The difference between the two is the final-winner wait.
"""

from __future__ import annotations

import argparse
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import LoadResult, run_load
from coordinator import Conflict, Coordinator
from tests.support.servers import RedisServer

AGENTS = 5
BOOKING = timedelta(minutes=30)
NO_LIMIT: dict[str, Any] = {"rate_limit_per_second": 1_000_000, "rate_limit_burst": 1_000_000}


def noop(client: Any, seconds: float) -> LoadResult:
    script = client.register_script("return 1")
    script()

    def op(_t: int, _i: int) -> str | None:
        script()
        return None

    return run_load(op, threads=1, seconds=seconds, warmup=50)


def commits(coord: Coordinator, seconds: float) -> LoadResult:
    owner = coord.owners.create()
    client = coord.client(coord.agents.create(owner.user_id, name="b", priority=1).api_key)
    base = datetime(2032, 1, 5, tzinfo=UTC)

    def op(_t: int, i: int) -> str | None:
        start = base + i * BOOKING
        client.bookings.commit(start=start, end=start + BOOKING)
        return None

    return run_load(op, threads=1, seconds=seconds, warmup=50)


def losers(coord: Coordinator, rounds: int, *, certain: bool) -> tuple[list[float], int]:
    """Each loser's ms from release to its 409, and how many 409s named a booking that did
    not stand at the end of the round (must be 0)."""
    owner = coord.owners.create()
    clients = [
        coord.client(coord.agents.create(owner.user_id, name=f"p{p}", priority=p).api_key)
        for p in range(1, AGENTS + 1)
    ]
    racers = clients[1:] if certain else clients
    barrier = threading.Barrier(len(racers))
    base = datetime(2033, 1, 3, tzinfo=UTC) + timedelta(days=1000 if certain else 0)
    lost: list[float] = []
    named: dict[int, list[str]] = {}
    won: dict[int, str] = {}
    lock = threading.Lock()

    def run(client: Any) -> None:
        for rnd in range(rounds):
            start = base + rnd * BOOKING
            if certain and client is racers[0]:
                won[rnd] = clients[0].bookings.commit(start=start, end=start + BOOKING).booking_id
            barrier.wait()
            t0 = time.perf_counter()
            try:
                b = client.bookings.commit(start=start, end=start + BOOKING)
                with lock:
                    won[rnd] = b.booking_id
            except Conflict as c:
                ms = (time.perf_counter() - t0) * 1000
                with lock:
                    lost.append(ms)
                    named.setdefault(rnd, []).append(c.winning_booking_id or "")

    threads = [threading.Thread(target=run, args=(c,)) for c in racers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wrong = sum(1 for rnd, ids in named.items() for i in ids if i != won.get(rnd))
    return lost, wrong


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.999) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--window-ms", type=int, default=150)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    with RedisServer() as server:
        coord = Coordinator.from_url(server.url, arbitration_window_ms=args.window_ms, **NO_LIMIT)
        version = coord.redis.info("server")["redis_version"]
        print(f"Redis {version}, 1 client process, window {args.window_ms} ms")
        print(f"{'':40}{'ops/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'ratio':>8}")
        base = noop(coord.redis, args.seconds)
        p50, p99 = base.pct_ms(0.5) or 0.0, base.pct_ms(0.99) or 0.0
        print(f"{'no-op EVALSHA':<40}{base.ops_per_s:>10.0f}{p50:>9.3f}{p99:>9.3f}{1:>8.2f}")
        res = commits(coord, args.seconds)
        p50, p99 = res.pct_ms(0.5) or 0.0, res.pct_ms(0.99) or 0.0
        ratio = res.ops_per_s / base.ops_per_s
        print(
            f"{'commit, in-process (top agent)':<40}{res.ops_per_s:>10.0f}{p50:>9.3f}"
            f"{p99:>9.3f}{ratio:>8.2f}"
        )
        for certain in (True, False):
            lost, wrong = losers(coord, args.rounds, certain=certain)
            label = "loser's 409, winner already certain" if certain else "loser's 409, race"
            print(
                f"{label:<40}{'':>10}{pct(lost, 0.5):>9.3f}{pct(lost, 0.99):>9.3f}"
                f"{'':>8}  {len(lost)} losers, {wrong} named a non-final winner"
            )
        coord.close()


if __name__ == "__main__":
    main()
