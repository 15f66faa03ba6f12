"""What each durability mode costs a commit, against ``fast`` on the same server in the same run.

    python -m bench.durability [--seconds 2] [--threads 1 4]

* ``local`` on the embedded engine (Valkey, ``WAITAOF 1 0``: wait for the fsync of
  the append-only file) beside ``fast`` on that engine (``appendfsync everysec``).
* ``replicated`` on a Redis primary with one replica (``WAIT 1``) beside ``fast`` on
  that same primary.

Each mode's commits/s is divided by ``fast`` measured right before it on the same
server and thread count, and each ``fast`` by a no-op EVALSHA on that server, so the
figures survive the background load of a shared machine (bench/README.md).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import LoadResult, run_load
from coordinator import Coordinator
from coordinator.store.embedded import temporary_embedded
from tests.support.servers import RedisServer

BOOKING = timedelta(minutes=30)
NO_LIMIT: dict[str, Any] = {"rate_limit_per_second": 1_000_000, "rate_limit_burst": 1_000_000}
_RUN = itertools.count()


def commits(coord: Coordinator, threads: int, seconds: float) -> LoadResult:
    """Uncontended commits (each thread its own owner, top-ranked agent, fresh slots)."""
    clients = []
    for _ in range(threads):
        owner = coord.owners.create()
        clients.append(
            coord.client(coord.agents.create(owner.user_id, name="b", priority=1).api_key)
        )
    base = datetime(2031, 1, 6, tzinfo=UTC) + timedelta(days=400 * next(_RUN))

    def op(t: int, i: int) -> str | None:
        start = base + i * BOOKING
        clients[t].bookings.commit(start=start, end=start + BOOKING)
        return None

    return run_load(op, threads=threads, seconds=seconds, warmup=20)


def noop(client: Any, threads: int, seconds: float) -> LoadResult:
    script = client.register_script("return 1")
    script()

    def op(_t: int, _i: int) -> str | None:
        script()
        return None

    return run_load(op, threads=threads, seconds=seconds, warmup=20)


@contextlib.contextmanager
def primary_with_replica() -> Iterator[RedisServer]:
    with RedisServer() as primary:
        with RedisServer(extra_args=["--replicaof", "127.0.0.1", str(primary.port)]) as replica:
            probe = replica.client()
            deadline = time.monotonic() + 15
            while probe.info("replication").get("master_link_status") != "up":
                if time.monotonic() > deadline:
                    raise RuntimeError("the replica never linked to its primary")
                time.sleep(0.01)
            yield primary


def row(what: str, res: LoadResult, base: LoadResult, base_name: str) -> str:
    p50, p99 = res.pct_ms(0.5) or 0.0, res.pct_ms(0.99) or 0.0
    ratio = res.ops_per_s / base.ops_per_s if base.ops_per_s else float("nan")
    return (
        f"{what:<44}{res.threads:>3}{res.ops_per_s:>10.0f}{p50:>9.2f}{p99:>9.2f}"
        f"{ratio:>8.2f} x {base_name}"
    )


def measure(
    server: str, coords: dict[str, Coordinator], threads: list[int], seconds: float
) -> None:
    fast = coords["fast"]
    for t in threads:
        base = noop(fast.redis, t, seconds)
        print(row(f"{server}: no-op EVALSHA", base, base, "no-op"))
        first = commits(fast, t, seconds)
        print(row(f"{server}: commit, fast", first, base, "no-op"))
        for mode, coord in coords.items():
            if mode == "fast":
                continue
            res = commits(coord, t, seconds)
            print(row(f"{server}: commit, {mode}", res, first, "fast"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args()
    print(f"{'':44}{'thr':>3}{'ops/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'ratio':>8}")
    with temporary_embedded("agentdraft-bench-durability-") as folder:
        coords = {
            mode: Coordinator.embedded(folder, durability=mode, arbitration_window_ms=0, **NO_LIMIT)
            for mode in ("fast", "local")
        }
        version = coords["fast"].redis.info("server").get("valkey_version", "?")
        measure(f"embedded Valkey {version}", coords, args.threads, args.seconds)
        for coord in coords.values():
            coord.close()
    with primary_with_replica() as primary:
        coords = {
            mode: Coordinator.from_url(
                primary.url, durability=mode, arbitration_window_ms=0, **NO_LIMIT
            )
            for mode in ("fast", "replicated")
        }
        version = coords["fast"].redis.info("server")["redis_version"]
        measure(f"Redis {version} + 1 replica", coords, args.threads, args.seconds)
        for coord in coords.values():
            coord.close()


if __name__ == "__main__":
    main()
