"""HTTP throughput: ``coordinator serve`` against a null Starlette app, same load, same run.

Three calls, each driven at fixed concurrency for a fixed time by ``wrk`` (Debian's
``wrk`` package) or, when it is absent, by a bounded Python async load generator:

- ``POST /v1/bookings``: unique 30-minute commits by priority-1 agents of 100 owners
  (no two requests contend for a slot, so every answer is a 201);
- ``GET /v1/availability``: one day of open slots of the caller's owner;
- ``GET /v1/bookings/{id}``: a booking of the caller's owner.

The null server (``bench/null_server.py``) answers the same paths at once on the
same stack (uvicorn + Starlette, one worker), so the ratio of requests/s and of
p99 is what the coordinator costs per request on this machine, whatever its
speed. The coordinator runs one worker on the embedded engine (``coordinator serve
--data-dir``, a Valkey/Redis on a unix socket, as a user who runs ``serve`` with no
store gets) or, with ``--store tcp``, on a private redis-server over TCP.

The bench agents are created with a rate limit of 100,000 requests/s (burst 100,000):
at the default (60/s per agent, 100 agents) a server doing more than 6,000 commits/s
would answer 429s, and the benchmark would measure the limiter, not the server.

Beside each ratio it prints the server process's CPU time per request (user + system
from ``/proc/PID/stat`` before and after the run, the worker processes summed with
``--workers`` > 1): unlike requests/s it barely moves with background load. The store's
CPU per request comes next (the Redis/Valkey process, with the snapshot and AOF-rewrite
children it forked and reaped): the two cores are shared by wrk, the worker and the
store, so the sum of the two CPU columns is what bounds requests/s. Before each row it
waits until the store is not rewriting its AOF or saving a snapshot, so a fork that a
commit run started is not charged to the row after it.

With ``--rounds N`` every call is measured N times, round by round (each round runs
every server once per call), and the table shows each column's median with the range
of the two ratios: on a shared 2-core VM one 10-second run of the same code has been
seen anywhere from 0.18x to 0.28x, so a single run says little about a change of a few
percent.

Run: python -m bench.http_load [--seconds 10] [--connections 32] [--workers 1[,2]]
     [--store embedded|tcp] [--rounds 3]
     [--baseline-src PATH]   # also a coordinator from another tree: before/after
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from coordinator.store.binaries import describe
from tests.support.servers import RedisServer, free_port

if TYPE_CHECKING:
    from coordinator import Coordinator

from .http_collision import _wait

OWNERS = 100
DAY0 = datetime(2031, 1, 6, tzinfo=UTC)
AVAILABILITY_PATH = (
    f"/v1/availability?range_start={DAY0:%Y-%m-%dT%H:%M:%SZ}"
    f"&range_end={DAY0 + timedelta(days=1):%Y-%m-%dT%H:%M:%SZ}"
)


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    statuses: dict[str, int]
    requests: int = 0
    cpu_us: float | None = None  # the server's CPU time per request, microseconds
    store_cpu_us: float | None = None  # the store's (Redis/Valkey and its forks), likewise


def _start(cmd: list[str], port: int) -> tuple[subprocess.Popen[bytes], str]:
    return _started(subprocess.Popen(cmd, env={**os.environ, "PYTHONUNBUFFERED": "1"}), port)


def _started(proc: subprocess.Popen[bytes], port: int) -> tuple[subprocess.Popen[bytes], str]:
    """Wait for ``proc`` to answer on ``port``; stop it (and its workers) if it never does."""
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url, proc)
    except BaseException:
        _stop(proc)
        raise
    return proc, url


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _settled(url: str, pid: int) -> None:
    """Wait until the coordinator has finished starting up, so no run pays for it.

    The server answers as soon as it listens and loads the MCP stack (``/mcp``; seconds
    of CPU) in a background thread; a request to ``/mcp`` returns once that is done in
    the worker that took it. With several workers the others may still be loading, so
    then wait until the server's processes are idle: under 20 ms of CPU in half a second
    (bounded: at most a minute).
    """
    httpx.get(f"{url}/mcp", timeout=120)
    deadline = time.monotonic() + 60
    before = _cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(0.5)  # the sampling period of the idleness check
        now = _cpu_seconds(pid)
        if now - before < 0.02:
            return
        before = now


# -- the workload ---------------------------------------------------------------------------


@dataclass
class Workload:
    keys: list[str]
    booking_ids: list[str]

    @classmethod
    def seed(cls, coord: Coordinator) -> Workload:
        """100 owners, a priority-1 agent each, and one booking each to read back.

        The agents' rate limit is far above what one server can serve (see the module
        docstring), so no request is refused with 429.
        """
        keys: list[str] = []
        ids: list[str] = []
        with coord:
            for _ in range(OWNERS):
                owner = coord.owners.create()
                key = coord.agents.create(
                    owner.user_id,
                    name="bench",
                    priority=1,
                    rate_limit_per_second=100_000,
                    rate_limit_burst=100_000,
                ).api_key
                booked = coord.client(key).bookings.commit(
                    start=DAY0 - timedelta(days=1), end=DAY0 - timedelta(days=1, minutes=-30)
                )
                keys.append(key)
                ids.append(booked.booking_id)
        return cls(keys, ids)


def _lua(workload: Workload, call: str, first_day: datetime = DAY0) -> str:
    """A wrk script: each request uses the next owner's key; commits never collide.

    Commits start at ``first_day`` and move forward; each commit run gets its own days.
    """
    keys = ",".join(f'"{k}"' for k in workload.keys)
    ids = ",".join(f'"{b}"' for b in workload.booking_ids)
    day0 = int(first_day.timestamp())
    return f"""
local keys = {{{keys}}}
local ids = {{{ids}}}
local n = 0
local threads = 1
local counter = 0
-- tid is a global each thread gets from setup()
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end
function init(args)
  threads = tonumber(args[1])
end
local function iso(s) return os.date("!%Y-%m-%dT%H:%M:%SZ", s) end
function request()
  local i = n % #keys + 1
  local slot = math.floor(n / #keys) * threads + (tid or 0)
  n = n + 1
  local auth = {{["Authorization"] = "Bearer " .. keys[i], ["Content-Type"] = "application/json"}}
  if "{call}" == "commit" then
    local s = {day0} + slot * 1800
    local body = '{{"start":"' .. iso(s) .. '","end":"' .. iso(s + 1800) .. '"}}'
    return wrk.format("POST", "/v1/bookings", auth, body)
  elseif "{call}" == "availability" then
    return wrk.format("GET", "{AVAILABILITY_PATH}", auth)
  else
    return wrk.format("GET", "/v1/bookings/" .. ids[i], auth)
  end
end
statuses = {{}}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
"""


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(url: str, script: str, *, threads: int, connections: int, seconds: float) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        out = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{int(seconds)}s",
                "--latency",
                "-s",
                f.name,
                url,
                "--",
                str(threads),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        Path(f.name).unlink()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = int(non2xx.group(1)) if non2xx else 0
    sock = re.search(r"Socket errors: (.*)", out)
    done = re.search(r"(\d+) requests in", out)
    return Result(
        rps,
        p50,
        p99,
        errors,
        {"socket_errors": sock.group(1)} if sock else {},
        int(done.group(1)) if done else 0,
    )


async def _python_load(
    url: str,
    workload: Workload,
    call: str,
    *,
    connections: int,
    seconds: float,
    first_day: datetime = DAY0,
) -> Result:
    """The fallback generator: ``connections`` keep-alive clients for ``seconds``."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    end = time.perf_counter() + seconds

    async def worker(tid: int) -> None:
        n = 0
        async with httpx.AsyncClient(base_url=url, timeout=30) as web:
            while time.perf_counter() < end:
                i = n % len(workload.keys)
                slot = (n // len(workload.keys)) * connections + tid
                n += 1
                headers = {"Authorization": f"Bearer {workload.keys[i]}"}
                t0 = time.perf_counter()
                if call == "commit":
                    s = first_day + timedelta(minutes=30 * slot)
                    body = {"start": s.isoformat(), "end": (s + timedelta(minutes=30)).isoformat()}
                    r = await web.post("/v1/bookings", json=body, headers=headers)
                elif call == "availability":
                    r = await web.get(AVAILABILITY_PATH, headers=headers)
                else:
                    r = await web.get(f"/v1/bookings/{workload.booking_ids[i]}", headers=headers)
                latencies.append((time.perf_counter() - t0) * 1000)
                statuses[str(r.status_code)] = statuses.get(str(r.status_code), 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(t) for t in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    errors = sum(v for k, v in statuses.items() if not k.startswith("2"))
    return Result(
        len(latencies) / elapsed,
        latencies[len(latencies) // 2],
        latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        errors,
        statuses,
        len(latencies),
    )


_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(stat: Path) -> list[str]:
    """A ``/proc/<pid>/stat`` line's fields after the command: state ppid ... utime(11)
    stime(12) cutime(13) cstime(14), counted from 0 at state."""
    return stat.read_text().rsplit(")", 1)[1].split()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and of its child processes (uvicorn's workers)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = _stat_fields(stat)
        except OSError:
            continue  # a process that ended while we looked
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            total += (int(fields[11]) + int(fields[12])) / _TICKS
    return total


def _own_cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and of the children it has waited for (a
    Redis server's snapshot and AOF-rewrite forks)."""
    return sum(int(f) for f in _stat_fields(Path(f"/proc/{pid}/stat"))[11:15]) / _TICKS


def measure(
    url: str,
    workload: Workload,
    call: str,
    args: argparse.Namespace,
    pid: int,
    first_day: datetime = DAY0,
    store_pid: int | None = None,
) -> Result:
    """One load run against ``url``, with the CPU time that server ``pid`` (and the
    store ``store_pid``, when given) spent on it."""
    before = _cpu_seconds(pid)
    store_before = _own_cpu_seconds(store_pid) if store_pid else 0.0
    result = _load(url, workload, call, args, first_day)
    if result.requests:
        result.cpu_us = (_cpu_seconds(pid) - before) / result.requests * 1e6
        if store_pid:
            store_cpu = _own_cpu_seconds(store_pid) - store_before
            result.store_cpu_us = store_cpu / result.requests * 1e6
    return result


def _load(
    url: str, workload: Workload, call: str, args: argparse.Namespace, first_day: datetime
) -> Result:
    if args.generator == "wrk":
        return run_wrk(
            url,
            _lua(workload, call, first_day),
            threads=args.threads,
            connections=args.connections,
            seconds=args.seconds,
        )
    return asyncio.run(
        _python_load(
            url,
            workload,
            call,
            connections=args.connections,
            seconds=args.seconds,
            first_day=first_day,
        )
    )


CALLS = {
    "commit": "POST /v1/bookings",
    "availability": "GET /v1/availability",
    "read": "GET /v1/bookings/{id}",
}


def _serve_cmd(store: list[str], port: int, workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "coordinator",
        "serve",
        *store,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]


@dataclass
class Store:
    """The store every server of the run shares: how ``serve`` reaches it, its seeded
    workload, its pid (for its CPU time), an admin client and the allocator it runs on
    (``AGENTDRAFT_ENGINE_MALLOC`` changes the embedded engine's; see store/allocator.py)."""

    args: list[str]
    workload: Workload
    pid: int
    admin: Any
    malloc: str

    def settle(self, limit_s: float = 120.0) -> None:
        """Wait until no AOF rewrite or snapshot is running, so a fork that a commit run
        started is not charged to the run after it (its child's CPU reaches the store's
        once reaped). Bounded: after ``limit_s`` the run goes ahead."""
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            info = self.admin.info("persistence")
            busy = ("aof_rewrite_in_progress", "aof_rewrite_scheduled", "rdb_bgsave_in_progress")
            if not any(int(info.get(k) or 0) for k in busy):
                return
            time.sleep(0.2)  # the server has no event to await for this; poll it


@contextmanager
def _store(kind: str) -> Iterator[Store]:
    """The store every server of the run shares, seeded."""
    from coordinator import Coordinator

    if kind == "tcp":
        with RedisServer() as redis_server:
            yield Store(
                ["--redis-url", redis_server.url],
                Workload.seed(Coordinator.from_url(redis_server.url)),
                redis_server.pid,
                redis_server.client(),
                describe(redis_server.binary).malloc,
            )
        return
    from coordinator.store.embedded import (
        EmbeddedFolder,
        admin_client,
        embedded_status,
        stop_embedded,
    )

    with tempfile.TemporaryDirectory(prefix="agentdraft-bench-") as folder:
        try:
            workload = Workload.seed(Coordinator.embedded(folder))
            pid = int(EmbeddedFolder.at(folder).pidfile.read_text())
            malloc = embedded_status(folder).malloc or "unknown"
            yield Store(["--data-dir", folder], workload, pid, admin_client(folder), malloc)
        finally:
            stop_embedded(folder)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--threads", type=int, default=2, help="wrk threads")
    p.add_argument(
        "--workers",
        default="1",
        help="coordinator worker processes; a list (1,2) measures one server per count",
    )
    p.add_argument(
        "--baseline-src",
        default=None,
        help="also run the coordinator of this source tree (e.g. a checkout of main) "
        "with one worker, in the same run: before/after",
    )
    p.add_argument("--calls", default=",".join(CALLS), help="which calls, comma-separated")
    p.add_argument(
        "--generator",
        choices=["wrk", "python"],
        default="wrk" if shutil.which("wrk") else "python",
        help="load generator (default: wrk when installed)",
    )
    p.add_argument(
        "--store",
        choices=["embedded", "tcp"],
        default="embedded",
        help="the embedded engine on a unix socket (serve --data-dir, the default) or a "
        "private redis-server over TCP (serve --redis-url)",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure every call this many times, interleaved; print medians and ranges",
    )
    p.add_argument("--json", action="store_true", help="print the rows as JSON too")
    args = p.parse_args(argv)
    if args.rounds < 1:
        p.error("--rounds must be at least 1")

    rows: list[tuple[str, str, Result, Result]] = []
    servers: list[tuple[str, subprocess.Popen[bytes], str]] = []
    with _store(args.store) as shared:
        store, workload, store_pid = shared.args, shared.workload, shared.pid
        malloc = shared.malloc
        try:
            for workers in (int(w) for w in args.workers.split(",")):
                port = free_port()
                proc, url = _start(_serve_cmd(store, port, workers), port)
                servers.append((f"coordinator, {workers} worker{'s' * (workers > 1)}", proc, url))
            if args.baseline_src:
                port = free_port()
                env = {**os.environ, "PYTHONPATH": str(Path(args.baseline_src).resolve())}
                proc, url = _started(
                    subprocess.Popen(_serve_cmd(store, port, 1), env=env, cwd=args.baseline_src),
                    port,
                )
                servers.append(("baseline, 1 worker", proc, url))
            for _, proc, url in servers:
                _settled(url, proc.pid)
            null_port = free_port()
            null, null_url = _start(
                [sys.executable, "-m", "bench.null_server", str(null_port)], null_port
            )
            servers.append(("null", null, null_url))
            commit_runs = 0
            for call in [c for _ in range(args.rounds) for c in args.calls.split(",")]:
                for label, proc, url in servers[:-1]:
                    first_day = DAY0 + timedelta(days=60 * commit_runs)
                    commit_runs += call == "commit"
                    shared.settle()
                    c = measure(url, workload, call, args, proc.pid, first_day, store_pid)
                    # The null server right after each run: a ratio from adjacent runs
                    # holds up better against a background load that comes and goes.
                    n = measure(null_url, workload, call, args, null.pid)
                    rows.append((call, label, c, n))
        finally:
            for _, proc, _ in servers:
                _stop(proc)

    print(
        f"{args.generator}, {args.connections} connections, {args.seconds:g} s per run, "
        f"store {args.store} (malloc {malloc}), cpus={os.cpu_count()}"
        + (f", median of {args.rounds} rounds" if args.rounds > 1 else "")
    )
    print(_table(rows))
    if args.json:
        print(
            json.dumps(
                [
                    {"call": call, "server": label, "coordinator": c.__dict__, "null": n.__dict__}
                    for call, label, c, n in rows
                ]
            )
        )
    return 0


def _us(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _table(rows: list[tuple[str, str, Result, Result]]) -> str:
    """The Markdown table: one line per call and server, medians over its rounds.

    With one round the ranges are the values themselves, so they are left out.
    """
    groups: dict[tuple[str, str], list[tuple[Result, Result]]] = {}
    for call, label, c, n in rows:
        groups.setdefault((call, label), []).append((c, n))
    ranged = any(len(runs) > 1 for runs in groups.values())
    head = (
        "| call | server | req/s | null req/s | ratio | CPU us/req | store CPU us/req "
        "| null CPU us/req | p99 ms | null p99 ms | p99 ratio | non-2xx |"
    )
    align = "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
    if ranged:
        head = head.replace("| ratio |", "| ratio | ratio range |").replace(
            "| p99 ratio |", "| p99 ratio | p99 ratio range |"
        )
        align += "--:|--:|"
    lines = [head, align]
    for (call, label), runs in groups.items():
        ratios = [c.rps / n.rps for c, n in runs]
        p99s = [c.p99_ms / n.p99_ms for c, n in runs]
        ratio = f"{statistics.median(ratios):.2f}x"
        p99 = f"{statistics.median(p99s):.1f}x"
        if ranged:
            ratio += f" | {min(ratios):.2f}-{max(ratios):.2f}x"
            p99 += f" | {min(p99s):.1f}-{max(p99s):.1f}x"
        lines.append(
            f"| {CALLS[call]} | {label} | {statistics.median([c.rps for c, _ in runs]):,.0f} "
            f"| {statistics.median([n.rps for _, n in runs]):,.0f} | {ratio} "
            f"| {_us(_median_of([c.cpu_us for c, _ in runs]))} "
            f"| {_us(_median_of([c.store_cpu_us for c, _ in runs]))} "
            f"| {_us(_median_of([n.cpu_us for _, n in runs]))} "
            f"| {statistics.median([c.p99_ms for c, _ in runs]):.1f} "
            f"| {statistics.median([n.p99_ms for _, n in runs]):.1f} | {p99} "
            f"| {sum(c.errors for c, _ in runs)} |"
        )
    return "\n".join(lines)


def _median_of(values: list[float | None]) -> float | None:
    """The median of the values measured (CPU is not measured everywhere), or None."""
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


if __name__ == "__main__":
    sys.exit(main())
