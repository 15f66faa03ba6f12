"""The coordinator's own benchmarks, through its public Python API only.

# ``coordinator_benchmarks(ctx)`` is the one entry point run.py calls. It is written
# against the coordinator's public surface —
#
#     from coordinator import Coordinator, Conflict
#     coord = Coordinator.from_url(url)
#     owner = coord.owners.create()                       # -> .user_id
#     bot = coord.agents.create(owner.user_id, name=..., priority=1)  # -> .api_key
#     client = coord.client(bot.api_key)
#     client.bookings.commit(start=..., end=..., idempotency_key=...)  # Conflict on loss
#
# (plus ``coord.with_settings(arbitration_window_ms=0)`` if present) and measures:
#   * uncontended commits/s + p50/p99 (distinct slots, priority-1 agents, per thread count);
#   * arbitration-window cost: a lone priority-2 commit vs a priority-1 one (the
#     top-ranked agent never waits; a lower one may wait out the window when no
#     better write comes), at the default window and at 0;
#   * contended commits/s: N agents ranked 1..N race for one slot every round (same
#     range, and overlapping ranges), with per-round checks: exactly one winner, and
#     how often priority 1 won;
#   * Redis memory per booking (whole footprint: buckets, booking record, audit
#     entry, idempotency entry) via ``bench.baselines.measure_memory``;
#   * availability.list latency: a one-week query on a calendar of 2,000 bookings, and
#     how it moves with the range (1 day / 1 week / 4 weeks) and the calendar's size.
# While ``from coordinator import Coordinator`` fails it returns [] and run.py notes
# the skip; any other failure is reported by run.py as a note, not a crash.
# Why only the public API: the figures must be what a user's agent gets, and the
# benchmark must not break when the engine's internals move.
"""

from __future__ import annotations

import contextlib
import math
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.baselines import measure_memory, race_notes
from bench.common import BenchContext, Race, Row, run_load

BOOKING = timedelta(minutes=30)
#: commits per API key per section: stays under the protocol's default burst (600)
#: in case the embedded client enforces the per-key rate limit.
PER_KEY = 500


def _base_time(days_ahead: int) -> datetime:
    """Midnight UTC some days ahead: future (no lead-time/past rules), server-clock safe."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=days_ahead)


def _close(coord: Any) -> None:
    close = getattr(coord, "close", None)
    if callable(close):
        with contextlib.suppress(Exception):
            close()


def _make_clients(coord: Any, n: int, priorities: tuple[int, ...], tag: str) -> list[list[Any]]:
    """``n`` fresh owners, each with one agent per priority; returns clients[owner][k]."""
    out: list[list[Any]] = []
    for o in range(n):
        owner = coord.owners.create()
        per: list[Any] = []
        for p in priorities:
            bot = coord.agents.create(owner.user_id, name=f"bench-{tag}-{o}-p{p}", priority=p)
            per.append(coord.client(bot.api_key))
        out.append(per)
    return out


def _commit_op(
    clients: list[list[Any]], conflict: type[Exception], run: str, which: int = 0
) -> Callable[[int, int], str | None]:
    """Op for distinct slots: thread ``t`` uses its own owners, slot advances with ``i``."""
    base = _base_time(2)

    def op(t: int, i: int) -> str | None:
        owner_idx, slot = divmod(i, PER_KEY)
        client = clients[t][owner_idx][which]
        start = base + slot * BOOKING
        try:
            client.bookings.commit(
                start=start, end=start + BOOKING, idempotency_key=f"{run}-{t}-{i}"
            )
        except conflict as exc:
            return f"conflict:{getattr(exc, 'reason', '?')}"
        return None

    return op


def _uncontended(ctx: BenchContext, coord: Any, conflict: type[Exception]) -> list[Row]:
    ops_cap = 1500 if ctx.quick else 8000
    warmup = min(ctx.warmup, 100)
    rows: list[Row] = []
    for t in ctx.threads:
        run = f"u{t}-{secrets.token_hex(3)}"
        per_thread = math.ceil((ops_cap + warmup) / PER_KEY)
        clients = [_make_clients(coord, per_thread, (1,), f"{run}-{ti}") for ti in range(t)]
        res = run_load(
            _commit_op(clients, conflict, run),
            threads=t,
            ops_per_thread=ops_cap,
            seconds=ctx.seconds,
            warmup=warmup,
        )
        rows.append(
            ctx.paired(res.row("coordinator commit, uncontended", "priority 1, distinct slots"))
        )
    return rows


def _window_cost(
    ctx: BenchContext, coord: Any, conflict: type[Exception], p1_rows: list[Row]
) -> list[Row]:
    """A lone priority-2 commit (a priority-1 agent exists but stays idle), 1 thread.

    The difference to the priority-1 p50 at one thread is what the arbitration window
    costs an uncontended lower-ranked agent. Measured at the coordinator's default
    window and, if ``with_settings(arbitration_window_ms=0)`` exists, with it disabled.
    """
    ref = next((r for r in p1_rows if r.threads == 1 and r.p50_ms is not None), None)
    variants: list[tuple[str, Any]] = [("default window", coord)]
    with_settings = getattr(coord, "with_settings", None)
    if callable(with_settings):
        try:
            variants.append(("window 0 ms", with_settings(arbitration_window_ms=0)))
        except Exception as exc:
            ctx.note(f"coordinator: window-0 variant skipped ({type(exc).__name__}: {exc})")
    rows: list[Row] = []
    for label, co in variants:
        run = f"w-{secrets.token_hex(3)}"
        clients = [_make_clients(co, 1, (1, 2), run)]
        res = run_load(
            _commit_op(clients, conflict, run, which=1),
            threads=1,
            ops_per_thread=5 if ctx.quick else 50,
            seconds=3.0 if ctx.quick else 15.0,
            warmup=3,
        )
        p50 = res.pct_ms(0.5)
        extra = ""
        if ref is not None and ref.p50_ms is not None and p50 is not None:
            extra = f"; p50 +{p50 - ref.p50_ms:.2f} ms vs priority 1"
        window = getattr(getattr(co, "settings", None), "arbitration_window_ms", None)
        row = res.row(
            f"coordinator commit, uncontended, priority 2, {label}",
            f"alone on slot; window={window} ms{extra}",
            arbitration_window_ms=window,
        )
        rows.append(ctx.paired(row))
    return rows


def _contended(ctx: BenchContext, coord: Any, conflict: type[Exception]) -> list[Row]:
    """N agents of one owner, ranked 1..N, race for one fresh slot per round.

    Same two shapes as the PostgreSQL race (identical range; starts shifted 0/10/20
    min, every pair overlapping) so the rows compare directly. Each round must have
    exactly one winner; inside the arbitration window it should be priority 1.
    """
    rows: list[Row] = []
    for shape, shift_min, days in (("same range", 0, 3), ("overlapping ranges", 10, 40)):
        for n in ctx.contenders:
            run = f"c{n}-{secrets.token_hex(3)}"
            agents = _make_clients(coord, 1, tuple(range(1, n + 1)), run)[0]
            race = Race(n, rounds=PER_KEY - 10, seconds=ctx.race_seconds)
            base = _base_time(days)

            def op(
                t: int,
                i: int,
                _agents: list[Any] = agents,
                _run: str = run,
                _base: datetime = base,
                _shift: int = shift_min,
            ) -> str | None:
                start = _base + i * timedelta(hours=1) + timedelta(minutes=_shift * (t % 3))
                try:
                    _agents[t].bookings.commit(
                        start=start, end=start + BOOKING, idempotency_key=f"{_run}-{t}-{i}"
                    )
                except conflict as exc:
                    return f"lost:p{t + 1}:{getattr(exc, 'reason', '?')}"
                return f"won:p{t + 1}"

            res = race.run(op)
            summ = race.summary()
            win_p50 = res.pct_ms(0.5, "won:p1")
            lost = sorted(x for k, xs in res.by_outcome.items() if k.startswith("lost") for x in xs)
            lost_p50 = lost[len(lost) // 2] / 1e6 if lost else None
            notes = (
                race_notes(res, summ)
                + f", p1 won {summ['first_contender_won']}"
                + (f"; p50 p1 win {win_p50:.2f} ms" if win_p50 is not None else "")
                + (f", losers {lost_p50:.2f} ms" if lost_p50 is not None else "")
            )
            per_outcome = {
                k: {"n": len(v), "p50_ms": res.pct_ms(0.5, k), "p99_ms": res.pct_ms(0.99, k)}
                for k, v in res.by_outcome.items()
            }
            row = res.row(
                f"coordinator race, {shape} (ops = attempts)",
                notes,
                per_outcome=per_outcome,
                **summ,
            )
            rows.append(ctx.paired(row))
    return rows


def _memory(ctx: BenchContext, coordinator_cls: Any) -> list[Row]:
    """Whole footprint per committed booking on a fresh server, same spread as the raw
    layouts (8 bookings per calendar-day, 50 calendars), set-up excluded."""
    n = 500 if ctx.quick else 4000
    with ctx.fresh_redis() as srv:
        coord = coordinator_cls.from_url(srv.url)
        raw = srv.client()
        try:
            calendars = [c[0] for c in _make_clients(coord, 50, (1,), "mem")]
            base = _base_time(2)

            cursor = [0]  # booking index continues across calls: no reused slot or key

            def write_n(count: int) -> None:
                for _ in range(count):
                    i = cursor[0]
                    cursor[0] += 1
                    cd, k = divmod(i, 8)
                    day, cal = divmod(cd, 50)
                    start = base + timedelta(days=day, hours=9) + k * BOOKING
                    calendars[cal].bookings.commit(
                        start=start, end=start + BOOKING, idempotency_key=f"mem-{i}"
                    )

            write_n(8)  # load scripts / lazily created structures before measuring
            bpb = measure_memory(raw, write_n, n)
        finally:
            raw.close()
            _close(coord)
    return [
        Row(
            what="memory: coordinator, 8 bookings/cal-day",
            notes=f"{bpb:.0f} B/booking incl. audit + idempotency (n={n})",
            data={"bytes_per_booking": bpb, "n": n},
        )
    ]


def _availability_calendar(coord: Any, bookings: int, tag: str) -> tuple[Any, datetime]:
    """An owner with ``bookings`` commits, 20 a day (every 40 min from 06:00 UTC), then
    realistic rules (Berlin, 07:00-21:00 every day, buffers, a weekly focus block, a cap).

    Returns a reader client (rate limit lifted: the benchmark measures the query, not
    the bucket) and the first day. Rules are set after the bookings so they all land.
    """
    owner = coord.owners.create(timezone="Europe/Berlin")
    fast = {"rate_limit_per_second": 1_000_000, "rate_limit_burst": 1_000_000}
    writer = coord.client(
        coord.agents.create(owner.user_id, name=f"{tag}-w", priority=1, **fast).api_key
    )
    reader = coord.client(
        coord.agents.create(owner.user_id, name=f"{tag}-r", priority=2, **fast).api_key
    )
    day0 = _base_time(400)
    for i in range(bookings):
        day, k = divmod(i, 20)
        start = day0 + timedelta(days=day, hours=6, minutes=40 * k)
        writer.bookings.commit(
            start=start, end=start + BOOKING, buffer_before_min=0, buffer_after_min=0
        )
    coord.rules.update(
        owner.user_id,
        working_hours={
            d: [("07:00", "21:00")] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        },
        buffer_before_min=5,
        buffer_after_min=5,
        daily_cap=25,
        focus_blocks=[{"weekday": "wed", "start": "12:00", "end": "13:00"}],
    )
    return reader, day0


def _availability(ctx: BenchContext, coord: Any) -> list[Row]:
    """``client.availability.list`` latency by range length and by calendar size.

    Same density (20 bookings a day) everywhere, so the rows separate the two costs:
    the range (days read, bookings in it, candidate slots) and the calendar's total
    size (which should not matter: days outside the range are never read).
    """
    cases: list[tuple[str, int, int, int]] = [  # label, bookings, first query day, days
        ("1 week, 2,000 bookings", 2000, 50, 7),
        ("1 day, 2,000 bookings", 2000, 50, 1),
        ("4 weeks, 2,000 bookings", 2000, 50, 28),
        ("1 week, 500 bookings", 500, 10, 7),
        ("1 week, empty calendar", 0, 10, 7),
    ]
    calendars: dict[int, tuple[Any, datetime]] = {}
    rows: list[Row] = []
    for label, n, first_day, days in cases:
        if n not in calendars:
            calendars[n] = _availability_calendar(coord, n, f"av{n}")
        reader, day0 = calendars[n]
        lo = day0 + timedelta(days=first_day)
        hi = lo + timedelta(days=days)
        sizes: list[int] = []

        def op(
            _t: int,
            _i: int,
            _r: Any = reader,
            _lo: datetime = lo,
            _hi: datetime = hi,
            _sizes: list[int] = sizes,
        ) -> str | None:
            _sizes.append(len(_r.availability.list(start=_lo, end=_hi)))
            return None

        res = run_load(
            op, threads=1, ops_per_thread=50 if ctx.quick else 300, seconds=ctx.seconds, warmup=5
        )
        in_range = min(n, 20 * days) if n else 0
        rows.append(
            res.row(
                f"availability.list, {label}",
                f"{in_range} bookings in range, {sizes[-1] if sizes else 0} slots; rules: Berlin "
                "hours, buffers, focus, cap",
                bookings=n,
                range_days=days,
                bookings_in_range=in_range,
            )
        )
    return rows


def coordinator_benchmarks(ctx: BenchContext) -> list[Row]:
    """The coordinator rows for the report; [] until the engine's public API exists."""
    try:
        from coordinator import Conflict, Coordinator  # type: ignore[attr-defined]
    except ImportError as exc:
        ctx.note(f"coordinator: skipped — engine not importable yet ({exc})")
        return []
    rows: list[Row] = []
    coord = Coordinator.from_url(ctx.redis_url)
    try:
        unc = _uncontended(ctx, coord, Conflict)
        rows += unc
        rows += _window_cost(ctx, coord, Conflict, unc)
        rows += _contended(ctx, coord, Conflict)
        rows += _availability(ctx, coord)
        from bench.arrival_spread import arrival_rows

        rows += arrival_rows(ctx, coord, rounds=30 if ctx.quick else 100)
    finally:
        _close(coord)
    rows += _memory(ctx, Coordinator)
    return rows
