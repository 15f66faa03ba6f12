"""Freshness: availability says how fresh each connected calendar is; by owner policy a
commit on a stale view is refused with 503 calendar_unsynced ("unproven, not free")."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from coordinator import CalendarUnsynced, Coordinator
from coordinator.client import LocalClient
from coordinator.store.aio import AsyncCalls, async_twin

from .conftest import Owner, soon


def _age(owner: Owner, cid: str, seconds: int) -> None:
    """Make the last pull ``seconds`` old on the server clock (as a worker that stopped)."""
    k = owner.coord.store.keys
    secs, micros = owner.coord.redis.time()
    then = int(secs) * 1000 + int(micros) // 1000 - seconds * 1000
    owner.coord.redis.hset(k.connector_state(owner.user_id, cid), "last_pull_ms", str(then))


def test_availability_reports_each_calendar_fresh_then_stale(owner: Owner) -> None:
    c = owner.connect(max_staleness_seconds=60)
    agent = owner.agent(1)
    fresh = agent.availability.list(start=soon(1, 9), end=soon(1, 10))
    assert [(f.connector_id, f.stale) for f in fresh.calendars] == [(c.connector_id, False)]
    assert not fresh.stale
    _age(owner, c.connector_id, 120)
    stale = agent.availability.list(start=soon(1, 9), end=soon(1, 10))
    assert stale.stale and stale.calendars[0].stale
    assert owner.coord.connectors.status(c.connector_id).stale


def test_refuse_policy_turns_a_stale_commit_into_calendar_unsynced(owner: Owner) -> None:
    c = owner.connect(max_staleness_seconds=60, stale="refuse")
    agent = owner.agent(1)
    _age(owner, c.connector_id, 120)
    with pytest.raises(CalendarUnsynced) as exc:
        agent.bookings.commit(start=soon(1, 10), end=soon(1, 11))
    assert exc.value.status == 503 and exc.value.error == "calendar_unsynced"
    assert exc.value.body["connector_id"] == c.connector_id
    assert not owner.coord.redis.hlen(owner.coord.store.keys.bookings(owner.user_id))
    # A hold is not a commit: it is still placed; after a pull the commit goes through
    assert agent.bookings.hold(start=soon(2, 10), end=soon(2, 11)).status == "HOLD"
    owner.coord.connectors.sync(c.connector_id)
    assert agent.bookings.commit(start=soon(1, 10), end=soon(1, 11)).status == "COMMITTED"


def test_allow_policy_commits_on_a_stale_view(owner: Owner) -> None:
    c = owner.connect(max_staleness_seconds=60)
    _age(owner, c.connector_id, 120)
    assert owner.agent(1).bookings.commit(start=soon(1, 10), end=soon(1, 11)).is_live


class _ThreadNoting:
    """A commit guard that must read (``passes_unread`` is False) and notes its thread."""

    def __init__(self) -> None:
        self.threads: list[int] = []

    def __call__(self, user_id: str) -> None:
        self.threads.append(threading.get_ident())

    def passes_unread(self, user_id: str) -> bool:
        return False


async def _commit_on_loop(agent: LocalClient, coord: Coordinator, day: int) -> Any:
    calls = AsyncCalls.open(async_twin(coord.redis))  # type: ignore[arg-type]
    try:
        return await agent.bookings.write_async(
            calls, "commit", start=soon(day, 10), end=soon(day, 11)
        )
    finally:
        await calls.aclose()


def test_a_guard_that_must_read_runs_off_the_event_loop(owner: Owner) -> None:
    """The server's commit path: a store read on the loop would stall every request in
    flight behind the scripts queued in Redis, so a guard that must read goes to a thread."""
    noting = _ThreadNoting()
    owner.coord.bookings.commit_guards.append(noting)
    agent = owner.agent(1)

    async def go() -> tuple[Any, int]:
        return await _commit_on_loop(agent, owner.coord, 1), threading.get_ident()

    booked, loop_thread = asyncio.run(go())
    assert booked.status == "COMMITTED"
    assert len(noting.threads) == 1 and noting.threads[0] != loop_thread


def test_a_stale_refusing_calendar_is_refused_on_the_loop_path_too(owner: Owner) -> None:
    c = owner.connect(max_staleness_seconds=60, stale="refuse")
    agent = owner.agent(1)
    _age(owner, c.connector_id, 120)
    with pytest.raises(CalendarUnsynced):
        asyncio.run(_commit_on_loop(agent, owner.coord, 1))
    assert not owner.coord.redis.hlen(owner.coord.store.keys.bookings(owner.user_id))
    # The list of refusing connectors is cached, but freshness is read on every commit:
    # not known to pass without a read.
    assert not owner.coord.connectors.known_synced(owner.user_id)
    owner.coord.connectors.sync(c.connector_id)
    assert asyncio.run(_commit_on_loop(agent, owner.coord, 1)).status == "COMMITTED"


def test_a_calendar_without_refusing_connectors_is_known_to_pass_once_read(
    owner: Owner,
) -> None:
    registry = owner.coord.connectors
    assert not registry.known_synced(owner.user_id)  # nothing read yet
    asyncio.run(_commit_on_loop(owner.agent(1), owner.coord, 1))
    assert registry.known_synced(owner.user_id)  # the next commit stays on the loop
