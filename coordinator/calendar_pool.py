"""A worker's pass over many calendars, a few at a time, so one slow calendar waits alone.

The webhook dispatcher and the connector sync worker each serve every owner. Served one
after another, a calendar whose server takes its whole deadline (10 s for a delivery,
60 s for a pull) made every calendar behind it wait that long in each pass, and several
such calendars added up. Cool-downs (coordinator/cooldown.py) stop a server that failed
from being called again soon, but each new one, and each one whose cool-down has just
ended, still cost the others its deadline.

:class:`CalendarPool` serves the calendars of one pass on up to ``at_once`` threads,
each calendar on one thread (its entries stay in order), so a slow calendar holds one
thread while the others go on. The pass ends when every calendar is served, as before.
A pass with a single calendar, or a pool of one, runs in the caller's thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

__all__ = ["CalendarPool"]

T = TypeVar("T")
_END = object()


class CalendarPool:
    """Serves one pass's calendars on up to ``at_once`` threads of its own.

    The threads are daemons started for the pass and gone when it ends: a worker that
    is stopped, or a process that exits, never waits for a delivery or a pull still
    under way (a ``ThreadPoolExecutor``'s threads would hold the exit for up to a
    pull's deadline)."""

    def __init__(self, at_once: int, name: str) -> None:
        if at_once < 1:
            raise ValueError(f"at_once must be 1 or more, got {at_once}")
        self.at_once = at_once
        self.name = name

    def serve(self, items: Sequence[T], one: Callable[[T], int]) -> int:
        """``one(item)`` for every item, ``at_once`` at a time; the sum of what they
        returned. If any failed, one of their errors is raised once every item has been
        served."""
        if self.at_once == 1 or len(items) < 2:
            return sum(one(item) for item in items)
        lock = threading.Lock()
        left = iter(items)
        totals: list[int] = []
        failures: list[Exception] = []

        def work() -> None:
            while True:
                with lock:
                    item = next(left, _END)
                if item is _END:
                    return
                try:
                    done = one(item)  # type: ignore[arg-type]
                except Exception as exc:
                    failures.append(exc)
                else:
                    totals.append(done)

        threads = [
            threading.Thread(target=work, name=f"{self.name}-{i}", daemon=True)
            for i in range(min(self.at_once, len(items)))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if failures:
            raise failures[0]
        return sum(totals)
