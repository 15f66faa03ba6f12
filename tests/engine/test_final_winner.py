"""Losers hear the final winner: every 409 names the booking that stands.

Five agents ranked 1..5 race for one slot per round. A loser that arrives while a
worse-than-top writer still sits in its arbitration window must not be told that
writer won (the top agent may displace it a moment later): it waits until the
outcome is certain, then names the booking that is still there at the end of the
round. Checked with threads on every backend, and with processes.
"""

from __future__ import annotations

import multiprocessing as mp
import random
import threading
from collections import defaultdict
from datetime import timedelta
from typing import Any

from coordinator import Conflict, Coordinator
from coordinator.buckets import to_ms
from coordinator.store.records import expand_booking
from tests.support.servers import Backend

from .conftest import BASE, Calendar, at
from .invariants import check_invariant
from .race_worker import race_rounds_naming

#: Long enough that every round's writers arrive inside each other's windows.
WINDOW_MS = 1000
AGENTS = 5

Result = tuple[int, int, bool, str]


def standing(coord: Coordinator, user_id: str) -> dict[int, str]:
    """start_ms -> id of the COMMITTED booking that stands there now."""
    raw = coord.redis.hgetall(coord.store.keys.bookings(user_id))
    out: dict[int, str] = {}
    for rec in (expand_booking(b, v) for b, v in raw.items()):
        if rec["status"] == "COMMITTED":
            assert rec["start_ms"] not in out, "two live commits on one slot"
            out[rec["start_ms"]] = rec["id"]
    return out


def check_rounds(results: list[Result], stands: dict[int, str], starts: list[int]) -> None:
    by_round: dict[int, list[Result]] = defaultdict(list)
    for r in results:
        by_round[r[0]].append(r)
    assert sorted(by_round) == list(range(len(starts)))
    wrong = []
    for rnd, rows in by_round.items():
        final = stands[starts[rnd]]
        assert len(rows) == AGENTS
        assert [r[1] for r in rows if r[2]] == [1], rows  # the top agent won, alone
        wrong += [r for r in rows if r[3] != final]
    assert wrong == [], f"{len(wrong)} answers named a booking that did not stand: {wrong[:5]}"


def test_every_loser_names_the_final_winner_threads(make_calendar: Any) -> None:
    rounds = 40
    cal: Calendar = make_calendar(arbitration_window_ms=WINDOW_MS)
    clients = [cal.agent(p) for p in range(1, AGENTS + 1)]
    barrier = threading.Barrier(AGENTS)
    results: list[Result] = []
    lock = threading.Lock()

    def run(priority: int, client: Any) -> None:
        for rnd in range(rounds):
            start = at(30 * rnd)
            barrier.wait()
            try:
                b = client.bookings.commit(start=start, end=start + timedelta(minutes=30))
                out = (rnd, priority, True, b.booking_id)
            except Conflict as c:
                out = (rnd, priority, False, c.winning_booking_id)
            with lock:
                results.append(out)

    threads = [threading.Thread(target=run, args=(p, c)) for p, c in enumerate(clients, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    check_rounds(
        results, standing(cal.coord, cal.user_id), [to_ms(at(30 * r)) for r in range(rounds)]
    )
    assert len(check_invariant(cal.coord, cal.user_id)) == rounds


def test_every_loser_names_the_final_winner_processes(backend: Backend, make_calendar: Any) -> None:
    rounds, processes = 25, 2
    cal: Calendar = make_calendar(arbitration_window_ms=WINDOW_MS)
    created = [
        cal.coord.agents.create(cal.user_id, name=f"p{p}", priority=p) for p in range(1, AGENTS + 1)
    ]
    random.Random(11).shuffle(created)
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(AGENTS)
    queue = ctx.Queue()
    base = BASE + timedelta(days=60)
    procs = [
        ctx.Process(
            target=race_rounds_naming,
            args=(
                backend.url,
                str(backend.data_dir) if backend.data_dir else None,
                WINDOW_MS,
                [(a.priority, a.api_key) for a in created[i::processes]],
                base.isoformat(),
                rounds,
                barrier,
                queue,
            ),
        )
        for i in range(processes)
    ]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in range(AGENTS * rounds)]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0

    starts = [to_ms(base + timedelta(minutes=30 * r)) for r in range(rounds)]
    check_rounds(results, standing(cal.coord, cal.user_id), starts)
