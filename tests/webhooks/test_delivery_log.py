"""The per-endpoint delivery log, written by the real dispatcher to a real receiver and
read through ``coord.views.deliveries``; and the event catalog against real deliveries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from coordinator import Coordinator
from coordinator.errors import NotFound, ValidationError
from coordinator.models import Owner
from coordinator.webhooks import Endpoint
from coordinator.webhooks.catalog import event_catalog
from coordinator.webhooks.dispatcher import Dispatcher, DispatchSettings
from tests.webhooks.test_webhooks import FAST, Receiver, at, drain


@pytest.fixture
def hook() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _one_commit(coord: Coordinator, hook: Receiver) -> tuple[Owner, Endpoint]:
    """An owner with an endpoint for ``booking.committed`` and one commit to announce."""
    owner = coord.owners.create()
    ep = coord.webhooks.register(owner.user_id, hook.url, events=["booking.committed"])
    bot = coord.client(coord.agents.create(owner.user_id, name="a", priority=1).api_key)
    bot.bookings.commit(start=at(0), end=at(30), title="Demo")
    return owner, ep


def test_each_attempt_is_logged_with_its_status_and_next_retry(
    coord: Coordinator, hook: Receiver
) -> None:
    owner, ep = _one_commit(coord, hook)
    hook.statuses = [500, 503]
    d = Dispatcher(coord, FAST)
    drain(d, lambda: len(coord.views.deliveries(owner.user_id, ep.endpoint_id)) == 3)
    d.close()
    log = coord.views.deliveries(owner.user_id, ep.endpoint_id)  # newest first
    assert [(x.attempt, x.status_code, x.ok) for x in log] == [
        (3, 200, True),
        (2, 503, False),
        (1, 500, False),
    ]
    assert len({x.event_id for x in log}) == 1 and log[0].type == "booking.committed"
    assert log[0].next_retry_at is None
    assert all(x.next_retry_at is not None and x.next_retry_at > x.at for x in log[1:])
    assert not any(x.dead_lettered for x in log)
    assert [x.attempt for x in coord.views.deliveries(owner.user_id, ep.endpoint_id, limit=1)] == [
        3
    ]
    with pytest.raises(ValidationError) as err:
        coord.views.deliveries(owner.user_id, ep.endpoint_id, limit=0)
    assert err.value.field == "limit"
    stranger = coord.owners.create()
    with pytest.raises(NotFound):
        coord.views.deliveries(stranger.user_id, ep.endpoint_id)


def test_the_last_failed_attempt_is_logged_as_dead_lettered(
    coord: Coordinator, hook: Receiver
) -> None:
    owner, ep = _one_commit(coord, hook)
    hook.statuses = [500, 500]
    d = Dispatcher(coord, DispatchSettings(visibility_ms=200, backoff_base_ms=50, max_attempts=2))
    drain(d, lambda: len(coord.views.deliveries(owner.user_id, ep.endpoint_id)) == 2)
    d.close()
    last, first = coord.views.deliveries(owner.user_id, ep.endpoint_id)
    assert (first.attempt, first.dead_lettered, first.next_retry_at is not None) == (1, False, True)
    assert (last.attempt, last.status_code, last.dead_lettered) == (2, 500, True)
    assert last.next_retry_at is None
    dead = coord.redis.xrange(coord.store.keys.prefix(owner.user_id) + "outbox:dead")
    assert [f["id"] for _, f in dead] == [last.event_id]


def test_the_catalog_example_has_the_keys_a_real_delivery_has(
    coord: Coordinator, hook: Receiver
) -> None:
    _one_commit(coord, hook)
    d = Dispatcher(coord, FAST)
    drain(d, lambda: len(hook.deliveries) == 1)
    d.close()
    delivered = hook.events()[0]["data"]
    example = next(e.example for e in event_catalog() if e.type == "booking.committed")
    assert set(example) <= set(delivered)


def test_a_dead_lettered_event_is_redelivered_to_that_endpoint_only(
    coord: Coordinator, hook: Receiver
) -> None:
    owner, ep = _one_commit(coord, hook)
    other = Receiver()
    try:
        healthy = coord.webhooks.register(owner.user_id, other.url, events=["booking.committed"])
        hook.statuses = [500]
        d = Dispatcher(
            coord, DispatchSettings(visibility_ms=200, backoff_base_ms=50, max_attempts=1)
        )
        drain(d, lambda: len(coord.views.deliveries(owner.user_id, ep.endpoint_id)) == 1)
        (dead,) = coord.views.deliveries(owner.user_id, ep.endpoint_id)
        assert dead.dead_lettered and len(other.deliveries) == 1
        coord.views.redeliver(owner.user_id, ep.endpoint_id, dead.event_id)
        drain(d, lambda: len(coord.views.deliveries(owner.user_id, ep.endpoint_id)) == 2)
        d.close()
        again = coord.views.deliveries(owner.user_id, ep.endpoint_id)[0]
        assert (again.event_id, again.ok, again.status_code) == (dead.event_id, True, 200)
        assert [e["data"]["id"] for e in hook.events()] == [dead.event_id] * 2
        assert len(other.deliveries) == 1  # the healthy endpoint is not sent it twice
        assert len(coord.views.deliveries(owner.user_id, healthy.endpoint_id)) == 1
    finally:
        other.close()
    with pytest.raises(NotFound):
        coord.views.redeliver(owner.user_id, ep.endpoint_id, "evt_unknown")
    with pytest.raises(ValidationError) as err:
        coord.views.redeliver(owner.user_id, ep.endpoint_id, "nope")
    assert err.value.field == "event_id"
