"""Availability answers kept for the next caller who asks the same question.

Why: agents poll. Every agent of an owner asks about the same days, and each asks
again and again until something changes; between two writes to a calendar the slot
search and the answer's JSON come out the same every time, and on the HTTP server
they were most of an availability read's Python.

What an answer depends on, all of it in the key:

- the owner's rules: the :class:`~coordinator.ruleset.RulesSnapshot` object itself, which
  the coordinator's rules cache keeps while the rules stay the same;
- the live bookings the read found, as :func:`~coordinator.availability.live_bookings`
  flattened them (a caller's own holds have their own kind there, and a hold that
  expired is already gone);
- the query (range, duration, grid, whether holds block);
- the clock, only through the first start on the grid at or after ``now`` plus the lead
  time: a candidate start lies on the grid, so two clocks in the same grid step (15
  minutes by default) find the same slots. A range that starts later than that has
  answers that do not depend on the clock at all.

A memoized answer is the same objects for every caller: slots are frozen, and the slot
tuple and its JSON are never changed after they are built. The memo is bounded (least
recently added out first), per process, and needs no invalidation: a write changes the
live bookings a read finds, a rules change changes the rules, so either makes a new key.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

import orjson

from .models import Slot
from .ruleset import RulesSnapshot
from .slots import earliest_start, free_slots


class Answer(NamedTuple):
    """One query's open slots and their JSON as the HTTP answer's ``slots`` (a list of
    ``{start, end}``), built once."""

    slots: tuple[Slot, ...]
    json: bytes


def first_start(snap: RulesSnapshot, now_ms: int, lo_ms: int, step_ms: int) -> int:
    """The first candidate start on the grid: the earliest a slot may start (the range's
    start, or ``now`` plus the lead time when later), rounded up to the grid."""
    return -(-earliest_start(snap, now_ms, lo_ms) // step_ms) * step_ms


class AnswerMemo:
    """Answers by everything they depend on (see the module docstring).

    Bounded twice: at most ``size`` answers, and at most ``weight`` values held in all
    (a key's live bookings plus an answer's slots, about 50 bytes each with their
    JSON), so a few answers over two months of a busy calendar cannot hold more memory
    than a thousand single days. An answer over an eighth of ``weight`` is not kept.
    """

    def __init__(self, size: int = 1024, weight: int = 400_000) -> None:
        self._size = size
        self._max_weight = weight
        self._weight = 0
        self._answers: dict[tuple[int | bool, ...], tuple[RulesSnapshot, Answer, int]] = {}
        self._evicting = threading.Lock()

    def find(
        self,
        snap: RulesSnapshot,
        live: list[int],
        now_ms: int,
        lo_ms: int,
        hi_ms: int,
        duration_min: int,
        granularity_min: int,
        include_holds: bool,
    ) -> Answer:
        """:func:`~coordinator.slots.free_slots` with the same arguments, memoized."""
        step = granularity_min * 60_000
        first = first_start(snap, now_ms, lo_ms, step)
        # The snapshot by identity: the entry keeps it alive, so no other can take its id
        # (one owner's readers share the one their coordinator's rules cache holds).
        key = (id(snap), lo_ms, hi_ms, duration_min, step, include_holds, first, *live)
        kept = self._answers.get(key)
        if kept is not None:
            return kept[1]
        slots = tuple(
            free_slots(
                snap, live, now_ms, lo_ms, hi_ms, duration_min, granularity_min, include_holds
            )
        )
        found = Answer(slots, orjson.dumps([s.__dict__ for s in slots]))
        weight = len(key) + len(slots)
        if weight * 8 > self._max_weight:
            return found
        with self._evicting:  # two threads must not both pick the same oldest key
            while self._answers and (
                len(self._answers) >= self._size or self._weight + weight > self._max_weight
            ):
                self._weight -= self._answers.pop(next(iter(self._answers)))[2]
            if key not in self._answers:
                self._answers[key] = (snap, found, weight)
                self._weight += weight
        return found

    def clear(self) -> None:
        with self._evicting:
            self._answers.clear()
            self._weight = 0

    def __len__(self) -> int:
        return len(self._answers)

    @property
    def weight(self) -> int:
        """The values the kept answers hold (see the class docstring)."""
        return self._weight


#: The process's memo (answers are the same for every store and caller with equal keys).
ANSWERS = AnswerMemo()
