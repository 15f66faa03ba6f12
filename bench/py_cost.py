"""The Python side of a commit, a booking read and an availability read, in CPU µs.

    python -m bench.py_cost [--calls 2000] [--repeats 3] [--baseline-src PATH]

Two kinds of rows, all from one private redis-server:

* **parts**, timed on replies recorded once (no I/O, so Redis and the network are
  out of them): ``commit: validate + pack`` (``Bookings._prepare`` and
  ``_pack_claim``), ``commit: reply -> Booking`` (decode and ``_settle_write``),
  ``read: reply -> Booking`` (decode, ``Booking.from_record``), ``read: reply ->
  fields`` (decode, ``record_fields``, what the server's plain-record answer
  starts from), ``availability: reply -> answer`` on a free day (95 open slots of
  30 minutes on a 15-minute grid) and on a day full of bookings (48, no slot
  left), (decode, ``Availability._answer``: the snapshot, the slot search and the
  :class:`~coordinator.availability.AvailabilityList`).
* **whole calls** through the public in-process client, one at a time: the
  process's CPU time per call (``time.process_time``: the Redis server is another
  process, so its script time is not in it) and the wall time per call, with a
  no-op EVALSHA (``return 1`` by redis-py's ``Script`` from the same client) as
  the baseline. ``ratio`` is the call's rate over the no-op's rate measured just
  before it: the issue's in-process commit ratio is the ``commit`` row.

Each figure is the median of ``--repeats`` runs. With ``--baseline-src`` the same
measurements run against another source tree (say, a ``git archive`` of main)
in alternating subprocesses, so before and after come from the same run.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

NO_LIMIT: dict[str, Any] = {"rate_limit_per_second": 1_000_000, "rate_limit_burst": 1_000_000}
HALF_HOUR = timedelta(minutes=30)
#: A Monday far ahead, so every slot is after the server's clock.
FREE_DAY = datetime(2034, 3, 6, tzinfo=UTC)
FULL_DAY = FREE_DAY + timedelta(days=1)
COMMITS_FROM = datetime(2035, 1, 1, tzinfo=UTC)


def _per_call(fn: Callable[[], Any], calls: int) -> float:
    """CPU µs per call of a function that does no I/O: the least of five batches of
    ``calls`` (process CPU time, so time spent preempted by other work is not in it)."""
    fn()
    best = float("inf")
    for _ in range(5):
        t0 = time.process_time()
        for _ in range(calls):
            fn()
        best = min(best, time.process_time() - t0)
    return best / calls * 1e6


def _whole(fn: Callable[[int], Any], calls: int) -> tuple[float, float]:
    """(CPU µs, wall µs) per call of ``fn(i)``, one call at a time."""
    for i in range(20):
        fn(i)
    c0, w0 = time.process_time(), time.perf_counter()
    for i in range(20, 20 + calls):
        fn(i)
    return (
        (time.process_time() - c0) / calls * 1e6,
        (time.perf_counter() - w0) / calls * 1e6,
    )


def measure(calls: int) -> dict[str, float]:
    """One run of every row in this process, against the ``coordinator`` it imports."""
    from coordinator import Coordinator
    from coordinator.models import Booking, record_fields

    try:  # the spans an availability read asks for
        from coordinator.slots import spans_needed as reach
    except ImportError:  # a --baseline-src tree from before them read whole days
        from coordinator.slots import days_needed as reach  # type: ignore[no-redef]
    from coordinator.store.calls import decode_reply

    try:  # a plain commit's win comes back as an array (coordinator/plain_wins.py)
        from coordinator.plain_wins import PlainWon, plain_reply
    except ImportError:  # a --baseline-src tree from before it: never asked for one
        PlainWon = plain_reply = None  # type: ignore[assignment,misc]
    from tests.support.servers import RedisServer

    out: dict[str, float] = {}
    with RedisServer() as server:
        coord = Coordinator.from_url(server.url, **NO_LIMIT)
        owner = coord.owners.create()
        uid = owner.user_id
        client = coord.client(coord.agents.create(uid, name="bench", priority=1).api_key)
        b = coord.bookings
        scripts = coord.store.scripts
        for k in range(48):
            s = FULL_DAY + k * HALF_HOUR
            client.bookings.commit(start=s, end=s + HALF_HOUR)
        snap = coord.store.rules_cache.get(uid)
        ctx = client.bookings._ctx

        # -- parts, on recorded replies
        def write_args(i: int) -> dict[str, Any]:
            s = COMMITS_FROM + i * HALF_HOUR
            return dict(
                user_id=uid,
                agent_id=ctx.agent_id,
                key_hash=ctx.key_hash,
                mode="commit",
                start=s,
                end=s + HALF_HOUR,
            )

        kw = write_args(0)
        out["commit: validate + pack"] = _per_call(
            lambda: b._pack_claim(b._prepare(**kw), snap), calls
        )
        q = b._prepare(**kw)
        call = b._pack_claim(q, snap)
        raw_claim = getattr(scripts, call.script)(keys=call.keys, args=call.args)

        def settled() -> Booking:
            reply = decode_reply(raw_claim)
            win = reply.get("plain")
            if win is not None:  # an outright plain win's array, put back together
                reply = plain_reply(PlainWon(q.booking_id, q.agent_id, q.start_ms, q.end_ms, win))
            return b._settle_write(uid, reply)

        out["commit: reply -> Booking"] = _per_call(settled, calls)
        booking_id = q.booking_id
        got = b._pack_get(uid, booking_id, ctx.agent_id, ctx.key_hash)
        raw_read = getattr(scripts, got.script)(keys=got.keys, args=got.args)

        def read_model() -> Booking:
            reply = decode_reply(raw_read)
            return Booking.from_record(reply["booking"], uid, reply["now"])

        def read_fields() -> dict[str, Any]:
            reply = decode_reply(raw_read)
            return record_fields(reply["booking"], uid, reply["now"])

        out["read: reply -> Booking"] = _per_call(read_model, calls)
        out["read: reply -> fields"] = _per_call(read_fields, calls)
        av = client.availability
        # _answer takes the rules snapshot its spans came from since it skips reading
        # them twice; a --baseline-src tree from before does not.
        with_snap = "snap" in inspect.signature(av._answer).parameters

        def answer(q: Any, days: Any, reply: dict[str, Any]) -> Any:
            if with_snap:
                return av._answer(q, days, snap, reply)[0]
            return av._answer(q, days, reply)[0]

        for label, day in (("free day", FREE_DAY), ("full day", FULL_DAY)):
            q = av._query(day, day + timedelta(days=1), 30, 15, True)
            days = reach(snap, q.lo, q.hi)
            packed = av._pack(days)
            raw_av = getattr(scripts, packed.script)(keys=packed.keys, args=packed.args)
            found = answer(q, days, decode_reply(raw_av))
            assert found is not None, label
            print(label, len(found), file=sys.stderr)
            out[f"availability: reply -> answer, {label}"] = _per_call(
                lambda q=q, days=days, raw=raw_av: answer(q, days, decode_reply(raw)),
                max(1, calls // 5),
            )

        # -- whole calls
        noop = coord.redis.register_script("return 1")

        def commit(i: int) -> None:
            s = COMMITS_FROM + (i + 100) * HALF_HOUR
            client.bookings.commit(start=s, end=s + HALF_HOUR)

        whole: list[tuple[str, Callable[[int], Any], int]] = [
            ("commit", commit, calls),
            ("read", lambda _i: client.bookings.get(booking_id), calls),
            (
                "availability, free day",
                lambda _i: client.availability.list(start=FREE_DAY, end=FREE_DAY + HALF_HOUR * 48),
                max(1, calls // 4),
            ),
        ]
        for name, fn, n in whole:
            noop_cpu, noop_wall = _whole(lambda _i: noop(), n)
            cpu, wall = _whole(fn, n)
            out[f"{name}: CPU µs"] = cpu
            out[f"{name}: wall µs"] = wall
            out[f"{name}: no-op CPU µs"] = noop_cpu
            out[f"{name}: no-op wall µs"] = noop_wall
            out[f"{name}: ratio"] = noop_wall / wall
        coord.close()
    return out


def _run_child(src: Path, calls: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(
        [sys.executable, __file__, "--child", "--calls", str(calls)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=src,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline-src", type=Path, default=None)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.calls)))
        return
    here = Path(__file__).resolve().parent.parent
    trees = {"this tree": here}
    if args.baseline_src is not None:
        trees = {"baseline": args.baseline_src.resolve(), **trees}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    for _ in range(args.repeats):
        for name, src in trees.items():
            runs[name].append(_run_child(src, args.calls))
    medians = {
        name: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for name, rs in runs.items()
    }
    print(f"{args.repeats} runs each, median; {args.calls} calls per row")
    print(f"{'row':<46}" + "".join(f"{name:>14}" for name in trees))
    for key in medians["this tree"]:
        cells = "".join(
            f"{medians[name].get(key, float('nan')):>14.{2 if key.endswith('ratio') else 1}f}"
            for name in trees
        )
        print(f"{key:<46}{cells}")


if __name__ == "__main__":
    # Run as a file (the child of --baseline-src): bench/ is not a place to import from.
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        del sys.path[0]
    main()
