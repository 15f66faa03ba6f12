"""Over HTTP: every 409 names the booking that stands, and the past cannot be booked.

Agents use the official SDK through two ``coordinator serve`` processes on one Redis,
so the final-winner wait is exercised across processes, not just threads.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from coordinator import Coordinator
from coordinator.store.records import expand_booking

from .conftest import start_server

agentdraft = pytest.importorskip("agentdraft")


def test_every_409_over_http_names_the_booking_that_stands(http_redis) -> None:
    servers = [start_server(http_redis.url, window_ms=1000) for _ in range(2)]
    coord = Coordinator.from_url(http_redis.url)
    try:
        owner = coord.owners.create()
        agents = [coord.agents.create(owner.user_id, name=f"p{p}", priority=p) for p in range(1, 6)]
        rounds = 30
        barrier = threading.Barrier(len(agents))
        named: dict[int, list[str | None]] = defaultdict(list)
        won: dict[int, list[str]] = defaultdict(list)
        lock = threading.Lock()
        base = datetime(2031, 10, 6, tzinfo=UTC)

        def run(i: int) -> None:
            client = agentdraft.Client(api_key=agents[i].api_key, base_url=servers[i % 2].url)
            for rnd in range(rounds):
                start = base + timedelta(hours=rnd)
                barrier.wait()
                try:
                    b = client.bookings.commit(start=start, end=start + timedelta(minutes=30))
                    with lock:
                        won[rnd].append(b.booking_id)
                except agentdraft.Conflict as c:
                    with lock:
                        named[rnd].append(c.winning_booking_id)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(agents))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

        records = [
            expand_booking(b, v)
            for b, v in coord.redis.hgetall(coord.store.keys.bookings(owner.user_id)).items()
        ]
        standing = {r["start_ms"]: r["id"] for r in records if r["status"] == "COMMITTED"}
        wrong = []
        for rnd in range(rounds):
            start_ms = int((base + timedelta(hours=rnd)).timestamp() * 1000)
            assert won[rnd] == [standing[start_ms]]
            assert len(named[rnd]) == len(agents) - 1
            wrong += [(rnd, n) for n in named[rnd] if n != standing[start_ms]]
        assert wrong == [], f"{len(wrong)} 409s named a booking that did not stand"
    finally:
        for s in servers:
            s.stop()
        coord.close()


def test_a_commit_in_the_past_over_http_is_422_in_the_past(http_redis) -> None:
    server = start_server(http_redis.url)
    coord = Coordinator.from_url(http_redis.url)
    try:
        owner = coord.owners.create()
        agent = coord.agents.create(owner.user_id, name="bot", priority=1)
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=180)
        r = httpx.post(
            f"{server.url}/v1/bookings",
            headers={"Authorization": f"Bearer {agent.api_key}"},
            json={
                "start": start.isoformat(),
                "end": (start + timedelta(minutes=30)).isoformat(),
                "mode": "commit",
            },
        )
        assert r.status_code == 422, r.text
        assert r.json()["error"] == "in_the_past"
        assert coord.redis.hlen(coord.store.keys.bookings(owner.user_id)) == 0
    finally:
        server.stop()
        coord.close()
