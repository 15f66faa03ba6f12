"""What the hot Lua scripts cost Redis itself: µs of server CPU per call.

    python -m bench.script_cost [--calls 2000] [--engine redis|embedded]
        [--baseline-src PATH] [--rounds 3] [--meter usec|instructions]

Why this exists: on the 2-core machine Redis shares the cores with the HTTP workers, so
the scripts' own CPU caps throughput once the Python side is fast. Client-side timings
mix that CPU with round trips and Python; ``INFO commandstats`` does not. Each phase
resets the stats (CONFIG RESETSTAT), drives one kind of call through the public Python
API and reads ``cmdstat_evalsha`` and ``cmdstat_fcall`` back: the scripts alone (Redis 7
times the commands a script issues inside its EVALSHA or FCALL). A no-op EVALSHA
(``return 1``) measured in the same run is the baseline, so the ratio carries over to
another machine. With ``--baseline-src`` (say, a ``git archive`` of main) the same
phases run with that tree's ``coordinator`` too, in a child process, interleaved round
by round with this tree's: before and after from one run.

``--meter instructions`` counts the server's instructions instead (valgrind's
callgrind, from Debian's ``valgrind``; the server runs ~50x slower, so use a few hundred
calls): the same work gives the same count whatever else the machine is doing, where
µs on a shared 2-core machine moved by up to 2x from minute to minute. The server then
runs with the embedded engine's settings (``ENGINE_SETTINGS``: AOF, timer, hash
encoding), whichever binary ``--engine`` names.

Phases, on one private server (redis-server, or with ``--engine embedded`` the
embedded Valkey), one owner and one top-ranked agent without rate limits:

* ``commit``: ``client.bookings.commit`` of 30-minute bookings on fresh slots, 48 a
  UTC day, uncontended (no idempotency key, default rules);
* ``hold``: ``client.bookings.hold`` the same way, on days of their own;
* ``read_booking``: ``client.bookings.get`` of committed bookings;
* ``read_availability, full day``: ``client.availability.list`` over one UTC day
  holding 48 commits (every bucket taken): from the day's cache, then with the cache
  deleted before each call (as after a write); and over an empty day.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis

from coordinator import Coordinator
from tests.support.servers import RedisServer

BOOKING = timedelta(minutes=30)
PER_DAY = 48
FIRST_DAY = datetime(2040, 1, 2, tzinfo=UTC)
NO_LIMIT: dict[str, Any] = {"rate_limit_per_second": 100_000, "rate_limit_burst": 100_000}


def script_stats(admin: redis.Redis) -> tuple[int, float]:
    """Script calls since the last CONFIG RESETSTAT and their µs: EVALSHA and FCALL (the
    hot transitions go out as Functions where the server has them)."""
    stats = admin.info("commandstats")
    calls, usec = 0, 0.0
    for name in ("cmdstat_evalsha", "cmdstat_fcall"):
        calls += int(stats.get(name, {}).get("calls", 0))
        usec += float(stats.get(name, {}).get("usec", 0))
    return calls, usec


def script_usec(admin: redis.Redis, run: Callable[[], int]) -> tuple[float, int, int]:
    """Server µs per script call while ``run`` makes its calls: (µs, calls counted, made)."""
    admin.config_resetstat()
    made = run()
    calls, usec = script_stats(admin)
    return usec / max(calls, 1), calls, made


class Instructions:
    """Counts a callgrind-run server's instructions while a phase runs.

    Why: a count is the same for the same work, so two trees (or two settings) can be
    told apart by a fraction of a percent on a machine whose speed swings by 2x.
    """

    def __init__(self, pid: int, out: Path) -> None:
        self.pid = pid
        self.out = out
        self.dumps = 0

    def _control(self, *args: str) -> None:
        subprocess.run(["callgrind_control", *args, str(self.pid)], check=True, capture_output=True)

    def __call__(self, admin: redis.Redis, run: Callable[[], int]) -> tuple[float, int, int]:
        """Server instructions per call while ``run`` makes its calls: (count, counted, made)."""
        admin.config_resetstat()
        self._control("--zero")
        self._control("--instr=on")
        made = run()
        self._control("--instr=off")
        self._control("--dump")
        self.dumps += 1
        calls, _usec = script_stats(admin)
        return (
            _dump_total(Path(f"{self.out}.{self.dumps}")) / max(made, 1),
            calls,
            made,
        )


def _dump_total(dump: Path) -> int:
    """The instruction total of a callgrind dump (its ``totals:`` line: the counts since
    the last zeroing; ``summary:`` above it counts something else)."""
    for line in dump.read_text().splitlines():
        if line.startswith("totals:"):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {dump}")


Meter = Callable[[redis.Redis, Callable[[], int]], tuple[float, int, int]]

NOOP = "return 1"


def measure(
    coord: Coordinator, admin: redis.Redis, n: int, meter: Meter = script_usec
) -> list[tuple[str, float, int]]:
    """One (label, µs or instructions per call, calls) per phase, the no-op first and last."""
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

    def day_reads(day: datetime, cached: bool = True) -> Callable[[], int]:
        # Uncached: the day's cache key is deleted before each call (a DEL, which the
        # EVALSHA statistics leave out), as after a write to the calendar. A tree from
        # before the cache (--baseline-src) has none to delete.
        day_cache = getattr(coord.store.keys, "day_cache", None)
        caches = [day_cache(owner.user_id, d) for d in _day_numbers(day)] if day_cache else []

        def go() -> int:
            for _ in range(n):
                if caches and not cached:
                    admin.delete(*caches)
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
        (
            "read_availability, full day, uncached",
            "read_availability",
            day_reads(FIRST_DAY, cached=False),
        ),
        ("read_availability, empty day", "read_availability", day_reads(empty)),
        ("no-op EVALSHA, again", "noop", noops),
    ]
    # One untimed call of each script first: loading it is not its cost.
    s, e = slot(0, 2 * hold_day0 + 11)
    client.bookings.get(client.bookings.commit(start=s, end=e).booking_id)
    client.availability.list(start=empty, end=empty + timedelta(days=1))
    rows = []
    for label, _script, go in phases:
        usec, calls, made = meter(admin, go)
        if calls != made:  # another script on the side (a rules re-read): said, not hidden
            label += f" (+{calls - made} other)"
        rows.append((label, usec, calls))
    return rows


def _day_numbers(day: datetime) -> list[int]:
    """The UTC day numbers a one-day availability read of ``day`` can cache."""
    n = int(day.timestamp()) // 86_400
    return [n - 1, n, n + 1]


@contextmanager
def callgrind_engine(kind: str) -> Iterator[tuple[Coordinator, redis.Redis, Instructions]]:
    """A private server run by callgrind (instrumentation off until a phase turns it on),
    with the embedded engine's settings, on a free loopback port."""
    if not shutil.which("valgrind"):
        raise SystemExit("--meter instructions needs valgrind (apt-get install valgrind)")
    from coordinator.store.binaries import server_binary

    try:
        from coordinator.store.embedded import ENGINE_SETTINGS
    except ImportError:  # a tree from before it (--baseline-src): the config it had
        ENGINE_SETTINGS = ("appendonly yes", "appendfsync everysec", "hz 100")
    from tests.support.servers import free_port, redis_server_binary

    binary = server_binary() if kind == "embedded" else redis_server_binary()
    folder = Path(tempfile.mkdtemp(prefix="bench-script-instructions-"))
    port = free_port()
    settings = [
        arg for line in ENGINE_SETTINGS for arg in (f"--{line.split()[0]}", *line.split()[1:])
    ]
    out = folder / "callgrind.out"
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
         binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
         "--save", "", *settings],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        admin = redis.Redis(port=port, decode_responses=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                admin.ping()
                break
            except redis.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"{binary} did not start under valgrind") from None
                time.sleep(0.1)  # valgrind's start-up has no event to wait on
        yield (
            Coordinator.from_url(f"redis://127.0.0.1:{port}/0"),
            admin,
            Instructions(proc.pid, out),
        )
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(folder, ignore_errors=True)


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


def one_run(kind: str, calls: int, meter: str = "usec") -> tuple[str, list[tuple[str, float, int]]]:
    """One private server measured from end to end: (server version, rows)."""
    if meter == "instructions":
        with callgrind_engine(kind) as (coord, admin, count):
            version = str(admin.info("server").get("redis_version"))
            return version, measure(coord, admin, calls, count)
    with engine(kind) as (coord, admin):
        version = str(admin.info("server").get("redis_version"))
        return version, measure(coord, admin, calls)


def baseline_run(
    src: str, kind: str, calls: int, meter: str = "usec"
) -> list[tuple[str, float, int]]:
    """The same measurement with the ``coordinator`` package of another source tree
    (a ``git archive`` of main, say), in a child process on a server of its own. The
    child starts in that tree, so its ``coordinator`` and ``tests`` come first; the
    measuring code is this file, so both trees run the same phases and meters."""
    here = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, here]))
    argv = ["--calls", str(calls), "--engine", kind, "--json", "--meter", meter]
    code = (
        "import runpy, sys; "
        f"sys.argv = ['script_cost', *{argv!r}]; "
        f"runpy.run_path({__file__!r}, run_name='__main__')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=src, check=True, capture_output=True, text=True
    ).stdout
    return [tuple(r) for r in json.loads(out.splitlines()[-1])["rows"]]  # type: ignore[misc]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=2000, help="calls per phase")
    ap.add_argument("--engine", choices=("redis", "embedded"), default="redis")
    ap.add_argument("--baseline-src", help="also measure this tree's coordinator (before)")
    ap.add_argument("--rounds", type=int, default=1, help="runs of each tree, interleaved")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON")
    ap.add_argument(
        "--meter",
        choices=("usec", "instructions"),
        default="usec",
        help="server µs (INFO commandstats) or server instructions (callgrind)",
    )
    args = ap.parse_args(argv)
    runs: dict[str, list[list[tuple[str, float, int]]]] = {"after": [], "before": []}
    version = ""
    for _ in range(args.rounds):
        if args.baseline_src:
            runs["before"].append(
                baseline_run(args.baseline_src, args.engine, args.calls, args.meter)
            )
        version, rows = one_run(args.engine, args.calls, args.meter)
        runs["after"].append(rows)
    if args.json:
        print(json.dumps({"version": version, "rows": runs["after"][-1]}))
        return
    unit = "k instr" if args.meter == "instructions" else "µs"
    print(f"engine {args.engine} (server {version}), {args.calls} calls per phase, "
          f"{args.rounds} round(s); {unit} per call (median over rounds) and × no-op")  # fmt: skip
    cols = [k for k in ("before", "after") if runs[k]]
    print(f"{'script':<46}" + "".join(f" {k + ' ' + unit:>11} {'× no-op':>8}" for k in cols))

    def by_label(run: list[tuple[str, float, int]]) -> dict[str, float]:
        return {label.split(" (+")[0]: usec for label, usec, _calls in run}

    # Rows are matched by label: a baseline tree may measure fewer phases.
    for label, _usec, _calls in runs["after"][0]:
        name = label.split(" (+")[0]
        line = f"{name:<46}"
        for k in cols:
            found = [by_label(r).get(name) for r in runs[k]]
            if None in found:
                line += f" {'-':>11} {'-':>8}"
                continue
            usec = statistics.median(u for u in found if u is not None)
            noop = statistics.median((r[0][1] + r[-1][1]) / 2 for r in runs[k])
            shown = usec / 1000 if args.meter == "instructions" else usec
            line += f" {shown:>11.1f} {usec / noop:>8.1f}"
        print(line)


if __name__ == "__main__":
    main()
