"""coordinator/calendar_pool.py: a pass serves its calendars a few at a time."""

from __future__ import annotations

import threading

import pytest

from coordinator.calendar_pool import CalendarPool
from coordinator.outbox import RetryPolicy


def test_calendars_are_served_at_once_up_to_the_pools_size() -> None:
    """Three calendars that each wait for the other two: served one after another the
    first would wait forever (here: until the barrier's timeout breaks it)."""
    pool = CalendarPool(3, "test")
    barrier = threading.Barrier(3, timeout=10)
    threads: set[str] = set()

    def one(item: int) -> int:
        threads.add(threading.current_thread().name)
        barrier.wait()
        return item

    assert pool.serve([1, 2, 3], one) == 6
    assert len(threads) == 3
    assert threading.current_thread().name not in threads
    assert not any(t.name in threads for t in threading.enumerate())  # gone with the pass


def test_a_pool_of_one_or_a_single_calendar_runs_in_the_callers_thread() -> None:
    me = threading.current_thread()
    seen: list[threading.Thread] = []

    def one(item: int) -> int:
        seen.append(threading.current_thread())
        return item

    assert CalendarPool(1, "test").serve([1, 2], one) == 3
    assert CalendarPool(4, "test").serve([5], one) == 5
    assert seen == [me, me, me]


def test_a_failing_calendar_does_not_stop_the_others_and_its_error_comes_after() -> None:
    pool = CalendarPool(2, "test")
    served: list[int] = []

    def one(item: int) -> int:
        if item == 1:
            raise RuntimeError("calendar 1 broke")
        served.append(item)
        return item

    with pytest.raises(RuntimeError, match="calendar 1 broke"):
        pool.serve([1, 2, 3], one)
    assert sorted(served) == [2, 3]


def test_a_pool_needs_at_least_one_thread() -> None:
    with pytest.raises(ValueError, match="calendars_at_once must be 1 or more"):
        RetryPolicy(calendars_at_once=0)
    with pytest.raises(ValueError, match="at_once"):
        CalendarPool(0, "test")
