"""Run the benchmarks: ``python -m bench.run [--quick] [--threads 1 4 8] [--pin [CPU]] [--json F]``.

Prints a markdown table (what, threads, ops/s, p50 ms, p99 ms, ratio vs no-op, notes).
Every ratio divides by the no-op Lua EVALSHA rate measured in the same run at the
same thread count, because only ratios survive a change of machine or load.
Progress and notes go to stderr so stdout is just the report (paste it into README).
All traffic stays on 127.0.0.1: private redis-servers started here, and the local
PostgreSQL (``--pg-dsn``); PostgreSQL missing is reported, not fatal.
``--quick`` takes well under 30 s; the full run a few minutes.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import redis

from bench import baselines
from bench.audit_memory import audit_memory
from bench.common import BenchContext, Row, cpu_info, pin_process
from bench.coordinator_bench import coordinator_benchmarks
from tests.support.servers import RedisServer


def _threads(values: list[str]) -> list[int]:
    """Accept ``--threads 1 4 8`` and ``--threads 1,4,8``."""
    out = sorted({int(x) for v in values for x in v.split(",") if x.strip()})
    if not out or min(out) < 1:
        raise argparse.ArgumentTypeError("thread counts must be >= 1")
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="short runs (< 30 s total)")
    p.add_argument(
        "--threads", nargs="+", default=None, help="thread counts (default 1 4 8; quick: 1 4)"
    )
    p.add_argument(
        "--pin",
        nargs="?",
        type=int,
        const=-1,
        default=None,
        metavar="CPU",
        help="pin the client process to one CPU (default: the last allowed one)",
    )
    p.add_argument(
        "--server-cpus",
        default=None,
        metavar="LIST",
        help="CPU list for the private redis-servers, e.g. 0 (default: all CPUs at start)",
    )
    p.add_argument(
        "--redis-hz",
        type=int,
        default=100,
        help="hz of the private redis-servers (100 = the embedded engine's; 10 = Redis default)",
    )
    p.add_argument("--pg-dsn", default=BenchContext.pg_dsn, help="PostgreSQL DSN (loopback)")
    p.add_argument("--json", default=None, metavar="FILE", help="also write results as JSON")
    return p.parse_args(argv)


def add_ratios(rows: list[Row]) -> list[str]:
    """Fill ``ratio`` = ops/s ÷ no-op ops/s at the same thread count.

    Reference: the no-op run measured right after the row (``adj``) where there is
    one, else the mean of the start and end no-op runs at the same (else nearest,
    marked ``@Nt``) thread count. Returns notes on how far the start and end no-op
    runs drifted apart (background load on a shared machine).
    """
    runs: dict[int, list[float]] = {}
    for r in rows:
        if r.what.startswith("no-op Lua") and r.threads and r.ops_per_s:
            runs.setdefault(r.threads, []).append(r.ops_per_s)
    ref = {t: sum(v) / len(v) for t, v in runs.items()}
    drift = [
        f"no-op drift start→end at {t} threads: {100 * (v[-1] / v[0] - 1):+.0f}%"
        for t, v in sorted(runs.items())
        if len(v) > 1
    ]
    if not ref:
        return drift
    for r in rows:
        n = r.threads
        if r.ops_per_s is None or n is None:
            continue
        adjacent = r.data.get("noop_adjacent_ops_per_s")
        if adjacent:
            r.ratio = r.ops_per_s / adjacent
            r.ratio_ref = "adj"
            continue
        t = n if n in ref else min(ref, key=lambda k: (abs(k - n), k))
        r.ratio = r.ops_per_s / ref[t]
        r.ratio_ref = "" if t == n else f"@{t}t"
    return drift


def _fmt(x: float | None, spec: str) -> str:
    return "–" if x is None else format(x, spec)


def render(rows: list[Row]) -> str:
    """Compact markdown table."""
    lines = [
        "| what | threads | ops/s | p50 ms | p99 ms | ratio vs no-op | notes |",
        "|---|--:|--:|--:|--:|--:|---|",
    ]
    for r in rows:
        ratio = "–" if r.ratio is None else f"{r.ratio:.2f}×"
        if r.ratio_ref:
            ratio += f" {r.ratio_ref}"
        lines.append(
            f"| {r.what} | {r.threads if r.threads is not None else '–'} "
            f"| {_fmt(r.ops_per_s, ',.0f')} | {_fmt(r.p50_ms, '.3f')} | {_fmt(r.p99_ms, '.3f')} "
            f"| {ratio} | {r.notes} |"
        )
    return "\n".join(lines)


def _section(name: str, fn: Any, ctx: BenchContext) -> list[Row]:
    """Run one section; a crash becomes a note, never the end of the run."""
    print(f"[bench] {name} …", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    try:
        rows: list[Row] = fn(ctx)
    except Exception as exc:
        ctx.note(f"{name}: failed ({type(exc).__name__}: {exc})")
        traceback.print_exc(file=sys.stderr)
        rows = []
    print(f"[bench] {name} done in {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    threads = _threads(args.threads or (["1", "4"] if args.quick else ["1", "4", "8"]))
    pinned = None
    if args.pin is not None:
        pinned = pin_process(None if args.pin < 0 else args.pin)
    server_cpus = {int(x) for x in args.server_cpus.split(",")} if args.server_cpus else None
    t_all = time.perf_counter()
    with RedisServer(cpus=server_cpus, hz=args.redis_hz).start() as srv:
        ctx = BenchContext(
            quick=args.quick,
            threads=threads,
            seconds=0.5 if args.quick else 4.0,
            warmup=30 if args.quick else 300,
            redis=srv,
            contenders=[5] if args.quick else [2, 5, 8],
            paired_seconds=0.2 if args.quick else 1.0,
            race_seconds=0.5 if args.quick else 4.0,
            server_cpus=server_cpus,
            pg_dsn=args.pg_dsn,
        )
        env: dict[str, Any] = {
            "mode": "quick" if args.quick else "full",
            "python": platform.python_version(),
            "redis_py": redis.__version__,
            "client_pinned_cpu": pinned,
            **cpu_info(),
            "redis_server": srv.info(),
        }
        print(f"[bench] env {json.dumps(env)}", file=sys.stderr, flush=True)
        rows = _section("no-op / bare-claim Lua", baselines.noop_lua, ctx)
        rows += _section("postgres", baselines.postgres, ctx)
        rows += _section("memory layouts", baselines.memory_layouts, ctx)
        rows += _section("coordinator", coordinator_benchmarks, ctx)
        rows += _section("audit memory", audit_memory, ctx)
        rows += _section(
            "no-op Lua re-run",
            lambda c: baselines.noop_lua(c, claim_too=False, label=", re-run at end"),
            ctx,
        )
    ctx.notes.extend(add_ratios(rows))
    elapsed = time.perf_counter() - t_all
    srv_info = env["redis_server"]
    print(
        f"Command: `python -m bench.run {' '.join(sys.argv[1:] if argv is None else argv)}`"
        f" · {env['mode']} · {elapsed:.0f}s · Python {env['python']}, redis-py {env['redis_py']},"
        f" redis-server {srv_info['redis_version']} ({srv_info['mem_allocator']}, hz {srv.hz})"
        f" · CPUs {env['affinity_at_start']}, client pinned: {pinned}"
        f", server CPUs {srv_info['cpus']} · loadavg {env['loadavg']}\n"
    )
    print(render(rows))
    for n in ctx.notes:
        print(f"\n- {n}", end="")
    print()
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(
                {
                    "env": env,
                    "rows": [r.as_dict() for r in rows],
                    "notes": ctx.notes,
                    "elapsed_s": elapsed,
                },
                fh,
                indent=2,
                default=str,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
