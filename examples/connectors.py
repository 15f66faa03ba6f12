"""The coordinator in front of a real calendar: a local Radicale holds the owner's calendar.

Run:  python examples/connectors.py          (offline: embedded engine + local Radicale)

A person adds a dentist appointment in their calendar app; the coordinator pulls it, so
five agents racing for that hour all get 409 external_event. They race again for a free
hour: one wins, its booking is pushed to the calendar as one event, the losers never
reach it. Needs the ``connectors`` extra and ``radicale``.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from coordinator import Conflict, Coordinator
from coordinator.connectors.local import local_radicale
from coordinator.connectors.urls import ALLOW_HOSTS_ENV
from coordinator.connectors.worker import SyncWorker
from coordinator.store.embedded import temporary_embedded


def race(clients: list[Any], start: datetime, end: datetime) -> list[Any]:
    out: list[Any] = [None] * len(clients)
    gate = threading.Barrier(len(clients))

    def go(i: int) -> None:
        gate.wait()
        try:
            out[i] = clients[i].bookings.commit(
                start=start, end=end, title=f"Call via agent-{i + 1}"
            )
        except Conflict as exc:
            out[i] = exc

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def main() -> None:
    # The calendar server below runs on this machine, and connectors refuse internal
    # hosts unless allowed (README, "Connector SSRF"); a deployment leaves this unset.
    os.environ.setdefault(ALLOW_HOSTS_ENV, "127.0.0.1")
    day = (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    with local_radicale() as dav, temporary_embedded() as folder:
        coord = Coordinator.embedded(folder, arbitration_window_ms=200)
        owner = coord.owners.create()
        calendar = dav.client().get_principal().make_calendar(name="Work", cal_id="work")
        print(f"Owner's calendar: {calendar.url}")
        # The person adds an appointment in their calendar app.
        calendar.add_event(
            dtstart=day + timedelta(hours=10), dtend=day + timedelta(hours=11),
            summary="Dentist", uid="dentist-1",
        )  # fmt: skip
        cal = coord.connectors.add(
            owner.user_id, "caldav", url=str(calendar.url),
            username=dav.username, password=dav.password,
        )  # fmt: skip
        print(f"Connected {cal.connector_id}; busy blocks pulled:")
        for b in coord.connectors.blocks(cal.connector_id):
            print(f"  {b.event_uid}: {b.start:%H:%M}-{b.end:%H:%M} UTC")

        clients = [
            coord.client(coord.agents.create(owner.user_id, name=f"agent-{p}", priority=p).api_key)
            for p in range(1, 6)
        ]
        print("\nFive agents race for 10:00-10:30 (the dentist hour):")
        for i, r in enumerate(
            race(clients, day + timedelta(hours=10), day + timedelta(hours=10.5))
        ):
            print(f"  agent-{i + 1}: {getattr(r, 'reason', r)}  event {r.body['event_uid']}")

        print("\nThey race again for 14:00-14:30:")
        results = race(clients, day + timedelta(hours=14), day + timedelta(hours=14.5))
        for i, r in enumerate(results):
            what = r.status if not isinstance(r, Conflict) else f"409 {r.reason}"
            print(f"  agent-{i + 1}: {what}")
        winner = next(r for r in results if not isinstance(r, Conflict))

        worker = SyncWorker(coord.bookings, coord.connectors)
        deadline = time.monotonic() + 10
        while coord.connectors.status(cal.connector_id).backlog and time.monotonic() < deadline:
            worker.run_once()
            time.sleep(0.05)  # the winner's arbitration window is still closing
        print("\nThe owner's calendar now holds:")
        for ev in calendar.search(event=True):
            comp = ev.icalendar_component
            print(f"  {comp['UID']}: {comp['SUMMARY']} at {comp['DTSTART'].dt:%H:%M}")
        print(f"(the winner's booking {winner.booking_id}; no loser ever reached the calendar)")
        coord.close()


if __name__ == "__main__":
    main()
