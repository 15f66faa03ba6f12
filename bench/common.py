"""A tiny load harness, CPU pinning and the run context for the benchmarks.

Why this exists instead of a benchmark library: every figure the project publishes is
a ratio against a baseline measured in the same run on the same machine (absolute
numbers on a 2-core box mean little), so the harness only has to do three things
well — drive a callable from T threads, keep every per-op latency, and report the
CPU placement, because on this machine cross-CPU wakeups dominate single-client
latency and an unpinned p50 is not comparable with a pinned one.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.support.servers import RedisServer

#: The CPU set the process was started with, captured before any ``--pin``, so the
#: private servers we spawn are not silently pinned to the client's CPU by inheritance.
ORIGINAL_AFFINITY: frozenset[int] = frozenset(os.sched_getaffinity(0))

Op = Callable[[int, int], "str | None"]
"""A benchmarked operation: ``op(thread_index, op_index) -> outcome label`` (None = "ok").

``op_index`` is unique per thread across warm-up and measurement, so an op can
derive a distinct slot from it without coordination between threads.
"""


# --------------------------------------------------------------------------- results


@dataclass
class Row:
    """One line of the report. Figures left as None render as "–" (not applicable)."""

    what: str
    threads: int | None = None
    ops_per_s: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    notes: str = ""
    #: ratio of ops_per_s to the no-op Lua baseline at the same thread count (filled by run.py)
    ratio: float | None = None
    ratio_ref: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly view (for ``--json``)."""
        return {
            "what": self.what,
            "threads": self.threads,
            "ops_per_s": self.ops_per_s,
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "ratio_vs_noop": self.ratio,
            "ratio_ref": self.ratio_ref,
            "notes": self.notes,
            "data": self.data,
        }


@dataclass
class LoadResult:
    """Raw outcome of :func:`run_load`; keeps every latency so percentiles are exact."""

    threads: int
    wall_s: float
    latencies_ns: list[int]
    outcomes: Counter[str]
    errors: list[str]
    #: latencies split by outcome label: winners and losers of a race wait differently
    by_outcome: dict[str, list[int]] = field(default_factory=dict)

    @property
    def ops(self) -> int:
        return len(self.latencies_ns)

    @property
    def ops_per_s(self) -> float:
        return self.ops / self.wall_s if self.wall_s > 0 else 0.0

    def rate(self, outcome: str) -> float:
        """Per-second rate of one outcome label (e.g. successful commits only)."""
        return self.outcomes[outcome] / self.wall_s if self.wall_s > 0 else 0.0

    def pct_ms(self, q: float, outcome: str | None = None) -> float | None:
        """Nearest-rank percentile in ms (exact: we keep all samples), optionally per outcome."""
        samples = self.latencies_ns if outcome is None else self.by_outcome.get(outcome, [])
        if not samples:
            return None
        ordered = sorted(samples)
        idx = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
        return ordered[idx] / 1e6

    def row(self, what: str, notes: str = "", **data: Any) -> Row:
        """Turn this result into a report row; outcome counts go to ``data``."""
        extra = dict(data)
        extra["ops"] = self.ops
        extra["wall_s"] = round(self.wall_s, 4)
        extra["outcomes"] = dict(self.outcomes)
        if self.errors:
            extra["errors"] = self.errors
            notes = (notes + "; " if notes else "") + f"errors: {self.errors[0]}"
        return Row(
            what=what,
            threads=self.threads,
            ops_per_s=self.ops_per_s,
            p50_ms=self.pct_ms(0.50),
            p99_ms=self.pct_ms(0.99),
            notes=notes,
            data=extra,
        )


# --------------------------------------------------------------------------- load driver


def run_load(
    op: Op,
    *,
    threads: int,
    ops_per_thread: int | None = None,
    seconds: float | None = None,
    warmup: int = 0,
    before: Callable[[int, int], bool | None] | None = None,
) -> LoadResult:
    """Run ``op`` from ``threads`` threads and time each call with ``perf_counter_ns``.

    Stops per thread after ``ops_per_thread`` measured ops or when ``seconds`` have
    elapsed since the common start, whichever comes first. ``warmup`` ops run before
    a barrier and are not recorded (connection set-up, script cache, prepared
    statements). ``before(t, i)`` runs untimed ahead of every op — e.g. :class:`Race`'s
    barrier so contenders really race; returning False stops that thread. With a
    barrier give no ``seconds`` limit (threads would leave it unevenly); the
    :class:`Race` gate applies its own deadline to all contenders at once.

    An exception in ``op`` is counted as outcome ``error:<Type>`` (first few messages
    kept) rather than aborting the run: a benchmark should report partial failure.
    """
    if ops_per_thread is None and seconds is None:
        raise ValueError("give ops_per_thread, seconds, or both")
    t_start = [0.0]
    # The barrier action runs once, before any party is released: a single common t0.
    start_gate = threading.Barrier(
        threads + 1, action=lambda: t_start.__setitem__(0, time.perf_counter())
    )
    lat: list[list[int]] = [[] for _ in range(threads)]
    lat_by: list[dict[str, list[int]]] = [{} for _ in range(threads)]
    outs: list[Counter[str]] = [Counter() for _ in range(threads)]
    errs: list[str] = []
    errs_lock = threading.Lock()
    t_end = [0.0] * threads

    def call(t: int, i: int, record: bool) -> bool:
        if before is not None and before(t, i) is False:
            return False
        t0 = time.perf_counter_ns()
        try:
            label = op(t, i) or "ok"
        except Exception as exc:
            label = f"error:{type(exc).__name__}"
            with errs_lock:
                if len(errs) < 3:
                    errs.append(f"{type(exc).__name__}: {exc}"[:200])
        t1 = time.perf_counter_ns()
        if record:
            lat[t].append(t1 - t0)
            lat_by[t].setdefault(label, []).append(t1 - t0)
            outs[t][label] += 1
        return True

    def worker(t: int) -> None:
        i = 0
        for _ in range(warmup):
            call(t, i, record=False)
            i += 1
        start_gate.wait()
        deadline = t_start[0] + seconds if seconds is not None else math.inf
        n = 0
        while (ops_per_thread is None or n < ops_per_thread) and time.perf_counter() < deadline:
            if not call(t, i, record=True):
                break
            i += 1
            n += 1
        t_end[t] = time.perf_counter()

    pool = [threading.Thread(target=worker, args=(t,), daemon=True) for t in range(threads)]
    for th in pool:
        th.start()
    start_gate.wait()
    for th in pool:
        th.join()
    merged = [x for per in lat for x in per]
    total: Counter[str] = Counter()
    for c in outs:
        total.update(c)
    by: dict[str, list[int]] = {}
    for per_t in lat_by:
        for label, xs in per_t.items():
            by.setdefault(label, []).extend(xs)
    wall = max(t_end) - t_start[0]
    return LoadResult(threads, wall, merged, total, errs, by)


class Race:
    """``n`` contenders released together each round for one fresh slot; winners tallied.

    Why rounds with a barrier rather than free-running threads: a race is only a race
    if the writes are in flight together, and per-round tallies let the report check
    the property that matters (exactly one winner per contested slot) beside the speed.
    Op ``i`` of every thread is round ``i``; the op returns a label starting with
    ``won`` for a success. Stops after ``rounds`` measured rounds or ``seconds``
    (checked once per round at the barrier, so all contenders stop together).
    """

    def __init__(self, n: int, *, rounds: int, seconds: float, warmup: int = 3) -> None:
        self.n, self.rounds, self.seconds, self.warmup = n, rounds, seconds, warmup
        self._trips = 0
        self._deadline = math.inf
        self._stop = False
        self._gate = threading.Barrier(n, action=self._tick)
        self._lock = threading.Lock()
        self.tally: dict[int, list[tuple[int, str]]] = {}

    def _tick(self) -> None:
        self._trips += 1
        if self._trips == self.warmup + 1:
            self._deadline = time.perf_counter() + self.seconds
        elif time.perf_counter() > self._deadline:
            self._stop = True

    def _before(self, _t: int, _i: int) -> bool:
        self._gate.wait(timeout=300)
        return not self._stop

    def run(self, op: Op) -> LoadResult:
        """Drive ``op(t, round)`` for all contenders; thread ``t`` is contender ``t``."""

        def recorded(t: int, i: int) -> str | None:
            label = op(t, i) or "ok"
            with self._lock:
                self.tally.setdefault(i, []).append((t, label))
            return label

        return run_load(
            recorded,
            threads=self.n,
            ops_per_thread=self.rounds,
            warmup=self.warmup,
            before=self._before,
        )

    def summary(self) -> dict[str, int]:
        """Per measured round: how many winners, and whether contender 0 (the best) won."""
        winners = [
            [t for t, lab in v if lab.startswith("won")]
            for i, v in self.tally.items()
            if i >= self.warmup
        ]
        return {
            "rounds": len(winners),
            "one_winner": sum(1 for w in winners if len(w) == 1),
            "no_winner": sum(1 for w in winners if not w),
            "double_booked": sum(1 for w in winners if len(w) > 1),
            "first_contender_won": sum(1 for w in winners if w == [0]),
        }


# --------------------------------------------------------------------------- CPU placement


def cpu_info() -> dict[str, Any]:
    """What the numbers depend on: allowed CPUs now vs at start, and the load average."""
    return {
        "nproc": os.cpu_count(),
        "affinity_at_start": sorted(ORIGINAL_AFFINITY),
        "affinity_now": sorted(os.sched_getaffinity(0)),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


def pin_process(cpu: int | None = None) -> int:
    """Pin every thread of this process (and threads created later) to one CPU.

    Why: with client and server free to float over two cores, each request/response
    may wake the other side on the other core; that wake-up, not Redis, dominates
    single-client latency. Pinning the client makes runs comparable. Linux applies
    ``sched_setaffinity(0)`` to the calling thread only, so we set it for every
    existing task; threads started afterwards inherit it. Returns the CPU used.
    """
    allowed = sorted(os.sched_getaffinity(0))
    chosen = allowed[-1] if cpu is None else cpu
    if chosen not in allowed:
        raise ValueError(f"CPU {chosen} not in allowed set {allowed}")
    for tid in os.listdir("/proc/self/task"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(int(tid), {chosen})
    os.sched_setaffinity(0, {chosen})
    return chosen


# --------------------------------------------------------------------------- context


@dataclass
class BenchContext:
    """Everything a benchmark section needs; passed to baselines and the coordinator hook.

    ``seconds``/``warmup`` come from ``--quick`` vs full so every section scales the
    same way. ``redis`` is the shared private server for throughput runs; use
    :meth:`fresh_redis` where an empty keyspace matters (memory).
    """

    quick: bool
    threads: list[int]
    seconds: float
    warmup: int
    redis: RedisServer
    #: racer counts for the round-based races (PostgreSQL and coordinator alike)
    contenders: list[int] = field(default_factory=lambda: [5])
    #: time cap per race case (checked between rounds)
    race_seconds: float = 1.0
    #: length of the adjacent no-op run measured after each throughput row
    paired_seconds: float = 0.3
    server_cpus: set[int] | None = None
    pg_dsn: str = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3"
    notes: list[str] = field(default_factory=list)

    @property
    def redis_url(self) -> str:
        return self.redis.url

    def fresh_redis(self) -> RedisServer:
        """A new empty server (``with ctx.fresh_redis() as srv:``), stopped on exit."""
        return RedisServer(cpus=self.server_cpus, hz=self.redis.hz)

    def paired(self, row: Row) -> Row:
        """Measure the no-op EVALSHA rate right after ``row``, at its thread count.

        Why: this box is shared, and background load moves the no-op rate by tens of
        percent within one run; a baseline taken seconds apart from the row it divides
        is the only ratio that survives that. run.py prefers it over the section mean.
        """
        if row.threads is None or row.ops_per_s is None:
            return row
        client = self.redis.client()
        try:
            script = client.register_script("return 1")
            script()

            def op(_t: int, _i: int) -> str | None:
                script()
                return None

            res = run_load(op, threads=row.threads, seconds=self.paired_seconds, warmup=20)
        finally:
            client.close()
        row.data["noop_adjacent_ops_per_s"] = res.ops_per_s
        return row

    def note(self, msg: str) -> None:
        """Record (and print at once) a skip/unavailable message for the report."""
        print(f"[bench] note: {msg}", file=sys.stderr, flush=True)
        self.notes.append(msg)
