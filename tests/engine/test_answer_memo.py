"""The availability answer memo (coordinator/answer_memo.py) and the per-client plans.

An answer is kept by everything it depends on, the clock only through the first start
on the grid, so these tests hold it to :func:`~coordinator.slots.free_slots` for random
calendars at two clocks (the second call often answered from the memo), check that it
stays bounded and shared safely by racing threads, and that a caller who changes the
answer's list gets JSON of what it holds.
"""

from __future__ import annotations

import threading

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coordinator import ValidationError
from coordinator.answer_memo import AnswerMemo, first_start
from coordinator.ruleset import RuleSet, RulesSnapshot
from coordinator.slots import free_slots

from .conftest import Calendar, at
from .test_slot_search_property import DAY_MS, T0, live_bookings, rule_sets


def _json(slots: object) -> bytes:
    return orjson.dumps([s.__dict__ for s in slots])  # type: ignore[attr-defined]


@settings(max_examples=300, deadline=None)
@given(
    rules=rule_sets(),
    tz=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"]),
    live=live_bookings(),
    now_off=st.integers(-DAY_MS, 3 * DAY_MS),
    later=st.integers(0, 2 * 60 * 60_000),
    lo_off=st.integers(0, 3 * 96),
    length=st.integers(1, 4 * 96),
    duration=st.sampled_from([5, 15, 30, 60, 240]),
    granularity=st.sampled_from([5, 15, 30, 60]),
    include_holds=st.booleans(),
)
def test_a_memoized_answer_is_the_search_at_either_clock(
    rules: RuleSet,
    tz: str,
    live: list[int],
    now_off: int,
    later: int,
    lo_off: int,
    length: int,
    duration: int,
    granularity: int,
    include_holds: bool,
) -> None:
    # Given one calendar and query, asked at a clock and again a little later
    snap = RulesSnapshot(3, tz, rules)
    lo = T0 + lo_off * 15 * 60_000
    hi = lo + length * 15 * 60_000
    q = (lo, hi, duration, granularity, include_holds)
    now1, now2 = T0 + now_off, T0 + now_off + later
    memo = AnswerMemo()
    # When both are answered through the memo
    first = memo.find(snap, live, now1, *q)
    second = memo.find(snap, live, now2, *q)
    # Then each is what the search finds at its own clock, with its JSON
    assert list(first.slots) == free_slots(snap, live, now1, *q)
    assert list(second.slots) == free_slots(snap, live, now2, *q)
    assert first.json == _json(first.slots) and second.json == _json(second.slots)
    # and the second was the memo's exactly when both clocks reach the same first start
    step = granularity * 60_000
    same_start = first_start(snap, now1, lo, step) == first_start(snap, now2, lo, step)
    assert (second is first) == same_start


def test_the_memo_is_bounded_oldest_out() -> None:
    snap = RulesSnapshot(1, "UTC", RuleSet())
    memo = AnswerMemo(size=3)
    day = [T0 + k * DAY_MS for k in range(5)]
    answers = [memo.find(snap, [], 0, d, d + DAY_MS, 30, 15, True) for d in day]
    assert len(memo) == 3
    assert memo.find(snap, [], 0, day[4], day[4] + DAY_MS, 30, 15, True) is answers[4]
    again = memo.find(snap, [], 0, day[0], day[0] + DAY_MS, 30, 15, True)
    assert again is not answers[0] and again == answers[0]  # evicted, then found again


def test_the_memo_is_bounded_by_the_values_it_holds() -> None:
    # A free day on the 15-minute grid: 95 slots, a key of 7 values: weighs 102
    snap = RulesSnapshot(1, "UTC", RuleSet())
    memo = AnswerMemo(size=1000, weight=2000)
    for k in range(30):
        lo = T0 + k * DAY_MS
        assert len(memo.find(snap, [], 0, lo, lo + DAY_MS, 30, 15, True).slots) == 95
        assert memo.weight <= 2000
    assert len(memo) == 2000 // 102 and memo.weight == len(memo) * 102
    # An answer weighing over an eighth of the bound is answered, never kept
    big = memo.find(snap, [], 0, T0, T0 + 5 * DAY_MS, 30, 15, True)
    assert len(big.slots) == 5 * 96 - 1
    assert memo.find(snap, [], 0, T0, T0 + 5 * DAY_MS, 30, 15, True) is not big
    assert memo.weight <= 2000


def test_snapshots_with_the_same_version_and_text_keep_their_own_answers() -> None:
    # Two snapshots that differ only in their parsed rules (as tests build them): the
    # memo keys a snapshot by identity, never by its version or JSON text
    open_day = RulesSnapshot(1, "UTC", RuleSet())
    mornings = RulesSnapshot(1, "UTC", RuleSet(working_hours={"mon": (("09:00", "12:00"),)}))
    memo = AnswerMemo()
    lo = T0 - T0 % DAY_MS + 3 * DAY_MS  # a Monday (T0 is Friday 2031-03-28)
    a = memo.find(open_day, [], 0, lo, lo + DAY_MS, 60, 60, True)
    b = memo.find(mornings, [], 0, lo, lo + DAY_MS, 60, 60, True)
    assert len(a.slots) == 24 and len(b.slots) == 3


def test_threads_racing_on_a_small_memo_all_get_the_search_answer() -> None:
    snap = RulesSnapshot(1, "UTC", RuleSet(buffer_after_min=10))
    memo = AnswerMemo(size=4)
    queries = [
        ([(T0 // 300_000) + k, (T0 // 300_000) + k + 6, 0, T0 + k * 300_000], T0 + k * 3_600_000)
        for k in range(16)
    ]
    expected = [free_slots(snap, live, 0, lo, lo + DAY_MS, 30, 15, True) for live, lo in queries]
    start = threading.Barrier(8)
    wrong: list[int] = []
    errors: list[BaseException] = []

    def reader(offset: int) -> None:
        start.wait()
        try:
            for n in range(400):
                i = (n + offset) % len(queries)
                live, lo = queries[i]
                if (
                    list(memo.find(snap, live, 0, lo, lo + DAY_MS, 30, 15, True).slots)
                    != (expected[i])
                ):
                    wrong.append(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and wrong == []
    assert len(memo) <= 4


def test_an_answer_changed_by_its_caller_is_encoded_as_it_stands(cal: Calendar) -> None:
    a = cal.agent(1)
    found = a.availability.list(start=at(0), end=at(120))
    assert found.slots_json() == _json(found)
    again = a.availability.list(start=at(0), end=at(120))
    assert again.slots_json() is found.slots_json()  # one answer, encoded once
    again.pop()
    again.reverse()
    assert orjson.loads(again.slots_json()) == orjson.loads(_json(again))
    assert len(orjson.loads(again.slots_json())) == len(found) - 1
    assert found.slots_json() == _json(found)  # the other caller's list is untouched


def test_the_same_bad_text_query_is_refused_every_time(cal: Calendar) -> None:
    # Checked text queries are kept; a refused one is not, so it is refused again
    a = cal.agent(1)
    for _ in range(2):
        with pytest.raises(ValidationError) as info:
            a.availability.list(start="2031-03-03T12:00:00Z", end="2031-03-03T11:00:00Z")
        assert info.value.field == "end"
        with pytest.raises(ValidationError) as info:
            a.availability.list(start="2031-03-03T12:00:00", end="2031-03-03T13:00:00Z")
        assert info.value.field == "start"
    text = a.availability.list(start="2031-03-03T10:00:00Z", end="2031-03-03T12:00:00Z")
    assert list(text) == list(a.availability.list(start=at(0), end=at(120)))


def test_a_new_booking_reaches_a_memoized_answer(cal: Calendar) -> None:
    a, b = cal.agent(1), cal.agent(2)
    before = a.availability.list(start=at(0), end=at(120))
    assert a.availability.list(start=at(0), end=at(120)).slots_json() is before.slots_json()
    b.bookings.commit(start=at(30), end=at(60))
    after = a.availability.list(start=at(0), end=at(120))
    assert [s.start for s in after] == [at(m) for m in (0, 60, 75, 90)]
    held = b.bookings.hold(start=at(60), end=at(90))
    assert [s.start for s in a.availability.list(start=at(0), end=at(120))] == [at(0), at(90)]
    # the holder's own hold does not block it: the same bookings, another caller's answer
    assert [s.start for s in b.availability.list(start=at(0), end=at(120))] == [
        at(m) for m in (0, 60, 75, 90)
    ]
    b.bookings.release(held.booking_id)
    assert [s.start for s in a.availability.list(start=at(0), end=at(120))] == [
        at(m) for m in (0, 60, 75, 90)
    ]
