"""``connectors.add`` validates by a first pull: typed errors, nothing stored; secrets sealed."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from coordinator import NotFound, ValidationError
from coordinator.connectors import (
    CalendarNotFound,
    ConnectorAuthFailed,
    ConnectorTLSError,
    ConnectorUnreachable,
    FeedMalformed,
)
from tests.support.calendars import PASSWORD, FeedServer
from tests.support.servers import free_port

from .conftest import Owner, soon, vevent


def _nothing_stored(owner: Owner) -> None:
    r, k = owner.coord.redis, owner.coord.store.keys
    assert owner.coord.connectors.list(owner.user_id) == []
    assert not r.exists(k.connectors(owner.user_id), k.external_blocks(owner.user_id))


def test_a_wrong_password_is_a_typed_error_and_stores_nothing(owner: Owner) -> None:
    with pytest.raises(ConnectorAuthFailed) as exc:
        owner.connect(password="not-" + PASSWORD)
    assert exc.value.error == "connector_auth_failed" and exc.value.status == 422
    assert PASSWORD not in str(exc.value)
    _nothing_stored(owner)


def test_a_missing_calendar_is_a_typed_error(owner: Owner) -> None:
    with pytest.raises(CalendarNotFound):
        owner.connect(url=owner.server.base_url, calendar="no-such-calendar")
    with pytest.raises(CalendarNotFound):
        owner.connect(url=str(owner.calendar.url).rstrip("/") + "-gone/")
    _nothing_stored(owner)


def test_the_calendar_can_be_named_by_its_id_under_the_server_url(owner: Owner) -> None:
    cal_id = str(owner.calendar.url).rstrip("/").rsplit("/", 1)[-1]
    owner.add(vevent("by-name-1", soon(1, 10), soon(1, 11)))
    c = owner.connect(url=owner.server.base_url, calendar=cal_id)
    assert [b.event_uid for b in owner.coord.connectors.blocks(c.connector_id)] == ["by-name-1"]


def test_tls_to_a_plain_http_server_is_a_tls_error(owner: Owner) -> None:
    url = str(owner.calendar.url).replace("http://", "https://")
    with pytest.raises(ConnectorTLSError):
        owner.connect(url=url)
    _nothing_stored(owner)


def test_an_unreachable_server_is_a_typed_error(owner: Owner) -> None:
    with pytest.raises(ConnectorUnreachable):
        owner.connect(url=f"http://127.0.0.1:{free_port()}/alice/x/")
    _nothing_stored(owner)


def test_a_malformed_ics_feed_is_refused_at_add(owner: Owner, feed: FeedServer) -> None:
    feed.body = b"<html>this is a login page</html>"
    with pytest.raises(FeedMalformed):
        owner.coord.connectors.add(owner.user_id, "ics", url=feed.url)
    _nothing_stored(owner)


@pytest.mark.parametrize(
    ("field", "kw"),
    [
        ("kind", {"kind": "exchange"}),
        ("url", {"url": "ftp://example.org/cal"}),
        ("mode", {"mode": "both"}),
        ("policy", {"policy": "ignore"}),
        ("horizon_days", {"horizon_days": 0}),
        ("max_staleness_seconds", {"max_staleness_seconds": True}),
        ("stale", {"stale": "maybe"}),
        ("show_summary", {"show_summary": "yes"}),
    ],
)
def test_bad_input_names_the_field_and_stores_nothing(
    owner: Owner, field: str, kw: dict[str, Any]
) -> None:
    kind = kw.pop("kind", "caldav")
    kw.setdefault("url", str(owner.calendar.url))
    with pytest.raises(ValidationError) as exc:
        owner.coord.connectors.add(owner.user_id, kind, username="alice", password=PASSWORD, **kw)
    assert exc.value.field == field
    _nothing_stored(owner)


def test_an_unknown_owner_is_not_found(owner: Owner) -> None:
    with pytest.raises(NotFound):
        owner.coord.connectors.add("usr_nobody", url=str(owner.calendar.url))


def test_credentials_are_encrypted_at_rest_and_never_read_back(owner: Owner) -> None:
    c = owner.connect()
    raw = owner.coord.redis.hget(owner.coord.store.keys.connectors(owner.user_id), c.connector_id)
    assert PASSWORD not in raw and "secret" in json.loads(raw)
    assert "password" not in c.model_dump_json() and PASSWORD not in c.model_dump_json()
    got = owner.coord.connectors.get(c.connector_id)
    assert got == c and PASSWORD not in repr(owner.coord.connectors.list(owner.user_id))
    key_file = Path(owner.coord.settings.connector_key_file or "")
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert key_file.read_bytes().strip().decode() not in json.dumps(
        {k: owner.coord.redis.hgetall(k) for k in owner.coord.redis.keys(f"*{owner.user_id}*")
         if owner.coord.redis.type(k) == "hash"}
    )  # fmt: skip


def test_remove_frees_the_calendar_at_once(owner: Owner) -> None:
    owner.add(vevent("gone-1", soon(1, 10), soon(1, 11)))
    c = owner.connect()
    agent = owner.agent(1)
    owner.coord.connectors.remove(c.connector_id)
    assert agent.bookings.commit(start=soon(1, 10), end=soon(1, 11)).status == "COMMITTED"
    with pytest.raises(NotFound):
        owner.coord.connectors.get(c.connector_id)
    assert owner.coord.connectors.list(owner.user_id) == []
