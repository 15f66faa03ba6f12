"""Per-key token buckets in Redis: exact under threads and processes, typed when empty.

Most tests give an agent a bucket that barely refills (0.001 tokens/s: one token per
~17 minutes) so counts are exact however long a test takes.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from typing import Any

import pytest

from coordinator import RateLimited, Settings, ValidationError
from tests.support.servers import Backend

from .access_worker import spend_tokens
from .conftest import Calendar, at
from .test_bad_input import snapshot

NO_REFILL = 0.001


def limited_agent(cal: Calendar, burst: int, per_second: float = NO_REFILL) -> Any:
    made = cal.coord.agents.create(
        cal.user_id,
        name="limited",
        priority=1,
        rate_limit_per_second=per_second,
        rate_limit_burst=burst,
    )
    return made, cal.coord.client(made.api_key)


def test_the_defaults_are_sixty_per_second_with_bursts_of_six_hundred(cal: Calendar) -> None:
    assert (Settings().rate_limit_per_second, Settings().rate_limit_burst) == (60, 600)
    a = cal.agent(1)
    agent = cal.coord.agents.get(cal.user_id, a.agent_id)
    assert (agent.rate_limit_per_second, agent.rate_limit_burst) == (None, None)


def test_an_empty_bucket_raises_rate_limited_with_retry_after(cal: Calendar) -> None:
    _, c = limited_agent(cal, burst=3)
    for _ in range(3):
        c.agents.me()
    with pytest.raises(RateLimited) as err:
        c.agents.me()
    e = err.value
    assert (e.status, e.error) == (429, "rate_limited")
    assert e.retry_after_ms == pytest.approx(1000 / NO_REFILL, rel=0.01)
    assert e.retry_after == -(-e.retry_after_ms // 1000)  # whole seconds, rounded up
    assert e.body["retry_after"] == e.retry_after


def test_reads_and_writes_share_one_bucket_and_a_limited_write_writes_nothing(
    cal: Calendar,
) -> None:
    _, c = limited_agent(cal, burst=3)
    booked = c.bookings.commit(start=at(0), end=at(30))
    c.bookings.get(booked.booking_id)
    c.availability.list(start=at(0), end=at(60))
    before = snapshot(cal)
    for call in (
        lambda: c.bookings.commit(start=at(60), end=at(90)),
        lambda: c.bookings.cancel(booked.booking_id),
        lambda: c.bookings.get(booked.booking_id),
        lambda: c.audit.list(),
        lambda: c.approvals.request("refund", "refund order 7"),
    ):
        with pytest.raises(RateLimited):
            call()
    assert snapshot(cal) == before


def test_the_bucket_refills_at_its_rate(cal: Calendar) -> None:
    _, c = limited_agent(cal, burst=2, per_second=20)
    c.agents.me()
    c.agents.me()
    with pytest.raises(RateLimited) as err:
        c.agents.me()
    assert err.value.retry_after_ms <= 50
    deadline = time.monotonic() + 5
    while True:  # poll the condition, never sleep for a fixed time
        try:
            c.agents.me()
            break
        except RateLimited as again:
            assert time.monotonic() < deadline, "the bucket never refilled"
            time.sleep(again.retry_after_ms / 1000)


def test_one_agents_limit_does_not_touch_another(cal: Calendar) -> None:
    made, c = limited_agent(cal, burst=1)
    other = cal.agent(2)
    c.agents.me()
    with pytest.raises(RateLimited):
        c.agents.me()
    for _ in range(20):
        other.agents.me()
    # The owner lifts the limit: the next call passes (it is read on every call).
    cal.coord.agents.set_rate_limit(made.agent_id, per_second=1000, burst=1000)
    c.agents.me()
    assert "agent.rate_limit_set" in cal.audit_types()


def test_rotating_the_key_does_not_refill_the_bucket(cal: Calendar) -> None:
    made, c = limited_agent(cal, burst=1)
    c.agents.me()
    fresh = cal.coord.client(cal.coord.agents.rotate(made.agent_id).api_key)
    with pytest.raises(RateLimited):
        fresh.agents.me()


def test_the_bucket_rides_in_the_agent_hash_and_no_key_of_its_own(cal: Calendar) -> None:
    # One HMGET reads the key check and the bucket, one HSET charges it: no second key
    # to read, write and expire on every call (versions before kept P..'rl:<agent>').
    made, c = limited_agent(cal, burst=5)
    keys = cal.coord.store.keys
    agent_key = keys.agent(cal.user_id, made.agent_id)
    booked = c.bookings.commit(start=at(0), end=at(30))
    c.bookings.get(booked.booking_id)
    c.availability.list(start=at(0), end=at(60))
    c.agents.me()
    tokens, ts = cal.coord.redis.hmget(agent_key, "rl_tokens", "rl_ts")
    assert float(tokens) == pytest.approx(1, abs=0.01)  # four of five taken, ~no refill
    assert int(ts) > 0
    assert list(cal.coord.redis.scan_iter(match=keys.prefix(cal.user_id) + "rl:*")) == []
    # An agent's bucket is its own: another agent's calls leave this one as it was.
    cal.agent(2).agents.me()
    assert cal.coord.redis.hget(agent_key, "rl_tokens") == tokens


def test_coordinator_defaults_apply_to_agents_without_their_own(make_calendar: Any) -> None:
    cal = make_calendar(rate_limit_per_second=NO_REFILL, rate_limit_burst=2)
    c = cal.agent(1)
    c.agents.me()
    c.agents.me()
    with pytest.raises(RateLimited):
        c.agents.me()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"rate_limit_per_second": 0}, "rate_limit_per_second"),
        ({"rate_limit_burst": 0}, "rate_limit_burst"),
        ({"rate_limit_burst": 2.5}, "rate_limit_burst"),
    ],
)
def test_bad_limits_name_the_field(cal: Calendar, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        cal.coord.agents.create(cal.user_id, name="x", priority=1, **kwargs)
    assert err.value.field == field


def test_threads_racing_one_key_get_exactly_the_burst(cal: Calendar) -> None:
    burst, threads, calls = 25, 8, 10
    _, c = limited_agent(cal, burst=burst)
    barrier = threading.Barrier(threads)
    counts = {"ok": 0, "limited": 0}
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        for _ in range(calls):
            try:
                c.agents.me()
                key = "ok"
            except RateLimited:
                key = "limited"
            with lock:
                counts[key] += 1

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert counts == {"ok": burst, "limited": threads * calls - burst}


def test_processes_sharing_one_key_share_one_bucket(backend: Backend, make_calendar: Any) -> None:
    burst, processes, threads, calls = 20, 3, 3, 6
    cal = make_calendar()
    made, _ = limited_agent(cal, burst=burst)
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(processes * threads)
    results = ctx.Queue()
    procs = [
        ctx.Process(
            target=spend_tokens,
            args=(
                backend.url,
                str(backend.data_dir) if backend.data_dir else None,
                made.api_key,
                threads,
                calls,
                barrier,
                results,
            ),
        )
        for _ in range(processes)
    ]
    for p in procs:
        p.start()
    got = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert sum(ok for ok, _, _ in got) == burst
    assert sum(limited for _, limited, _ in got) == processes * threads * calls - burst
    assert all(wait is None or wait >= 1 for _, _, wait in got)
