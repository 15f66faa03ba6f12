"""Several server processes on one Redis are one coordinator: one winner per slot."""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from coordinator import Coordinator

from .conftest import start_server

agentdraft = pytest.importorskip("agentdraft")


def test_agents_racing_through_two_server_processes_get_one_winner_per_slot(http_redis) -> None:
    servers = [start_server(http_redis.url, window_ms=1000) for _ in range(2)]
    coord = Coordinator.from_url(http_redis.url)
    try:
        owner = coord.owners.create()
        agents = [coord.agents.create(owner.user_id, name=f"p{p}", priority=p) for p in range(1, 7)]
        rounds = 40
        barrier = threading.Barrier(len(agents))
        wins: dict[int, list[int]] = defaultdict(list)
        statuses: list[int] = []
        lock = threading.Lock()
        base = datetime(2031, 9, 1, tzinfo=UTC)

        def run(i: int) -> None:
            a = agents[i]
            # Agents alternate between the two server processes.
            client = agentdraft.Client(api_key=a.api_key, base_url=servers[i % 2].url)
            for rnd in range(rounds):
                start = base + timedelta(hours=rnd)
                barrier.wait()
                try:
                    client.bookings.commit(start=start, end=start + timedelta(minutes=30))
                    with lock:
                        wins[rnd].append(a.priority)
                        statuses.append(201)
                except agentdraft.Conflict as c:
                    assert c.winning_agent_priority < a.priority
                    with lock:
                        statuses.append(409)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(agents))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert all(wins[r] == [1] for r in range(rounds)), dict(wins)
        assert statuses.count(201) == rounds
        assert statuses.count(409) == rounds * (len(agents) - 1)
        assert coord.audit.verify(owner.user_id).ok
    finally:
        for s in servers:
            s.stop()
        coord.close()
