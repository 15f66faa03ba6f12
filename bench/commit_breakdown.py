"""Where a plain commit's engine instructions go, step by step.

    python -m bench.commit_breakdown [--calls 200] [--engine embedded|redis]

Why: ``bench.script_cost --meter instructions`` gives one number per commit, and
Redis has no profiler for the Lua inside a script (callgrind sees the interpreter,
not the script's lines). This tool loads the commit library again under another
name with a stop after each step of ``lua/_claim_plain.lua`` (the path of an agent's
plain commit on free buckets) and after each of its writes in ``tx_finish``, then
counts the server's instructions for calls that stop there, under callgrind. Each
row is the count up to that stop; the difference to the row above is that step's
cost, the garbage it leaves for Lua's collector included.

Calls that stop before the writes change nothing, so they reuse one set of
arguments; calls that stop among the writes get fresh ones (a new booking on a new
slot each), like the full call. The stops are the ``STEPS`` below, each the text of
the line it goes before, and the ``WRITES``; tests/test_bench_commit_breakdown.py
checks that each step is found once, that a call stopped before the writes writes
nothing and that one stopped before write i has made exactly the writes before it.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import redis

from coordinator import Coordinator
from coordinator.store.scripts import function_library

from .script_cost import NO_LIMIT, Instructions, callgrind_engine

#: (label, the start of the line in the commit library that the stop goes before).
STEPS: tuple[tuple[str, str], ...] = (
    ("entered (8 KEYS, 13 ARGV)", "  -- KEYS and ARGV as _claim.lua's header gives them"),
    ("checks decoded (kept)", "  local rec = cjson.decode(ARGV[4])"),
    ("static record decoded", "  if not plain_static(rec) then return nil, pre end"),
    ("record checked plain", "  -- The reads that send most writes"),
    ("bucket fields listed", "  local held = redis.call('HMGET', day_key"),
    ("HMGET of the buckets", "  if redis.call('EXISTS', P .. 'cxpush'"),
    ("EXISTS hooks, connectors", "  -- gate_open's reads and checks"),
    ("TIME, plan opened", "  local o = redis.call('HMGET', owner_key"),
    ("HMGET owner", "  local a = agent_access(agent_key)"),
    ("HMGET agent", "  if check_key(agent_key"),
    ("key and scope checked", "  if tx_take_token(tx"),
    ("rules version, token taken", "  if redis.call('HEXISTS', bookings_key"),
    ("HEXISTS (replay)", "  local best = redis.call('ZRANGE'"),
    ("ZRANGE (top agent)", "  if not prio then return nil, pre end"),
    ("clock and lead time", "  -- claim_take, for a commit that displaces nothing."),
    ("bucket HSET planned", "  local top = tonumber(best[2])"),
    ("record completed", "  local entry = {"),
    ("audit entry laid out", "  local aid = tx_audit(tx, entry)"),
    ("audit entry hashed, planned", "  -- The record is final here"),
    ("record checked for the plain text", "  local text = plain and plain_compact_text"),
    ("record text written", "  fault('plain')"),
)

#: tx_finish's loop over the planned writes, which the write stops go into.
WRITE_LOOP = "  for _, cmd in ipairs(tx.ops) do redis.call(unpack(cmd)) end"

#: The plain commit's writes, in tx_finish's order (the plan's order on this path is
#: fixed), with the key each writes (the part after the calendar's prefix).
WRITES: tuple[tuple[str, str], ...] = (
    ("HSET token bucket", "agent:"),
    ("HSET buckets", "day:"),
    ("XADD audit entry", "audit"),
    ("HSET owner (chain head)", "owner"),
    ("HSET record", "bookings"),
)

#: The extra ARGV entry that names the stop (a real call has 13).
STOP_ARG = 14
LIBRARY = "agentdraft_breakdown"
FUNCTION = "agentdraft_breakdown_commit"


def stopped_library(source: str | None = None) -> str:
    """The commit library with a stop before each step and each write, as its own
    library (``LIBRARY``) and function (``FUNCTION``)."""
    src = source if source is not None else function_library("commit").source
    for i, (_label, line) in enumerate(STEPS):
        if src.count(line) != 1:
            raise ValueError(f"step {line!r} is not in the commit library once")
        src = src.replace(line, f"  if ARGV[{STOP_ARG}] == 's{i}' then return 0 end\n{line}")
    if src.count(WRITE_LOOP) != 1:
        raise ValueError("tx_finish's write loop is not in the commit library once")
    src = src.replace(
        WRITE_LOOP,
        "  for i, cmd in ipairs(tx.ops) do\n"
        f"    if ARGV[{STOP_ARG}] == 'w' .. i then return 0 end\n"
        "    redis.call(unpack(cmd))\n"
        "  end",
    )
    head = re.match(r"#!lua name=\w+\n", src)
    name = re.search(r"redis\.register_function\('(\w+)'", src)
    if head is None or name is None:
        raise ValueError("not a Function library")
    src = f"#!lua name={LIBRARY}\n" + src[head.end() :]
    return src.replace(name.group(1), FUNCTION)


class Commits:
    """Fresh plain-commit calls (KEYS, ARGV) of one top agent, one per 30-minute slot."""

    START = datetime(2040, 1, 2, tzinfo=UTC)
    SLOT = timedelta(minutes=30)

    def __init__(self, coord: Coordinator) -> None:
        self.coord = coord
        owner = coord.owners.create()
        agent = coord.agents.create(owner.user_id, name="breakdown", priority=1, **NO_LIMIT)
        client = coord.client(agent.api_key)
        client.bookings.commit(start=self.START, end=self.START + self.SLOT)  # warm the template
        self.user_id = owner.user_id
        self.ctx = client.bookings._ctx
        self.next_slot = 1

    def call(self) -> tuple[list[Any], list[Any]]:
        """The next slot's call, packed as the client packs it."""
        b = self.coord.bookings
        s = self.START + self.next_slot * self.SLOT
        self.next_slot += 1
        q = b._prepare(
            user_id=self.user_id,
            agent_id=self.ctx.agent_id,
            key_hash=self.ctx.key_hash,
            mode="commit",
            start=s,
            end=s + self.SLOT,
        )
        c = b._pack_claim(q, self.coord.store.rules_cache.get(self.user_id))
        return list(c.keys), list(c.args)


def fcall(admin: redis.Redis, call: tuple[list[Any], list[Any]], stop: str) -> Any:
    """The stopped library's call; ``stop`` '' runs it whole."""
    keys, args = call
    return admin.fcall(FUNCTION, len(keys), *keys, *args, *([stop] if stop else []))


def breakdown(
    admin: redis.Redis, coord: Coordinator, count: Instructions, calls: int
) -> list[tuple[str, float]]:
    """(label, instructions per call up to that stop) for every stop, then the full call."""
    admin.function_load(stopped_library(), replace=True)
    commits = Commits(coord)
    noop = admin.register_script("return 1")
    rows: list[tuple[str, float]] = []

    def measure(label: str, one: Callable[[], Any]) -> None:
        for _ in range(3):
            one()

        def run() -> int:
            for _ in range(calls):
                one()
            return calls

        per_call, _counted, _made = count(admin, run)
        rows.append((label, per_call))

    def fresh(stop: str) -> Callable[[], Any]:
        """A call on a new slot each time (one that writes cannot be repeated). A call
        stopped after the audit entry but before the chain head leaves the head behind,
        so the next one picks its id from the clock again: fine under callgrind, where a
        call takes milliseconds (the test, at full speed, uses a calendar per stop)."""
        return lambda: fcall(admin, commits.call(), stop)

    measure("no-op EVALSHA (return 1)", noop)
    still = commits.call()  # a stop before the writes changes nothing: one call serves
    for i, (label, _line) in enumerate(STEPS):
        measure(label, partial(fcall, admin, still, f"s{i}"))
    # A stop before write i shows write i - 1's cost: each row is named after the last
    # thing it ran.
    labels = ["tx_finish, before the writes"] + [f"after {label}" for label, _k in WRITES[:-1]]
    for i, label in enumerate(labels, start=1):
        measure(label, fresh(f"w{i}"))
    measure(f"after {WRITES[-1][0]}, the reply", fresh(""))
    admin.function_delete(LIBRARY)
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=200, help="calls per stop")
    ap.add_argument("--engine", choices=("redis", "embedded"), default="embedded")
    args = ap.parse_args(argv)
    with callgrind_engine(args.engine) as (coord, admin, count):
        version = admin.info("server").get("redis_version")
        rows = breakdown(admin, coord, count, args.calls)
    print(f"engine {args.engine} (server {version}), {args.calls} calls per stop, "
          "k instructions per call under callgrind")  # fmt: skip
    print(f"{'stop':<44} {'up to here':>10} {'this step':>10}")
    prev = 0.0
    for label, n in rows:
        print(f"{label:<44} {n / 1000:>10.1f} {(n - prev) / 1000:>+10.1f}")
        prev = n


if __name__ == "__main__":
    main()
