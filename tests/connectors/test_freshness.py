"""Freshness: availability says how fresh each connected calendar is; by owner policy a
commit on a stale view is refused with 503 calendar_unsynced ("unproven, not free")."""

from __future__ import annotations

import asyncio
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


class _NoBlockingList:
    """The registry's sync client with a tripwire on the connector list's read."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def hvals(self, *args: Any) -> Any:
        raise AssertionError("the connector list was read with a blocking call on the loop")


async def _commit_on_loop(agent: LocalClient, coord: Coordinator, day: int) -> Any:
    calls = AsyncCalls.open(async_twin(coord.redis))  # type: ignore[arg-type]
    try:
        return await agent.bookings.write_async(
            calls, "commit", start=soon(day, 10), end=soon(day, 11)
        )
    finally:
        await calls.aclose()


def test_the_loop_path_reads_the_connector_list_on_the_asyncio_client(owner: Owner) -> None:
    """The server's commit path: a blocking read on the loop would stall every request
    in flight behind the scripts queued in Redis; the list goes on the pipelined client."""
    owner.connect(max_staleness_seconds=60)  # a connector, not one that refuses
    registry = owner.coord.connectors
    registry.r = _NoBlockingList(registry.r)
    agent = owner.agent(1)
    assert asyncio.run(_commit_on_loop(agent, owner.coord, 1)).status == "COMMITTED"
    assert asyncio.run(_commit_on_loop(agent, owner.coord, 2)).status == "COMMITTED"


def test_a_stale_refusing_calendar_is_refused_on_the_loop_path_too(owner: Owner) -> None:
    c = owner.connect(max_staleness_seconds=60, stale="refuse")
    agent = owner.agent(1)
    _age(owner, c.connector_id, 120)
    with pytest.raises(CalendarUnsynced) as exc:
        asyncio.run(_commit_on_loop(agent, owner.coord, 1))
    assert exc.value.body["connector_id"] == c.connector_id
    assert not owner.coord.redis.hlen(owner.coord.store.keys.bookings(owner.user_id))
    owner.coord.connectors.sync(c.connector_id)  # fresh again: the same commit goes through
    assert asyncio.run(_commit_on_loop(agent, owner.coord, 1)).status == "COMMITTED"


def test_a_calendar_gone_stale_after_a_commit_is_refused_on_the_loop_path(owner: Owner) -> None:
    """The loop skips the guard only while the cached list holds no refusing connector:
    one that refuses is checked again on every commit, so a calendar that goes stale
    after a commit went through refuses the next one."""
    c = owner.connect(max_staleness_seconds=60, stale="refuse")
    agent = owner.agent(1)
    registry = owner.coord.connectors
    assert asyncio.run(_commit_on_loop(agent, owner.coord, 1)).status == "COMMITTED"
    assert not registry.none_refusing(owner.user_id)  # cached, and it refuses
    _age(owner, c.connector_id, 120)
    with pytest.raises(CalendarUnsynced):
        asyncio.run(_commit_on_loop(agent, owner.coord, 2))


def test_a_calendar_without_refusing_connectors_skips_the_guard_once_cached(
    owner: Owner,
) -> None:
    owner.connect(max_staleness_seconds=60)  # allows stale views
    registry = owner.coord.connectors
    assert not registry.none_refusing(owner.user_id)  # not cached yet: the guard reads
    assert asyncio.run(_commit_on_loop(owner.agent(1), owner.coord, 1)).status == "COMMITTED"
    assert registry.none_refusing(owner.user_id)
