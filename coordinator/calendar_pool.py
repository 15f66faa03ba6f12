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
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["CalendarPool"]

T = TypeVar("T")


class CalendarPool:
    """Up to ``at_once`` threads, started when a pass first needs more than one."""

    def __init__(self, at_once: int, name: str) -> None:
        if at_once < 1:
            raise ValueError(f"at_once must be 1 or more, got {at_once}")
        self.at_once = at_once
        self.name = name
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def serve(self, items: Sequence[T], one: Callable[[T], int]) -> int:
        """``one(item)`` for every item, ``at_once`` at a time; the sum of what they
        returned. The first failure is raised once every item has been served."""
        if self.at_once == 1 or len(items) < 2:
            return sum(one(item) for item in items)
        futures = [self._executor().submit(one, item) for item in items]
        total = 0
        failure: BaseException | None = None
        for future in futures:
            try:
                total += future.result()
            except Exception as exc:
                failure = failure or exc
        if failure is not None:
            raise failure
        return total

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.at_once, thread_name_prefix=self.name)
            return self._pool

    def close(self) -> None:
        """Let the threads go once the calls under way return (a pass is not cut short)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
