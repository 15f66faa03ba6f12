"""Webhook URLs cannot reach inside the deployment: refused at registration and delivery."""

from __future__ import annotations

import threading

import pytest

from coordinator import Coordinator, ValidationError
from coordinator.webhooks.dispatcher import Dispatcher, DispatchSettings
from coordinator.webhooks.urls import ALLOW_HOSTS_ENV, ALLOW_PORTS_ENV, check_webhook_url
from tests.support.ssrf import INTERNAL_URLS, PORT_URLS

from .test_webhooks import Receiver

REFUSED = INTERNAL_URLS + PORT_URLS


@pytest.fixture
def no_allow_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW_HOSTS_ENV, raising=False)
    monkeypatch.delenv(ALLOW_PORTS_ENV, raising=False)


@pytest.mark.parametrize("url", REFUSED)
def test_an_internal_or_unsafe_webhook_url_is_refused_at_registration(
    coord: Coordinator, no_allow_list: None, url: str
) -> None:
    owner = coord.owners.create()
    with pytest.raises(ValidationError) as err:
        coord.webhooks.register(owner.user_id, url)
    assert err.value.field == "url"
    assert coord.webhooks.list(owner.user_id) == []


def test_a_public_url_on_its_default_port_is_accepted(no_allow_list: None) -> None:
    assert check_webhook_url("https://hooks.example.com/x") == "https://hooks.example.com/x"
    assert check_webhook_url("http://93.184.215.14/x") == "http://93.184.215.14/x"


def test_other_ports_are_accepted_only_when_configured(
    no_allow_list: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValidationError):
        check_webhook_url("https://93.184.215.14:8443/x")
    monkeypatch.setenv(ALLOW_PORTS_ENV, "8443")
    assert check_webhook_url("https://93.184.215.14:8443/x")


def test_the_allow_list_admits_a_local_receiver(
    no_allow_list: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ALLOW_HOSTS_ENV, "127.0.0.0/8, localhost")
    assert check_webhook_url("http://127.0.0.1:9999/hook")
    assert check_webhook_url("http://localhost:6379/")
    with pytest.raises(ValidationError):
        check_webhook_url("http://169.254.169.254/")


def test_delivery_checks_the_address_again_when_it_connects(
    coord: Coordinator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Registered while allowed, refused at delivery once the policy no longer allows it:
    the same check that stops a name re-pointed at an internal address (DNS rebinding)."""
    receiver = Receiver()
    try:
        owner = coord.owners.create()
        coord.webhooks.register(owner.user_id, receiver.url, events=["booking.committed"])
        bot = coord.client(coord.agents.create(owner.user_id, name="a", priority=1).api_key)
        d = Dispatcher(coord, DispatchSettings(visibility_ms=50, backoff_base_ms=10))
        try:
            monkeypatch.delenv(ALLOW_HOSTS_ENV)
            bot.bookings.commit(start="2031-07-07T10:00:00Z", end="2031-07-07T10:30:00Z")
            assert d.run_once() == 0
            assert receiver.deliveries == []
            # The same event goes out once the receiver is allowed again (it stayed pending).
            monkeypatch.setenv(ALLOW_HOSTS_ENV, "127.0.0.1")
            for _ in range(200):
                if d.run_once():
                    break
                threading.Event().wait(0.02)  # the pending event becomes reclaimable
            assert [e["type"] for e in receiver.events()] == ["booking.committed"]
        finally:
            d.close()
    finally:
        receiver.close()
