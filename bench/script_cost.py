"""What the hot Lua scripts cost Redis itself: µs of server CPU per call.

    python -m bench.script_cost [--calls 2000] [--engine redis|embedded]

Why this exists: on the 2-core machine Redis shares the cores with the HTTP workers, so
the scripts' own CPU caps throughput once the Python side is fast. Client-side timings
mix that CPU with round trips and Python; ``INFO commandstats`` does not. Each phase
resets the stats (CONFIG RESETSTAT), drives one kind of call through the public Python
API and reads ``cmdstat_evalsha`` back: the scripts alone (Redis 7 times the commands
a script issues inside its EVALSHA). A no-op EVALSHA (``return 1``) measured in the
same run is the baseline, so the ratio carries over to another machine.

Phases, on one private server (redis-server, or with ``--engine embedded`` the
embedded Valkey), one owner and one top-ranked agent without rate limits:

* ``commit``: ``client.bookings.commit`` of 30-minute bookings on fresh slots, 48 a
  UTC day, uncontended (no idempotency key, default rules);
* ``hold``: ``client.bookings.hold`` the same way, on days of their own;
* ``read_booking``: ``client.bookings.get`` of committed bookings;
* ``read_availability, full day``: ``client.availability.list`` over one UTC day
  holding 48 commits (every bucket taken), and over an empty day.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import redis

from coordinator import Coordinator
from tests.support.servers import RedisServer

BOOKING = timedelta(minutes=30)
PER_DAY = 48
FIRST_DAY = datetime(2040, 1, 2, tzinfo=UTC)
NO_LIMIT: dict[str, Any] = {"rate_limit_per_second": 100_000, "rate_limit_burst": 100_000}


def script_usec(admin: redis.Redis, run: Callable[[], int]) -> tuple[float, int, int]:
    """Server µs per EVALSHA while ``run`` makes its calls: (µs, calls counted, made)."""
    admin.config_resetstat()
    made = run()
    stats = admin.info("commandstats").get("cmdstat_evalsha", {})
    calls = int(stats.get("calls", 0))
    return float(stats.get("usec", 0)) / max(calls, 1), calls, made


NOOP = "return 1"


def measure(coord: Coordinator, admin: redis.Redis, n: int) -> list[tuple[str, float, int]]:
    """One (label, µs per call, calls) per phase, the no-op first and last."""
    owner = coord.owners.create()
    agent = coord.agents.create(owner.user_id, name="bench", priority=1, **NO_LIMIT)
    client = coord.client(agent.api_key)
    noop = admin.register_script(NOOP)
    noop()

    def noops() -> int:
        for _ in range(n):
            noop()
        return n

    ids: list[str] = []

    def slot(i: int, day0: int = 0) -> tuple[datetime, datetime]:
        # Every other day, so a full day's neighbours (read for buffers) are empty.
        day, k = divmod(i, PER_DAY)
        start = FIRST_DAY + timedelta(days=day0 + 2 * day) + k * BOOKING
        return start, start + BOOKING

    def commits() -> int:
        for i in range(n):
            s, e = slot(i)
            ids.append(client.bookings.commit(start=s, end=e).booking_id)
        return n

    hold_day0 = 2 * (n // PER_DAY) + 3

    def holds() -> int:
        for i in range(n):
            s, e = slot(i, hold_day0)
            client.bookings.hold(start=s, end=e)
        return n

    def reads() -> int:
        for i in range(n):
            client.bookings.get(ids[i % len(ids)])
        return n

    def day_reads(day: datetime) -> Callable[[], int]:
        def go() -> int:
            for _ in range(n):
                free = client.availability.list(start=day, end=day + timedelta(days=1))
                assert not free or day != FIRST_DAY
            return n

        return go

    empty = FIRST_DAY + timedelta(days=2 * hold_day0 + 7)
    phases: list[tuple[str, str, Callable[[], int]]] = [
        ("no-op EVALSHA (return 1)", "noop", noops),
        ("commit (uncontended, top agent)", "commit", commits),
        ("hold (uncontended, top agent)", "hold", holds),
        ("read_booking", "read_booking", reads),
        ("read_availability, full day (48 bookings)", "read_availability", day_reads(FIRST_DAY)),
        ("read_availability, empty day", "read_availability", day_reads(empty)),
        ("no-op EVALSHA, again", "noop", noops),
    ]
    # One untimed call of each script first: loading it is not its cost.
    s, e = slot(0, 2 * hold_day0 + 11)
    client.bookings.get(client.bookings.commit(start=s, end=e).booking_id)
    client.availability.list(start=empty, end=empty + timedelta(days=1))
    rows = []
    for label, _script, go in phases:
        usec, calls, made = script_usec(admin, go)
        if calls != made:  # another script on the side (a rules re-read): said, not hidden
            label += f" (+{calls - made} other)"
        rows.append((label, usec, calls))
    return rows


@contextmanager
def engine(kind: str) -> Iterator[tuple[Coordinator, redis.Redis]]:
    """A private server, the coordinator on it, and a client that may reset stats."""
    if kind == "redis":
        with RedisServer() as srv:
            yield Coordinator.from_url(srv.url), srv.client()
        return
    from coordinator.store.embedded import admin_client, stop_embedded

    folder = tempfile.mkdtemp(prefix="bench-script-cost-")
    try:
        coord = Coordinator.embedded(folder)
        yield coord, admin_client(folder)
    finally:
        stop_embedded(folder)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=2000, help="calls per phase")
    ap.add_argument("--engine", choices=("redis", "embedded"), default="redis")
    args = ap.parse_args(argv)
    with engine(args.engine) as (coord, admin):
        version = admin.info("server").get("redis_version")
        rows = measure(coord, admin, args.calls)
    base = (rows[0][1] + rows[-1][1]) / 2
    print(f"engine {args.engine} (server {version}), {args.calls} calls per phase")
    print(f"{'script':<58} {'µs/call':>9} {'x no-op':>8}")
    for label, usec, _calls in rows:
        print(f"{label:<58} {usec:>9.1f} {usec / base:>8.1f}")


if __name__ == "__main__":
    main()
