"""Fixtures for the agent-tool suite: ranked agents on a real coordinator.

``cal`` runs on every backend (embedded, server, cluster) because the tools'
behaviour must not depend on where the state lives. Framework tests use
``local_cal`` (the embedded engine only): they exercise the framework's agent
loop, and the backends are already covered underneath it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from coordinator import Coordinator, Settings
from coordinator.client import LocalClient
from tests.support.servers import Backend

# CrewAI reads these when it is first imported: no telemetry host (which would block
# 5 s on a fresh HOME), no tracing prompt, its storage in a temp folder.
os.environ.setdefault("CREWAI_DISABLE_TELEMETRY", "true")
os.environ.setdefault("CREWAI_TRACING_ENABLED", "false")
os.environ.setdefault("CREWAI_STORAGE_DIR", tempfile.mkdtemp(prefix="crewai-storage-"))

#: A Monday far ahead, so no rule about lead time or the past gets in the way.
BASE = datetime(2031, 3, 3, 10, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    """``BASE`` plus some minutes."""
    return BASE + timedelta(minutes=minutes)


def iso(minutes: float) -> str:
    """``at(minutes)`` as the ISO text a model writes (``Z`` suffix)."""
    return at(minutes).isoformat().replace("+00:00", "Z")


@dataclass
class Calendar:
    """One owner on a coordinator, plus ranked agents (clients bound to their keys).

    With ``server_url`` set, agents get the official ``agentdraft.Client`` pointed
    at this project's HTTP server instead of the in-process client: the tools must
    behave the same through either.
    """

    coord: Coordinator
    user_id: str
    clients: dict[int, Any] = field(default_factory=dict)
    server_url: str | None = None

    def agent(self, priority: int, name: str | None = None) -> LocalClient:
        a = self.coord.agents.create(self.user_id, name=name or f"p{priority}", priority=priority)
        if self.server_url is None:
            self.clients[priority] = self.coord.client(a.api_key)
        else:
            import agentdraft

            client = agentdraft.Client(api_key=a.api_key, base_url=self.server_url)
            client.agent_id = a.agent_id  # type: ignore[attr-defined]
            self.clients[priority] = client
        return self.clients[priority]

    def live(self) -> list[tuple[str, int]]:
        """``(agent_id, priority)`` of every committed booking on the calendar, by start."""
        k = self.coord.store.keys
        ids = self.coord.redis.hkeys(k.bookings(self.user_id))
        out = [self.coord.bookings.get(self.user_id, b) for b in ids]
        return [
            (b.agent_id, b.priority)
            for b in sorted(out, key=lambda b: b.start)
            if b.status == "COMMITTED"
        ]


def _coordinator_for(backend: Backend) -> Coordinator:
    if backend.url is None:
        return Coordinator.embedded(backend.data_dir)
    return Coordinator.from_url(backend.url)


@pytest.fixture(scope="session")
def agents_store(backend: Backend) -> Iterator[Any]:
    """One redis-py client per backend for this suite."""
    coord = _coordinator_for(backend)
    yield coord.redis
    coord.close()


@pytest.fixture(scope="session")
def local_store(embedded_dir: Path) -> Iterator[Any]:
    """The embedded engine only, for tests that drive an agent framework."""
    coord = Coordinator.embedded(embedded_dir)
    yield coord.redis
    coord.close()


def _maker(store: Any) -> Callable[..., Calendar]:
    def make(**settings: Any) -> Calendar:
        settings.setdefault("arbitration_window_ms", 0)
        coord = Coordinator(store, Settings(**settings))
        return Calendar(coord, coord.owners.create().user_id)

    return make


@pytest.fixture
def make_cal(agents_store: Any) -> Callable[..., Calendar]:
    """A fresh calendar (its own hash tag) on each backend."""
    return _maker(agents_store)


@pytest.fixture
def cal(make_cal: Callable[..., Calendar]) -> Calendar:
    return make_cal()


@pytest.fixture
def make_local_cal(local_store: Any) -> Callable[..., Calendar]:
    """A fresh calendar on the embedded engine."""
    return _maker(local_store)


@pytest.fixture(scope="session")
def local_http_server(embedded_dir: Path) -> Iterator[str]:
    """``coordinator serve`` on the embedded engine the framework tests use."""
    from tests.server.conftest import start_server_on

    server = start_server_on(["--data-dir", str(embedded_dir)])
    yield server.url
    server.stop()


@pytest.fixture(params=["embedded", "http"])
def local_cal(request: pytest.FixtureRequest, make_local_cal: Callable[..., Calendar]) -> Calendar:
    """A calendar whose agents use the in-process client, or the official SDK over HTTP."""
    cal = make_local_cal()
    if request.param == "http":
        pytest.importorskip("agentdraft", reason="the official SDK is in the dev extra")
        cal.server_url = request.getfixturevalue("local_http_server")
    return cal
