"""Code run inside the racing child processes (importable, so ``spawn`` can find it)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from multiprocessing.synchronize import Barrier
from typing import Any

from coordinator import Conflict, Coordinator


def open_coordinator(url: str | None, data_dir: str | None, window_ms: int) -> Coordinator:
    if url:
        return Coordinator.from_url(url, arbitration_window_ms=window_ms)
    return Coordinator.embedded(data_dir, arbitration_window_ms=window_ms)


def race_rounds(
    url: str | None,
    data_dir: str | None,
    window_ms: int,
    keys: list[tuple[int, str]],
    base_iso: str,
    rounds: int,
    barrier: Barrier,
    results: Any,
) -> None:
    """Each (priority, api_key) gets a thread; every round all threads commit one slot.

    The barrier spans every thread of every process, so each round is a real race.
    Results go to ``results`` as (round, priority, won, winning_priority).
    """
    coord = open_coordinator(url, data_dir, window_ms)
    base = datetime.fromisoformat(base_iso)

    def agent(priority: int, api_key: str) -> None:
        client = coord.client(api_key)
        for rnd in range(rounds):
            start = base + timedelta(minutes=30 * rnd)
            barrier.wait()
            try:
                client.bookings.commit(start=start, end=start + timedelta(minutes=30))
                results.put((rnd, priority, True, priority))
            except Conflict as c:
                results.put((rnd, priority, False, c.winning_agent_priority))

    threads = [threading.Thread(target=agent, args=k) for k in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    coord.close()


def race_rounds_naming(
    url: str | None,
    data_dir: str | None,
    window_ms: int,
    keys: list[tuple[int, str]],
    base_iso: str,
    rounds: int,
    barrier: Barrier,
    results: Any,
) -> None:
    """As :func:`race_rounds`, but each result names a booking: (round, priority, won,
    booking id), the caller's own when it won, else the winner its 409 named."""
    coord = open_coordinator(url, data_dir, window_ms)
    base = datetime.fromisoformat(base_iso)

    def agent(priority: int, api_key: str) -> None:
        client = coord.client(api_key)
        for rnd in range(rounds):
            start = base + timedelta(minutes=30 * rnd)
            barrier.wait()
            try:
                b = client.bookings.commit(start=start, end=start + timedelta(minutes=30))
                results.put((rnd, priority, True, b.booking_id))
            except Conflict as c:
                results.put((rnd, priority, False, c.winning_booking_id))

    threads = [threading.Thread(target=agent, args=k) for k in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    coord.close()
