"""Fixtures for the engine suite: a coordinator per backend, and calendars to race on.

Every test gets a fresh owner (its own hash tag), so tests share one Redis per
backend without seeing each other's state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from coordinator import Coordinator
from coordinator.bookings import Bookings
from coordinator.client import LocalClient
from tests.support.servers import Backend

#: A Monday far enough ahead that no later rule (lead time) gets in the way.
BASE = datetime(2031, 3, 3, 10, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    """``BASE`` plus some minutes: slots are written as offsets so overlaps are obvious."""
    return BASE + timedelta(minutes=minutes)


@pytest.fixture(scope="session")
def store(backend: Backend) -> Iterator[Any]:
    """One redis-py client per backend, shared by every coordinator of the session."""
    if backend.url is None:
        coord = Coordinator.embedded(backend.data_dir)
    else:
        coord = Coordinator.from_url(backend.url)
    yield coord.redis
    coord.close()


@dataclass
class Calendar:
    """One owner on a coordinator, plus a way to add ranked agents to it."""

    coord: Coordinator
    user_id: str
    clients: dict[int, LocalClient] = field(default_factory=dict)

    def agent(self, priority: int, name: str | None = None) -> LocalClient:
        a = self.coord.agents.create(self.user_id, name=name or f"p{priority}", priority=priority)
        client = self.coord.client(a.api_key)
        self.clients[priority] = client
        return client

    def audit_types(self) -> list[str]:
        return [e.type for e in self.coord.audit.range(self.user_id)]


def commit_request(
    cal: Calendar,
    start: datetime,
    minutes: int,
    client: LocalClient | None = None,
    **extras: Any,
) -> tuple[Bookings, Any]:
    """The engine of ``client`` (by default a new priority-1 agent of ``cal``) and its
    checked request to commit ``minutes`` from ``start``: packed by the tests of the
    claim's packers, not sent."""
    client = client or cal.agent(1)
    engine, ctx = client.bookings._bookings, client.bookings._ctx
    q = engine._prepare(
        guarded=True,
        user_id=ctx.user_id,
        agent_id=ctx.agent_id,
        key_hash=ctx.key_hash,
        mode="commit",
        start=start,
        end=start + timedelta(minutes=minutes),
        **extras,
    )
    return engine, q


@pytest.fixture
def make_calendar(store: Any) -> Callable[..., Calendar]:
    """Build a calendar on a coordinator with the given settings (short windows by default)."""

    def make(**settings: Any) -> Calendar:
        settings.setdefault("arbitration_window_ms", 0)
        coord = Coordinator(store, _settings(settings))
        return Calendar(coord, coord.owners.create().user_id)

    return make


def _settings(kw: dict[str, Any]) -> Any:
    from coordinator import Settings

    return Settings(**kw)


@pytest.fixture
def cal(make_calendar: Callable[..., Calendar]) -> Calendar:
    """A calendar with no arbitration window: pure bucket rules, first writer first."""
    return make_calendar()


@pytest.fixture
def story(cal: Calendar) -> Any:
    """A calendar after one of each transition (tests/engine/audit_story.py)."""
    from .audit_story import tell_story

    return tell_story(cal)


@pytest.fixture
def neighbour(make_calendar: Callable[..., Calendar]) -> Any:
    """A second story on the same Redis, never tampered with."""
    from .audit_story import tell_story

    return tell_story(make_calendar())
