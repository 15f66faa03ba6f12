"""Fixtures for the connector suite: a real Radicale (htpasswd) for the session, a fresh
calendar collection and a fresh owner per test, and events written by a person's client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from coordinator import Coordinator, Settings
from coordinator.client import LocalClient
from coordinator.connectors.urls import ALLOW_HOSTS_ENV
from tests.support.calendars import PASSWORD, USER, FeedServer, Radicale, Xandikos
from tests.support.servers import Backend

#: Far enough ahead that no rule gets in the way, inside the 60-day horizon of "now"?
#: No: pulls expand around the server clock, so tests place events relative to today.
DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def allow_loopback_calendars(monkeypatch: pytest.MonkeyPatch) -> None:
    """The calendar servers here listen on 127.0.0.1, which connectors refuse unless
    allowed (connectors/urls.py); the SSRF tests remove the setting again."""
    monkeypatch.setenv(ALLOW_HOSTS_ENV, "127.0.0.1")


def soon(days: int, hour: int, minute: int = 0) -> datetime:
    """A UTC instant ``days`` from today at ``hour:minute`` (inside the pull horizon)."""
    today = datetime.now(UTC).date()
    d = today + timedelta(days=days)
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=UTC)


def soon_date(days: int) -> date:
    return datetime.now(UTC).date() + timedelta(days=days)


@pytest.fixture(scope="session")
def radicale() -> Iterator[Radicale]:
    server = Radicale()
    yield server
    server.close()


@pytest.fixture
def own_radicale() -> Iterator[Radicale]:
    """A Radicale this test may stop and restart (same port, same data)."""
    server = Radicale()
    yield server
    server.close()


@pytest.fixture(scope="session")
def xandikos() -> Iterator[Xandikos]:
    server = Xandikos()
    yield server
    server.close()


@pytest.fixture
def feed() -> Iterator[FeedServer]:
    server = FeedServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("connector-key") / "connector.key"


@pytest.fixture(scope="session")
def conn_store(redis_server: Any) -> Any:
    """The connector suite's Redis: one private server (the engine suite covers backends)."""
    return redis_server.client()


@dataclass
class Owner:
    """An owner on a coordinator whose real calendar is a fresh CalDAV collection."""

    coord: Coordinator
    user_id: str
    calendar: Any
    server: Any

    def agent(self, priority: int) -> LocalClient:
        a = self.coord.agents.create(self.user_id, name=f"p{priority}", priority=priority)
        return self.coord.client(a.api_key)

    def connect(self, **kw: Any) -> Any:
        kw.setdefault("url", str(self.calendar.url))
        kw.setdefault("username", USER)
        kw.setdefault("password", PASSWORD)
        return self.coord.connectors.add(self.user_id, "caldav", **kw)

    def add(self, ics: str) -> Any:
        """A person adds an event in their calendar app."""
        return self.calendar.add_event(ics)


def make_owner(store: Any, server: Any, key_file: Path, **settings: Any) -> Owner:
    settings.setdefault("arbitration_window_ms", 0)
    coord = Coordinator(store, Settings(connector_key_file=str(key_file), **settings))
    return Owner(coord, coord.owners.create().user_id, server.new_calendar(), server)


@pytest.fixture
def owner(conn_store: Any, radicale: Radicale, key_file: Path) -> Owner:
    return make_owner(conn_store, radicale, key_file)


@pytest.fixture(params=["radicale", "xandikos"])
def owner_any(request: pytest.FixtureRequest, conn_store: Any, key_file: Path) -> Owner:
    """An owner whose calendar is on Radicale, then on Xandikos (servers differ)."""
    return make_owner(conn_store, request.getfixturevalue(request.param), key_file)


@pytest.fixture
def owner_on(radicale: Radicale, key_file: Path) -> Callable[..., Owner]:
    """An owner on a given store (for tests parametrized over backends)."""

    def make(store: Any, **settings: Any) -> Owner:
        return make_owner(store, radicale, key_file, **settings)

    return make


@pytest.fixture(scope="session")
def backend_store(backend: Backend) -> Iterator[Any]:
    coord = (
        Coordinator.embedded(backend.data_dir)
        if backend.url is None
        else Coordinator.from_url(backend.url)
    )
    yield coord.redis
    coord.close()


def vevent(uid: str, start: datetime | date, end: datetime | date, **props: str) -> str:
    """A VCALENDAR with one VEVENT, as a calendar app writes it. ``props`` are extra lines
    (``RRULE="FREQ=WEEKLY;COUNT=4"``); datetimes with a ``zoneinfo`` zone get a TZID."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Person//App//EN", "BEGIN:VEVENT"]
    lines += [f"UID:{uid}", "DTSTAMP:20260101T000000Z"]
    lines += [_dt("DTSTART", start), _dt("DTEND", end)]
    for k, v in props.items():
        name = k.replace("_", "-")
        lines.append(v if v.startswith((f"{name}:", f"{name};")) else f"{name}:{v}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(lines) + "\r\n"


def _dt(name: str, value: datetime | date) -> str:
    if not isinstance(value, datetime):
        return f"{name};VALUE=DATE:{value:%Y%m%d}"
    if value.tzinfo is UTC:
        return f"{name}:{value:%Y%m%dT%H%M%SZ}"
    return f"{name};TZID={value.tzinfo}:{value:%Y%m%dT%H%M%S}"
