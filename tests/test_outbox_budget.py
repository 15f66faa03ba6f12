"""coordinator/outbox.py: a worker's time on one calendar per pass is bounded, and what it
did not get to is offered first next pass as the same attempt (one worker serves every
calendar; the webhook dispatcher's test shows it across calendars)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from coordinator.outbox import RetryPolicy, StreamReader
from tests.support.servers import RedisServer


def test_a_pass_stops_at_its_budget_and_the_rest_comes_first_next_pass_uncounted(
    redis_server: RedisServer,
) -> None:
    r = redis_server.client()
    stream = f"outbox-budget-{uuid.uuid4().hex}"
    ids = [r.xadd(stream, {"n": str(i)}) for i in range(5)]
    reader = StreamReader(
        r, "g", "c", RetryPolicy(visibility_ms=60_000, calendar_budget_seconds=0.5)
    )
    seen: list[tuple[str, int]] = []

    def slow_call(eid: str, fields: dict[str, str], attempt: int) -> int:
        seen.append((eid, attempt))
        time.sleep(0.3)  # the work itself (a slow remote call), not a wait for an event
        return 1

    entries, _ = reader.past_window(stream, lambda: 0)
    assert reader.handle_in_turn(stream, entries, slow_call) == 2
    assert [eid for eid, _ in seen] == ids[:2]
    seen.clear()
    entries, _ = reader.past_window(stream, lambda: 0)
    assert [(eid, n) for eid, _, n in entries] == [(eid, 1) for eid in ids[2:]]
    pending: list[dict[str, Any]] = r.xpending_range(stream, "g", "-", "+", 10)
    assert {p["times_delivered"] for p in pending} == {1}  # no attempt counted


def test_the_first_entry_is_always_handled_however_small_the_budget(
    redis_server: RedisServer,
) -> None:
    r = redis_server.client()
    stream = f"outbox-budget-{uuid.uuid4().hex}"
    ids = [r.xadd(stream, {"n": str(i)}) for i in range(3)]
    reader = StreamReader(r, "g", "c", RetryPolicy(calendar_budget_seconds=0.0))
    handled: list[str] = []
    for _ in range(3):
        entries, _ = reader.past_window(stream, lambda: 0)
        reader.handle_in_turn(stream, entries, lambda eid, f, n: handled.append(eid) or 1)
    assert handled == ids
