"""Hosts that just failed to answer are left alone for a while, so they cost others little.

The webhook dispatcher and the connector sync worker are one thread each for every
owner. Deadlines bound one call (:mod:`coordinator.deadlines`) and the outbox budget
bounds one calendar's pass (``RetryPolicy.calendar_budget_seconds``), but an owner whose
receiver or calendar server never answers in time still cost every other owner one
deadline on every pass in which it had something new: an owner who books on their own
calendar all day made every pass wait 10 s, and a few such owners made every delivery
and every push wait minutes.

A target (a webhook endpoint, a calendar connector) whose call failed without an answer
(refused, timed out, cut off at its deadline) is cooling down: the worker does not call
it until the cool-down ends. A calendar whose every target is cooling down is not read
meanwhile (only its list of targets, in case the owner added one), so its entries wait
where they are and no attempt is counted for them; where only one of a calendar's
several targets is, its share of an entry is a failed attempt with no call made, and
the outbox's backoff and dead-lettering apply as they would to a receiver that is down.
Each failure in a row doubles the cool-down, up to a cap; an answer, even an error
status, ends it. The state is per worker process and in memory: a restarted worker
tries each target once more.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = ["Cooldowns"]


@dataclass(slots=True)
class _Cooling:
    until: float
    seconds: float
    why: str


class Cooldowns:
    """Per target key, when it may be called again.

    ``first_seconds``: the first cool-down; each failure after it (without an answer in
    between) doubles the last one, up to ``cap_seconds``. ``clock``: monotonic seconds.
    """

    def __init__(
        self,
        first_seconds: float = 30.0,
        cap_seconds: float = 600.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < first_seconds <= cap_seconds:
            raise ValueError("need 0 < first_seconds <= cap_seconds")
        self.first_seconds = first_seconds
        self.cap_seconds = cap_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._cooling: dict[str, _Cooling] = {}

    def remaining(self, key: str) -> float:
        """Seconds until ``key`` may be called again; 0 when it may be called now."""
        with self._lock:
            cooling = self._cooling.get(key)
            return 0.0 if cooling is None else max(0.0, cooling.until - self._clock())

    def all_cooling(self, keys: Iterable[str]) -> bool:
        """Whether there are keys and every one is cooling down: a calendar whose every
        target is, is left alone (nothing read, no attempt counted) until one is not."""
        keys = list(keys)
        return bool(keys) and all(self.remaining(key) > 0 for key in keys)

    def why(self, key: str) -> str | None:
        """The failure that started ``key``'s cool-down while it lasts, else None."""
        with self._lock:
            cooling = self._cooling.get(key)
            if cooling is None or cooling.until <= self._clock():
                return None
            return cooling.why

    def failed(self, key: str, why: str) -> float:
        """``key`` did not answer: start its next cool-down and return its length."""
        with self._lock:
            last = self._cooling.get(key)
            seconds = (
                self.first_seconds if last is None else min(self.cap_seconds, 2 * last.seconds)
            )
            self._cooling[key] = _Cooling(self._clock() + seconds, seconds, why)
            return seconds

    def answered(self, key: str) -> None:
        """``key`` answered (any status): it is called as usual again."""
        with self._lock:
            self._cooling.pop(key, None)
