"""The daily cap under real races: writes for the last meeting of a day, at the same moment.

Each agent writes its own slot, so no bucket is shared and only the cap can stop a
write. The cap is counted inside the claim script, so exactly ``cap`` writes win
each day however the threads and processes interleave.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
from collections import Counter
from datetime import timedelta
from typing import Any

from coordinator import RuleViolation
from tests.support.servers import Backend

from .cap_worker import cap_rounds
from .conftest import BASE, Calendar
from .invariants import check_invariant


def live_per_day(cal: Calendar) -> Counter[str]:
    live = check_invariant(cal.coord, cal.user_id)
    return Counter(
        cal.coord.bookings.get(cal.user_id, bid).start.date().isoformat() for bid in live
    )


def test_threads_racing_for_the_last_meeting_of_a_day_leave_exactly_the_cap(
    make_calendar: Any,
) -> None:
    agents, rounds, cap = 8, 40, 1
    cal: Calendar = make_calendar()
    cal.coord.rules.update(cal.user_id, daily_cap=cap)
    clients = [cal.agent(p) for p in range(1, agents + 1)]
    barrier = threading.Barrier(agents)
    outcomes: Counter[tuple[int, str]] = Counter()
    lock = threading.Lock()

    def run(index: int, client: Any) -> None:
        for rnd in range(rounds):
            start = BASE + timedelta(days=rnd, minutes=30 * index)
            barrier.wait()
            try:
                client.bookings.commit(start=start, end=start + timedelta(minutes=30))
                out = "won"
            except RuleViolation as exc:
                out = exc.error
            with lock:
                outcomes[(rnd, out)] += 1

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for rnd in range(rounds):
        assert outcomes[(rnd, "won")] == cap, rnd
        assert outcomes[(rnd, "daily_cap_reached")] == agents - cap, rnd
    assert set(live_per_day(cal).values()) == {cap}


def test_processes_racing_for_a_days_last_meetings_leave_exactly_the_cap(
    backend: Backend, make_calendar: Any
) -> None:
    processes, per_process, rounds, cap = 3, 2, 30, 2
    cal: Calendar = make_calendar()
    cal.coord.rules.update(cal.user_id, daily_cap=cap)
    made = [
        cal.coord.agents.create(cal.user_id, name=f"a{i}", priority=1 + i % 3)
        for i in range(processes * per_process)
    ]
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(processes * per_process)
    queue = ctx.Queue()
    base = BASE + timedelta(days=100)
    procs = [
        ctx.Process(
            target=cap_rounds,
            args=(
                backend.url,
                str(backend.data_dir) if backend.data_dir else None,
                [(i, made[i].api_key) for i in range(p, len(made), processes)],
                base.isoformat(),
                rounds,
                barrier,
                queue,
            ),
        )
        for p in range(processes)
    ]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in range(processes * per_process * rounds)]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    won = Counter(rnd for rnd, _, out in results if out == "won")
    assert all(won[rnd] == cap for rnd in range(rounds)), won
    assert {out for _, _, out in results} == {"won", "daily_cap_reached"}
    assert set(live_per_day(cal).values()) == {cap}
