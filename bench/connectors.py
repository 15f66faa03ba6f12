"""What a calendar connector costs, against the same operations done directly with the
``caldav`` client in the same run, on a local Radicale.

    python -m bench.connectors [--events 1000] [--changes 10] [--pushes 40]

Rows: a full pull of ``--events`` one-off events (listing, one calendar-multiget, parse
and expand, one connector_apply script) against the caldav client's listing + multiget
alone; an incremental pull after a person edits ``--changes`` events against the client's
sync-token REPORT + multiget; and the time from a settled commit (the write returned) to
the event being readable on the server, with the sync worker running in a thread
(idle poll 100 ms), against the client's own PUT of the same event until readable.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from coordinator import Coordinator
from coordinator.connectors.ical import booking_uid
from coordinator.connectors.local import local_radicale
from coordinator.connectors.worker import SyncWorker
from coordinator.store.embedded import stop_embedded


def _pct(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.99) - 1)]


def _timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _ics(uid: str, start: datetime, minutes: int, summary: str) -> str:
    end = start + timedelta(minutes=minutes)
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{start:%Y%m%dT%H%M%SZ}\r\n"
        f"DTEND:{end:%Y%m%dT%H%M%SZ}\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def _visible(client: Any, url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        if client.request(url, "GET").status == 200:
            return
        time.sleep(0.002)  # polling the server for the event, as a calendar app would
    raise RuntimeError(f"{url} never appeared")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--pushes", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    base = (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    folder = tempfile.mkdtemp(prefix="agentdraft-bench-connectors-")
    with local_radicale() as dav:
        coord = Coordinator.embedded(folder, arbitration_window_ms=0)
        try:
            rows = run(coord, dav, base, args)
        finally:
            coord.close()
            stop_embedded(folder)
    print(f"\n{args.events} events on a local Radicale; times in ms (p50 / p99)\n")
    print("| operation | coordinator | caldav client alone | ratio (p50) |")
    print("|---|---|---|---|")
    for what, mine, direct in rows:
        (m50, m99), (d50, d99) = _pct(mine), _pct(direct)
        print(f"| {what} | {m50:.1f} / {m99:.1f} | {d50:.1f} / {d99:.1f} | {m50 / d50:.2f}x |")


def run(coord: Coordinator, dav: Any, base: datetime, args: argparse.Namespace) -> list[Any]:
    person = dav.client()
    cal = person.get_principal().make_calendar(name="bench", cal_id="bench")
    print(f"writing {args.events} events as a person would ...", flush=True)
    for i in range(args.events):
        start = base + timedelta(minutes=75 * i)
        cal.add_event(_ics(f"ev-{i}", start, 30, f"event {i}"))
    owner = coord.owners.create()
    c = coord.connectors.add(
        owner.user_id, "caldav", url=str(cal.url), username=dav.username, password=dav.password
    )
    k = coord.store.keys
    cid = c.connector_id

    def full_pull() -> None:  # forget what was seen: list, fetch, parse and apply all
        coord.redis.delete(k.connector_hrefs(owner.user_id, cid))
        coord.redis.hset(k.connector_state(owner.user_id, cid), "horizon_ms", "0")
        coord.connectors.sync(cid)

    def direct_full() -> None:
        coll = cal.get_objects_by_sync_token(load_objects=False)
        cal.multiget([o.url for o in coll.objects])

    rows: list[Any] = [
        (f"full pull, {args.events} events", _timed(full_pull, args.repeat),
         _timed(direct_full, args.repeat)),
    ]  # fmt: skip

    mine, direct = [], []
    for r in range(args.repeat):
        token = cal.get_objects_by_sync_token(load_objects=False).sync_token
        for i in range(args.changes):  # the person moves some events by 5 minutes
            j = (r * args.changes + i) % args.events
            start = base + timedelta(minutes=75 * j + 5 * (r + 1))
            cal.add_event(_ics(f"ev-{j}", start, 30, f"event {j} moved"))
        direct += _timed(
            lambda t=token: cal.multiget(
                [o.url for o in cal.get_objects_by_sync_token(sync_token=t).objects]
            ),
            1,
        )
        mine += _timed(lambda: coord.connectors.sync(cid), 1)
    rows.append((f"incremental pull, {args.changes} changed", mine, direct))

    agent = coord.client(coord.agents.create(owner.user_id, name="bench", priority=1).api_key)
    worker = SyncWorker(coord.bookings, coord.connectors, pull_interval_seconds=3600)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop,), daemon=True)
    thread.start()
    pushed, putting = [], []
    try:
        for i in range(args.pushes):
            start = base + timedelta(days=70, minutes=60 * i)
            b = agent.bookings.commit(start=start, end=start + timedelta(minutes=30))
            t0 = time.perf_counter()
            url = str(cal.url) + booking_uid(b.booking_id) + ".ics"
            _visible(person, url, time.monotonic() + 30)
            pushed.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            uid = f"direct-{i}"
            cal.add_event(_ics(uid, start + timedelta(minutes=30), 30, "direct"))
            _visible(person, str(cal.url) + uid + ".ics", time.monotonic() + 30)
            putting.append((time.perf_counter() - t0) * 1000)
    finally:
        stop.set()
        thread.join()
    rows.append(("settled commit -> visible on the server", pushed, putting))
    return rows


if __name__ == "__main__":
    main()
