"""Baselines the coordinator's figures are divided by, all measured in the same run.

1. A no-op Lua script called by SHA from the same redis-py client: the ceiling for
   any one-round-trip transition from this Python process (client overhead, not the
   server, is the limit here). A bare 6-bucket claim script shows what the data
   work itself adds on top.
2. PostgreSQL with an exclusion constraint: what a user would otherwise pick for
   "no two bookings overlap". Uncontended and contended (with its exclusion
   violations and deadlock aborts counted, because that is what racing agents get).
3. Redis memory per booking for two raw layouts, plus :func:`measure_memory` so the
   coordinator hook measures the real engine the same way.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import redis

from bench.common import BenchContext, LoadResult, Race, Row, run_load

BUCKET = timedelta(minutes=5)
BOOKING = timedelta(minutes=30)
#: bookings a day used by the memory layouts: a realistic working day (8 x 30 min)
PER_DAY = 8


# --------------------------------------------------------------------------- 1. no-op Lua

# A bare claim on a hash per calendar-day: check 6 bucket fields, then set them all.
# Not the engine — the floor under it, so the engine's ratio has something to explain.
CLAIM_LUA = """
local key = KEYS[1]
local n = tonumber(ARGV[1])
local first = tonumber(ARGV[2])
for i = 0, n - 1 do
  if redis.call('HEXISTS', key, first + i) == 1 then return 0 end
end
for i = 0, n - 1 do
  redis.call('HSET', key, first + i, ARGV[3])
end
return 1
"""


def noop_lua(ctx: BenchContext, *, claim_too: bool = True, label: str = "") -> list[Row]:
    """``return 1`` by EVALSHA, then (``claim_too``) a bare 6-bucket claim, per thread count.

    run.py calls it again at the end (``claim_too=False``): on a shared 2-core box the
    background load drifts, and ratios divide by the mean of both no-op runs.
    """
    client = ctx.redis.client()
    rows: list[Row] = []
    try:
        noop = client.register_script("return 1")
        claim = client.register_script(CLAIM_LUA)
        noop()  # load once so the timed loop is pure EVALSHA (no NOSCRIPT retry)

        def noop_op(_t: int, _i: int) -> str | None:
            noop()
            return None

        for t in ctx.threads:
            res = run_load(
                noop_op,
                threads=t,
                seconds=ctx.seconds,
                warmup=ctx.warmup,
            )
            rows.append(res.row("no-op Lua (EVALSHA)" + label, "baseline"))
        if not claim_too:
            return rows
        run_id = secrets.token_hex(3)
        for t in ctx.threads:
            # Distinct slots per op: 8 bookings per calendar-day, calendar per thread.
            def claim_op(ti: int, i: int, _t: int = t) -> str | None:
                day, k = divmod(i, PER_DAY)
                key = f"bench:{{c{run_id}-{_t}-{ti}}}:d{day}"
                ok = claim(keys=[key], args=[6, k * 6 + 108, "bkg"])
                return None if ok == 1 else "taken"

            res = run_load(claim_op, threads=t, seconds=ctx.seconds, warmup=ctx.warmup)
            rows.append(
                ctx.paired(res.row("bare 6-bucket claim Lua", "hash per cal-day, distinct slots"))
            )
        client.delete(*client.keys(f"bench:{{c{run_id}-*"))  # keep the shared server small
    finally:
        client.close()
    return rows


# --------------------------------------------------------------------------- 2. PostgreSQL


def _pg_unavailable(reason: str) -> list[Row]:
    return [Row(what="postgres exclusion constraint", notes=f"unavailable ({reason})")]


def postgres(ctx: BenchContext) -> list[Row]:
    """Uncontended and contended inserts under ``EXCLUDE USING gist``.

    Runs in its own schema (random suffix), dropped at the end. If PostgreSQL or
    psycopg is missing the section reports "unavailable (reason)" and the run goes on.
    """
    try:
        import psycopg
    except ImportError:
        msg = "psycopg not installed: pip install 'psycopg[binary]'"
        ctx.note(f"postgres: unavailable ({msg})")
        return _pg_unavailable(msg)
    try:
        admin = psycopg.connect(ctx.pg_dsn, autocommit=True)
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        ctx.note(f"postgres: unavailable ({reason})")
        return _pg_unavailable(reason)

    schema = f"bench_{secrets.token_hex(4)}"
    table = f"{schema}.bookings"
    rows: list[Row] = []
    try:
        version = admin.execute("show server_version").fetchone()
        dl_timeout = admin.execute("show deadlock_timeout").fetchone()
        try:
            admin.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        except psycopg.Error as exc:
            reason = f"btree_gist: {str(exc).strip().splitlines()[0]}"
            ctx.note(f"postgres: unavailable ({reason})")
            return _pg_unavailable(reason)
        admin.execute(f"CREATE SCHEMA {schema}")
        admin.execute(
            f"CREATE TABLE {table}(id bigserial primary key, calendar_id text not null, "
            "during tstzrange not null, agent_id text, priority int, "
            "EXCLUDE USING gist (calendar_id WITH =, during WITH &&))"
        )
        meta = {
            "server_version": version[0] if version else None,
            "deadlock_timeout": dl_timeout[0] if dl_timeout else None,
        }
        rows += _pg_uncontended(ctx, psycopg, table, meta)
        rows += _pg_contended(ctx, psycopg, table, meta)
    except psycopg.Error as exc:
        ctx.note(f"postgres: failed mid-run ({exc})")
        rows.append(Row(what="postgres exclusion constraint", notes=f"failed ({exc})"))
    finally:
        try:
            admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            admin.close()
    return rows


_INSERT = "INSERT INTO {t}(calendar_id, during, agent_id, priority) VALUES (%s, tstzrange(%s, %s), %s, %s)"  # noqa: E501


def _connections(psycopg: Any, dsn: str, n: int) -> list[Any]:
    """One autocommit connection per thread: a booking is a single-statement transaction."""
    return [psycopg.connect(dsn, autocommit=True) for _ in range(n)]


def _pg_uncontended(ctx: BenchContext, psycopg: Any, table: str, meta: dict[str, Any]) -> list[Row]:
    """Each op books a distinct 30-minute slot (own calendar per thread, time advances)."""
    base = datetime(2031, 1, 1, tzinfo=UTC)
    sql = _INSERT.format(t=table)
    rows: list[Row] = []
    for t in ctx.threads:
        conns = _connections(psycopg, ctx.pg_dsn, t)
        try:

            def op(ti: int, i: int, _t: int = t, _c: list[Any] = conns) -> str | None:
                start = base + i * BOOKING
                _c[ti].execute(sql, (f"u{_t}-{ti}", start, start + BOOKING, f"a{ti}", 1))
                return None

            res = run_load(op, threads=t, seconds=ctx.seconds, warmup=ctx.warmup)
        finally:
            for c in conns:
                c.close()
        rows.append(
            ctx.paired(res.row("postgres EXCLUDE insert, uncontended", "distinct slots", **meta))
        )
    return rows


def race_notes(res: LoadResult, summary: dict[str, int]) -> str:
    """One-line verdict for a race row: successful writes/s and the one-winner check."""
    wins = sum(v for k, v in res.outcomes.items() if k.startswith("won"))
    rate = wins / res.wall_s if res.wall_s > 0 else 0.0
    return (
        f"{res.threads} racers; booked {rate:,.0f}/s; one winner "
        f"{summary['one_winner']}/{summary['rounds']} rounds, none {summary['no_winner']}, "
        f"DOUBLE-BOOKED {summary['double_booked']}"
    )


def _pg_contended(ctx: BenchContext, psycopg: Any, table: str, meta: dict[str, Any]) -> list[Row]:
    """N connections race, round after round, to book one fresh slot together.

    Two shapes, because PostgreSQL behaves very differently on them:
    * same range: all N insert the identical 30-minute range — losers get a fast
      exclusion violation (23P01);
    * overlapping ranges: starts shifted by 0/10/20 minutes (every pair overlaps):
      concurrent inserts see each other's in-flight tuple, wait on each other, and
      deadlock (40P01) until ``deadlock_timeout`` (1 s by default) aborts one — a
      chain of N-1 of those per round at worst. What agents booking 10:00 and 10:10
      at once would get.
    """
    sql = _INSERT.format(t=table)
    rows: list[Row] = []
    codes = {"23P01": "exclusion_violation", "40P01": "deadlock", "40001": "serialization"}
    for shape, shift_min, year in (("same range", 0, 2032), ("overlapping ranges", 10, 2033)):
        base = datetime(year, 1, 1, tzinfo=UTC)
        for n in ctx.contenders:
            conns = _connections(psycopg, ctx.pg_dsn, n)
            cal = f"race-{secrets.token_hex(3)}"
            race = Race(n, rounds=100_000, seconds=ctx.race_seconds)

            def op(
                ti: int,
                i: int,
                _c: list[Any] = conns,
                _cal: str = cal,
                _b: datetime = base,
                _shift: int = shift_min,
            ) -> str | None:
                start = _b + timedelta(hours=i, minutes=_shift * (ti % 3))
                try:
                    _c[ti].execute(sql, (_cal, start, start + BOOKING, f"a{ti}", ti + 1))
                except psycopg.Error as exc:
                    return codes.get(exc.sqlstate or "", f"pg:{exc.sqlstate}")
                return "won"

            try:
                res = race.run(op)
            finally:
                for c in conns:
                    c.close()
            summ = race.summary()
            o = res.outcomes
            notes = race_notes(res, summ) + (
                f"; excl.viol {o['exclusion_violation']}, deadlocks {o['deadlock']}"
                f" (deadlock_timeout {meta['deadlock_timeout']})"
            )
            row = res.row(f"postgres race, {shape} (ops = attempts)", notes, **summ, **meta)
            rows.append(ctx.paired(row))
    return rows


# --------------------------------------------------------------------------- 3. memory


def measure_memory(client: redis.Redis, write_n: Callable[[int], None], n: int) -> float:
    """Bytes of ``used_memory`` per item after ``write_n(n)`` writes ``n`` items.

    Use on a fresh private server (nothing else allocating). The figure includes
    Redis' own per-key overhead (dict entry, robj, expires) and allocator rounding,
    which is the point: it is what a booking really costs the operator.
    """
    before = int(client.info("memory")["used_memory"])
    write_n(n)
    after = int(client.info("memory")["used_memory"])
    return (after - before) / n


def _layout_writers(client: redis.Redis, per_day: int) -> dict[str, Callable[[int], None]]:
    """Two raw layouts of the bucket index for ``n`` 30-minute bookings.

    Booking ``i`` lands on calendar ``(i // per_day) % 50``, day ``(i // per_day) // 50``,
    ``per_day`` bookings a calendar-day back to back from 09:00 — so the hash layout
    sees ``6 * per_day`` fields per key, as a real calendar would.
    """
    epoch = int(datetime(2031, 1, 1, tzinfo=UTC).timestamp()) // 300

    def place(i: int) -> tuple[int, int, int, str]:
        cd, k = divmod(i, per_day)
        day, cal = divmod(cd, 50)
        first = 108 + k * 6  # bucket-of-day of 09:00 + k * 30 min
        return cal, day, first, f"bkg_{i:012x}|agt_{cal:04x}|1|C"

    def key_per_bucket(n: int) -> None:
        pipe = client.pipeline(transaction=False)
        for i in range(n):
            cal, day, first, val = place(i)
            for b in range(first, first + 6):
                pipe.set(f"b:{{cal{cal}}}:{epoch + day * 288 + b}", val)
            if i % 500 == 499:
                pipe.execute()
        pipe.execute()

    def hash_per_day(n: int) -> None:
        pipe = client.pipeline(transaction=False)
        for i in range(n):
            cal, day, first, val = place(i)
            items = [x for b in range(first, first + 6) for x in (str(b), val)]
            pipe.hset(f"d:{{cal{cal}}}:{day}", items=items)
            if i % 500 == 499:
                pipe.execute()
        pipe.execute()

    return {"key per 5-min bucket": key_per_bucket, "hash per calendar-day": hash_per_day}


def memory_layouts(ctx: BenchContext) -> list[Row]:
    """Bytes per 30-minute booking for raw layouts, each on a fresh private server.

    Also a full day (48 bookings = 288 fields) for the hash layout: still under
    ``hash-max-ziplist-entries`` (512), so it stays compact; a field value longer than
    ``hash-max-ziplist-value`` (64 B) would convert the whole key to a hashtable.
    """
    n = 2000 if ctx.quick else 20000
    rows: list[Row] = []
    cases = [(PER_DAY, name) for name in ("key per 5-min bucket", "hash per calendar-day")]
    cases.append((48, "hash per calendar-day"))
    for per_day, name in cases:
        with ctx.fresh_redis() as srv:
            client = srv.client()
            try:
                writer = _layout_writers(client, per_day)[name]
                bpi = measure_memory(client, writer, n)
                info = srv.info()
                cfg = {str(k): v for k, v in client.config_get("hash-max-ziplist-*").items()}
            finally:
                client.close()
        rows.append(
            Row(
                what=f"memory: {name}, {per_day} bookings/cal-day",
                notes=f"{bpi:.0f} B/booking (n={n}, {info['mem_allocator']} malloc)",
                data={"bytes_per_booking": bpi, "n": n, "per_day": per_day, **info, **cfg},
            )
        )
    return rows


def all_baselines(ctx: BenchContext) -> list[Row]:
    """Every baseline section in report order; the no-op rows must come first."""
    rows = noop_lua(ctx)
    rows += postgres(ctx)
    rows += memory_layouts(ctx)
    return rows


__all__ = [
    "CLAIM_LUA",
    "all_baselines",
    "measure_memory",
    "memory_layouts",
    "noop_lua",
    "postgres",
]
