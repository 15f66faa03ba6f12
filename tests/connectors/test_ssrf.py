"""Connector URLs cannot reach inside the deployment: refused when the connector is added,
and again on every connection a pull opens (redirects, re-pointed names)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from coordinator import ValidationError
from coordinator.connectors import ConnectorUnsafeURL
from coordinator.connectors.clients import guarded_session
from coordinator.connectors.urls import ALLOW_HOSTS_ENV, check_connector_url
from coordinator.outbound import UnsafeURL
from tests.support.calendars import PASSWORD, USER, FeedServer
from tests.support.ssrf import INTERNAL_URLS

from .conftest import Owner, soon, vevent


@pytest.fixture
def no_allow_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW_HOSTS_ENV, raising=False)


def _nothing_stored(owner: Owner) -> None:
    r, k = owner.coord.redis, owner.coord.store.keys
    assert owner.coord.connectors.list(owner.user_id) == []
    assert not r.exists(k.connectors(owner.user_id), k.external_blocks(owner.user_id))


@pytest.mark.parametrize("kind", ["caldav", "ics"])
@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_an_internal_or_unsafe_connector_url_is_refused_and_stores_nothing(
    owner: Owner, no_allow_list: None, url: str, kind: str
) -> None:
    with pytest.raises(ValidationError) as err:
        owner.coord.connectors.add(owner.user_id, kind, url=url, username=USER, password=PASSWORD)
    assert err.value.field == "url"
    _nothing_stored(owner)


def test_the_refusal_names_the_setting_and_a_public_host_on_any_port_passes(
    no_allow_list: None,
) -> None:
    with pytest.raises(UnsafeURL) as err:
        check_connector_url("http://127.0.0.1:5232/alice/cal/")
    assert err.value.error == "unsafe_connector_url"
    assert ALLOW_HOSTS_ENV in err.value.detail
    assert (
        check_connector_url("https://93.184.215.14:5232/dav/") == "https://93.184.215.14:5232/dav/"
    )


def test_the_allow_list_admits_a_calendar_server_on_this_machine(owner: Owner) -> None:
    """The suite's own setting (conftest): 127.0.0.1 only."""
    c = owner.connect()
    assert owner.coord.connectors.get(c.connector_id).url == str(owner.calendar.url)


@pytest.fixture
def inner_feed() -> Iterator[FeedServer]:
    """A feed on 127.0.0.2: on this machine, but not on the allow-list (127.0.0.1)."""
    server = FeedServer(host="127.0.0.2")
    yield server
    server.close()


def test_a_feed_redirecting_inside_is_refused_before_the_inner_server_is_asked(
    owner: Owner, feed: FeedServer, inner_feed: FeedServer
) -> None:
    inner_feed.body = vevent("secret-1", soon(1, 9), soon(1, 10)).encode()
    feed.location = inner_feed.url  # the allowed host sends the client inside
    with pytest.raises(ConnectorUnsafeURL) as err:
        owner.coord.connectors.add(owner.user_id, "ics", url=feed.url)
    assert (err.value.error, err.value.status) == ("unsafe_connector_url", 422)
    assert "127.0.0.2" in err.value.detail
    assert feed.requests == 1 and inner_feed.requests == 0
    _nothing_stored(owner)


def test_a_host_that_turned_internal_after_add_is_refused_at_the_next_pull(
    owner: Owner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each connection is checked when its name is resolved, not only at add: a name
    re-pointed at a private address since (DNS rebinding) gets no request. Here the
    allow-list changes under the connector instead of the name's address."""
    owner.add(vevent("before-1", soon(1, 9), soon(1, 10)))
    c = owner.connect()
    conns = owner.coord.connectors
    [block] = conns.blocks(c.connector_id)
    owner.add(vevent("after-2", soon(1, 13), soon(1, 14)))
    monkeypatch.delenv(ALLOW_HOSTS_ENV)
    conns._drop_adapter(c.connector_id)  # a fresh client, as after a restart
    with pytest.raises(ConnectorUnsafeURL) as err:
        conns.sync(c.connector_id)
    assert err.value.error == "unsafe_connector_url"
    assert conns.status(c.connector_id).last_error_code == "unsafe_connector_url"
    assert conns.blocks(c.connector_id) == [block]  # nothing read, nothing applied


def test_the_caldav_session_checks_every_lookup_and_speaks_http_only(
    no_allow_list: None,
) -> None:
    session = guarded_session()
    try:
        assert sorted(session.adapters) == ["http://", "https://"]
        with pytest.raises(UnsafeURL):
            session.get("http://localhost:9/", timeout=2)
        with pytest.raises(UnsafeURL):
            session.get("http://127.0.0.1:9/", timeout=2)
    finally:
        session.close()
