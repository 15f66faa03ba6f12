"""Code run in child processes for the cross-process key and rate-limit tests.

Importable so ``spawn`` can find it. Each worker opens its own coordinator on the
same store (a different process, a different connection pool, its own caches),
so whatever it sees changing was changed in Redis by another process.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from multiprocessing.synchronize import Barrier, Event
from typing import Any

from coordinator import AgentDraftError, RateLimited

from .race_worker import open_coordinator


def outcome(exc: AgentDraftError | None) -> str:
    if exc is None:
        return "ok"
    return f"{type(exc).__name__}:{exc.status}:{exc.error}"


def scripted_calls(
    url: str | None,
    data_dir: str | None,
    api_key: str,
    steps: list[tuple[str, ...]],
    go: list[Event],
    results: Any,
) -> None:
    """Build one client, then run ``steps[i]`` each time ``go[i]`` is set; report outcomes.

    The client is built (and its key checked) before the first step, so a later
    failure proves the key was stopped while the client already existed.
    """
    coord = open_coordinator(url, data_dir, 0)
    client = coord.client(api_key)
    results.put(("ready", "ok"))
    for step, event in zip(steps, go, strict=True):
        assert event.wait(60), "the test never released this step"
        kind, *args = step
        try:
            if kind == "commit":
                start, end = (datetime.fromisoformat(a) for a in args)
                client.bookings.commit(start=start, end=end, bump_window_seconds=3600)
            elif kind == "me":
                client.agents.me()
            err = None
        except AgentDraftError as exc:
            err = exc
        results.put((kind, outcome(err)))
    coord.close()


def spend_tokens(
    url: str | None,
    data_dir: str | None,
    api_key: str,
    threads: int,
    calls: int,
    barrier: Barrier,
    results: Any,
) -> None:
    """``threads`` threads each make ``calls`` reads at once; report (ok, limited, waits)."""
    coord = open_coordinator(url, data_dir, 0)
    client = coord.client(api_key)
    lock = threading.Lock()
    counts = {"ok": 0, "limited": 0}
    waits: list[int] = []

    def run() -> None:
        barrier.wait()
        for _ in range(calls):
            try:
                client.agents.me()
                key = "ok"
            except RateLimited as exc:
                key = "limited"
                with lock:
                    waits.append(exc.retry_after)
            with lock:
                counts[key] += 1

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    results.put((counts["ok"], counts["limited"], min(waits) if waits else None))
    coord.close()


#: Refused calls the hammer makes before telling the parent it has seen enough.
REFUSED_ENOUGH = 20


def hammer(
    url: str | None,
    data_dir: str | None,
    api_key: str,
    threads: int,
    stop: Event,
    results: Any,
    changed_at: Any,
) -> None:
    """Threads call ``agents.me()`` back to back until ``stop``; report every call.

    Each call is reported as (monotonic start time, outcome). CLOCK_MONOTONIC is one
    clock for every process on a Linux host, so the parent can compare its own times.
    Puts "warm" after the first call and "refused" after ``REFUSED_ENOUGH`` refusals of
    calls that started after ``changed_at`` (a shared double the parent sets once it has
    changed the key), so the parent always gets calls from after the change to judge,
    however the two processes are scheduled.
    """
    coord = open_coordinator(url, data_dir, 0)
    client = coord.client(api_key)
    lock = threading.Lock()
    calls: list[tuple[float, str]] = []
    refused = [0]

    def run() -> None:
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                client.agents.me()
                err = None
            except AgentDraftError as exc:
                err = exc
            with lock:
                calls.append((t0, outcome(err)))
                if len(calls) == 1:
                    results.put("warm")
                if err is not None and t0 > changed_at.value:
                    refused[0] += 1
                    if refused[0] == REFUSED_ENOUGH:
                        results.put("refused")

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    results.put(calls)
    coord.close()
