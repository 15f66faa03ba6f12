"""What naming the winner costs a loser: the 409 with and without the agent-name lookup.

    python -m bench.loser_names [--rounds 400] [--repeats 3]

On a private embedded engine, in one run: a priority-2 agent loses slot after slot
to a priority-1 agent; each loss alternates between the real ``Bookings._name_winner``
(``winning_agent_name`` looked up, then kept per process) and a stand-in that skips the
lookup. Prints p50/p99 of both and their p50 ratio (the same run, so the ratio holds
on a loaded machine where the absolute times do not).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from coordinator import Conflict, Coordinator, Settings
from coordinator import bookings as bk

BASE = datetime(2031, 6, 2, 9, tzinfo=UTC)
UNLIMITED = {"rate_limit_per_second": 1e6, "rate_limit_burst": 1_000_000}


def measure(rounds: int, repeats: int) -> dict[str, list[float]]:
    engine = Coordinator.embedded(tempfile.mkdtemp(prefix="bench-loser-names-"))
    coord = Coordinator(engine.redis, Settings(arbitration_window_ms=0))
    uid = coord.owners.create().user_id
    top = coord.client(coord.agents.create(uid, name="top", priority=1, **UNLIMITED).api_key)
    low = coord.client(coord.agents.create(uid, name="low", priority=2, **UNLIMITED).api_key)
    slots = [BASE + timedelta(minutes=30 * i) for i in range(rounds)]
    for s in slots:
        top.bookings.commit(start=s, end=s + timedelta(minutes=30))
    named = bk.Bookings._name_winner

    def plain(self: Any, user_id: str, lost: Conflict) -> Conflict:
        return lost

    times: dict[str, list[float]] = {"named": [], "plain": []}
    try:
        for r in range(repeats):
            for i, s in enumerate(slots):
                mode = "named" if (i + r) % 2 == 0 else "plain"
                bk.Bookings._name_winner = named if mode == "named" else plain  # type: ignore[method-assign]
                t0 = time.perf_counter()
                try:
                    low.bookings.commit(start=s, end=s + timedelta(minutes=30))
                except Conflict:
                    pass
                times[mode].append(time.perf_counter() - t0)
    finally:
        bk.Bookings._name_winner = named  # type: ignore[method-assign]
        engine.close()
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.loser_names", description=__doc__)
    parser.add_argument("--rounds", type=int, default=400, help="slots lost per repeat")
    parser.add_argument("--repeats", type=int, default=3, help="passes over the slots")
    args = parser.parse_args(argv)
    times = measure(args.rounds, args.repeats)
    for mode, values in times.items():
        values.sort()
        p50, p99 = statistics.median(values), values[int(len(values) * 0.99)]
        print(f"{mode:6} p50 {1000 * p50:.3f} ms  p99 {1000 * p99:.3f} ms")
    ratio = statistics.median(times["named"]) / statistics.median(times["plain"])
    print(f"p50 ratio named/plain {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
