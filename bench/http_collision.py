"""Collision benchmark over HTTP with the official SDK, beside a null server.

Each round, N agents with distinct priorities fire ``POST /v1/bookings`` at the
same slot, concurrently from a thread pool, each building its own
``agentdraft.Client`` inside the round (client start-up counts, as it does for
users). Latency is measured from the start of the round. The same rounds run
against a null server that answers instantly on the same stack: its p99 is the
client's own floor, and the difference is what the coordinator costs.

Run: python -m bench.http_collision [--rounds 200] [--agents 5] [--window-ms N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120  # a busy 2-core machine starts 2 workers slowly
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


def run_rounds(url: str, keys: list[tuple[int, str]], rounds: int, day0: datetime) -> dict:
    import agentdraft

    def fire(priority: int, key: str, start: datetime, t0: float) -> tuple[int, int, float]:
        client = agentdraft.Client(api_key=key, base_url=url)
        try:
            client.bookings.commit(start=start, end=start + timedelta(minutes=30))
            status = 201
        except agentdraft.Conflict:
            status = 409
        finally:
            client.close()
        return priority, status, (time.perf_counter() - t0) * 1000

    latencies: list[float] = []
    one = double = none = top_won = 0
    with ThreadPoolExecutor(max_workers=len(keys)) as pool:
        for rnd in range(rounds):
            start = day0 + timedelta(hours=rnd)
            t0 = time.perf_counter()
            futures = [pool.submit(fire, p, key, start, t0) for p, key in keys]
            results = [f.result() for f in futures]
            wins = [p for p, s, _ in results if s == 201]
            one += len(wins) == 1
            double += len(wins) > 1
            none += not wins
            top_won += wins == [1]
            latencies += [ms for *_, ms in results]
    latencies.sort()
    return {
        "rounds": rounds,
        "exactly_one_201": one,
        "double_201": double,
        "no_201": none,
        "top_won": top_won,
        "p50_ms": latencies[len(latencies) // 2],
        "p99_ms": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--agents", type=int, default=5)
    parser.add_argument(
        "--window-ms",
        type=int,
        default=None,
        help="arbitration window (default: the coordinator's default)",
    )
    args = parser.parse_args()
    from coordinator import Coordinator
    from coordinator.store.embedded import stop_embedded

    data_dir = tempfile.mkdtemp(prefix="agentdraft-collision-")
    coord = Coordinator.embedded(data_dir)
    owner = coord.owners.create()
    keys = [
        (p, coord.agents.create(owner.user_id, name=f"p{p}", priority=p).api_key)
        for p in range(1, args.agents + 1)
    ]
    port, null_port = _free_port(), _free_port()
    env = {**os.environ, "AGENTDRAFT_DATA_DIR": data_dir}
    cmd = [
        sys.executable,
        "-m",
        "coordinator",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        data_dir,
    ]
    if args.window_ms is not None:
        cmd += ["--window-ms", str(args.window_ms)]
    server = subprocess.Popen(cmd, env=env)
    null = subprocess.Popen([sys.executable, "-m", "bench.null_server", str(null_port)])
    try:
        url, null_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{null_port}"
        _wait(url, server)
        _wait(null_url, null)
        day0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=90)
        run_rounds(null_url, keys, 5, day0)  # warm-up: imports, TLS context caches
        nul = run_rounds(null_url, keys, args.rounds, day0)
        real = run_rounds(url, keys, args.rounds, day0 + timedelta(days=30))
    finally:
        for p in (server, null):
            p.terminate()
            p.wait(timeout=10)
        coord.close()
        stop_embedded(data_dir)
    window = args.window_ms if args.window_ms is not None else coord.settings.arbitration_window_ms
    print(
        f"{args.rounds} rounds x {args.agents} agents, window {window} ms, "
        f"official SDK, one client per agent per round, thread pool"
    )
    print("| server | exactly one 201 | double 201 | top won | p50 ms | p99 ms |")
    print("|---|--:|--:|--:|--:|--:|")
    for name, m in (("null (client floor)", nul), ("coordinator", real)):
        print(
            f"| {name} | {m['exactly_one_201']}/{m['rounds']} | {m['double_201']} | "
            f"{m['top_won']}/{m['rounds']} | {m['p50_ms']:.1f} | {m['p99_ms']:.1f} |"
        )
    print(
        f"coordinator cost at p99: {real['p99_ms'] - nul['p99_ms']:+.1f} ms, "
        f"p50: {real['p50_ms'] - nul['p50_ms']:+.1f} ms"
    )


if __name__ == "__main__":
    main()
