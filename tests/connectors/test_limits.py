"""A calendar bigger than a pull reads is a typed error, and the last good pull stays: a feed
over its byte limit, an event repeating every second, many objects' instances together."""

from __future__ import annotations

import pytest

from coordinator.connectors import FeedTooLarge
from coordinator.connectors.ical import MAX_BUSY_INSTANCES
from tests.support.calendars import FeedServer

from .conftest import Owner, soon, vevent


def _nothing_stored(owner: Owner) -> None:
    r, k = owner.coord.redis, owner.coord.store.keys
    assert owner.coord.connectors.list(owner.user_id) == []
    assert not r.exists(k.connectors(owner.user_id), k.external_blocks(owner.user_id))


def test_an_event_repeating_every_second_is_refused_not_expanded(
    owner: Owner, feed: FeedServer
) -> None:
    """5 million instances in the horizon: expanded whole it took minutes and gigabytes;
    the pull stops at the limit instead."""
    feed.body = vevent("every-second", soon(1, 9), soon(1, 9, 1), RRULE="FREQ=SECONDLY").encode()
    with pytest.raises(FeedTooLarge) as err:
        owner.coord.connectors.add(owner.user_id, "ics", url=feed.url)
    assert (err.value.error, err.value.status) == ("connector_feed_too_large", 422)
    assert str(MAX_BUSY_INSTANCES) in err.value.detail
    _nothing_stored(owner)


def test_a_feed_over_its_byte_limit_is_refused_and_the_same_feed_small_is_not(
    owner: Owner, feed: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from coordinator.connectors.adapters import ics

    monkeypatch.setattr(ics, "MAX_FEED_BYTES", 64 * 1024)
    one = vevent("big-1", soon(1, 9), soon(1, 10))
    padding = "X-PAD:" + "x" * 70 + "\r\n"
    feed.body = one.replace("END:VEVENT", padding * 1000 + "END:VEVENT").encode()
    assert len(feed.body) > 64 * 1024
    with pytest.raises(FeedTooLarge, match="over 65536 bytes"):
        owner.coord.connectors.add(owner.user_id, "ics", url=feed.url)
    _nothing_stored(owner)
    feed.body = one.encode()  # the same feed, small: accepted
    c = owner.coord.connectors.add(owner.user_id, "ics", url=feed.url)
    assert [b.event_uid for b in owner.coord.connectors.blocks(c.connector_id)] == ["big-1"]


def test_the_limit_counts_a_pulls_objects_together_and_the_last_good_pull_stays(
    owner: Owner,
) -> None:
    """Two CalDAV objects of 6,000 instances each are under the limit one by one and over
    it together: the pull fails whole, its error is in status and the blocks of the last
    good pull stay."""
    owner.add(vevent("kept-1", soon(1, 9), soon(1, 10)))
    c = owner.connect()
    conns = owner.coord.connectors
    before = conns.blocks(c.connector_id)
    for uid in ("minutely-a", "minutely-b"):
        owner.add(vevent(uid, soon(2, 0), soon(2, 0, 1), RRULE="FREQ=MINUTELY;COUNT=6000"))
    with pytest.raises(FeedTooLarge):
        conns.sync(c.connector_id)
    assert conns.status(c.connector_id).last_error_code == "connector_feed_too_large"
    assert conns.blocks(c.connector_id) == before
