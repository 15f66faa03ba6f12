"""Child-process side of the daily-cap race (importable, so ``spawn`` can find it)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from multiprocessing.synchronize import Barrier
from typing import Any

from coordinator import Conflict, RuleViolation

from .race_worker import open_coordinator


def cap_rounds(
    url: str | None,
    data_dir: str | None,
    keys: list[tuple[int, str]],
    base_iso: str,
    rounds: int,
    barrier: Barrier,
    results: Any,
) -> None:
    """Every round, every agent commits its OWN slot (no bucket overlaps) on one day.

    Only the daily cap can stop them. Results: (round, slot index, outcome).
    """
    coord = open_coordinator(url, data_dir, 0)
    base = datetime.fromisoformat(base_iso)

    def agent(index: int, api_key: str) -> None:
        client = coord.client(api_key)
        for rnd in range(rounds):
            start = base + timedelta(days=rnd, minutes=30 * index)
            barrier.wait()
            try:
                client.bookings.commit(start=start, end=start + timedelta(minutes=30))
                out = "won"
            except RuleViolation as exc:
                out = exc.error
            except Conflict as exc:
                out = f"conflict:{exc.reason}"
            results.put((rnd, index, out))

    threads = [threading.Thread(target=agent, args=k) for k in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    coord.close()
