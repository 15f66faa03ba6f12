"""Webhook tests deliver to receivers on loopback: they opt in through the allow-list."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from coordinator import Coordinator
from coordinator.webhooks.urls import ALLOW_HOSTS_ENV
from tests.support.servers import RedisServer


@pytest.fixture(autouse=True)
def allow_loopback_receivers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Receivers here listen on 127.0.0.1; the SSRF tests remove the setting again."""
    monkeypatch.setenv(ALLOW_HOSTS_ENV, "127.0.0.1")


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    """This module's own Redis: a dispatcher delivers every calendar's outbox, so events
    other suites leave behind (for endpoints long gone, on ports since reused) must not
    be in its way."""
    with RedisServer() as server:
        yield server


@pytest.fixture
def coord(redis_server: RedisServer) -> Iterator[Coordinator]:
    c = Coordinator.from_url(redis_server.url, arbitration_window_ms=0)
    yield c
    c.close()
