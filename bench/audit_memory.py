"""Redis memory per booking, split by what holds it, before and after archiving.

Issue 10 asks for at most 1.2 KB per booking in Redis including its audit entry.
This writes the same load as the coordinator's memory row (8 committed 30-minute
bookings a calendar-day, 50 calendars, an idempotency key each) on a fresh
server, then reports:

* ``used_memory`` per booking (the whole footprint, allocator rounding included);
* ``MEMORY USAGE`` per key family, per booking: the record (stored compact, see
  coordinator/store/records.py), the audit entries, the idempotency key (24 h TTL),
  the day hashes (``bkgaudit``, the per-booking audit index, only where an older
  version wrote it);
* ``used_memory`` per booking again after ``coordinator audit archive`` moved every
  audit entry to segment files (what stays in Redis under a finite audit retention).

Run alone: ``python -m bench.audit_memory [--quick]``; bench.run includes it.
"""

from __future__ import annotations

import argparse
import tempfile
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.baselines import measure_memory
from bench.common import BenchContext, Row
from bench.coordinator_bench import BOOKING, _base_time, _close, _make_clients

#: Key families of one calendar, by the first part after the ``{user}:`` prefix.
FAMILIES = ("bookings", "audit", "bkgaudit", "idem", "day", "owner", "agents", "agent", "rl")


def _family(key: str | bytes) -> str:
    text = key.decode() if isinstance(key, bytes) else key
    rest = text.split("}:", 1)[-1]
    name = rest.split(":", 1)[0]
    return name if name in FAMILIES else "other"


def _breakdown(raw: Any, n: int) -> dict[str, float]:
    """Bytes per booking of each key family (MEMORY USAGE, exact: SAMPLES 0)."""
    sums: dict[str, int] = defaultdict(int)
    for key in raw.scan_iter(match="ad:{*", count=1000):
        sums[_family(key)] += int(raw.memory_usage(key, samples=0) or 0)
    return {k: v / n for k, v in sorted(sums.items())}


def audit_memory(ctx: BenchContext) -> list[Row]:
    from coordinator import Coordinator
    from coordinator.audit.archive import Archiver

    n = 500 if ctx.quick else 4000
    with ctx.fresh_redis() as srv:
        coord = Coordinator.from_url(srv.url)
        raw = srv.client()
        try:
            calendars = [c[0] for c in _make_clients(coord, 50, (1,), "amem")]
            owners = [c.user_id for c in calendars]
            base = _base_time(2)
            cursor = [0]

            def write_n(count: int) -> None:
                for _ in range(count):
                    i = cursor[0]
                    cursor[0] += 1
                    cd, k = divmod(i, 8)
                    day, cal = divmod(cd, 50)
                    start = base + timedelta(days=day, hours=9) + k * BOOKING
                    calendars[cal].bookings.commit(
                        start=start, end=start + BOOKING, idempotency_key=f"amem-{i}"
                    )

            write_n(8)
            total = measure_memory(raw, write_n, n)
            parts = _breakdown(raw, n + 8)
            before = int(raw.info("memory")["used_memory"])
            archiver = Archiver(coord.store)
            with tempfile.TemporaryDirectory(prefix="bench-archive-") as folder:
                for uid in owners:
                    archiver.archive_before(uid, Path(folder), 2**62)
            after = int(raw.info("memory")["used_memory"])
            archived_total = total - (before - after) / (n + 8)
        finally:
            raw.close()
            _close(coord)
    split = ", ".join(f"{k} {v:.0f}" for k, v in parts.items() if v >= 1)
    steady = total - parts.get("idem", 0.0)
    return [
        Row(
            what="memory: per booking, by key family",
            notes=f"{total:.0f} B used_memory/booking; MEMORY USAGE per booking: {split}",
            data={"bytes_per_booking": total, "families": parts, "n": n},
        ),
        Row(
            what="memory: per booking, idempotency key expired",
            notes=f"{steady:.0f} B/booking once its 24 h idempotency key is gone",
            data={"bytes_per_booking": steady},
        ),
        Row(
            what="memory: per booking, audit archived",
            notes=f"{archived_total:.0f} B/booking after every audit entry moved to segments "
            f"({archived_total - parts.get('idem', 0.0):.0f} B once idempotency expires)",
            data={"bytes_per_booking": archived_total},
        ),
    ]


def main() -> None:
    from tests.support.servers import RedisServer

    p = argparse.ArgumentParser(prog="python -m bench.audit_memory")
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    with RedisServer().start() as srv:
        ctx = BenchContext(quick=args.quick, threads=[1], seconds=0.5, warmup=10, redis=srv)
        for row in audit_memory(ctx):
            print(f"- {row.what}: {row.notes}")


if __name__ == "__main__":
    main()
