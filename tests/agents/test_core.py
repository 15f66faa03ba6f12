"""The framework-free service: typed results after a win, a lost race, or bad input.

Runs on every backend: the tools must behave the same wherever the state lives.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from agentdraft_agents import Booked, BookingService, Failed, Lost, parse_time
from agentdraft_agents.core import TimeInputError
from agentdraft_agents.results import Cancelled, Released
from coordinator import Coordinator, StoreUnavailable
from tests.support.servers import RedisServer

from .conftest import Calendar, at, iso

# -- time input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "2031-03-03T10:00:00Z",
        "2031-03-03T10:00:00z",
        "2031-03-03T11:00:00+01:00",
        "2031-03-03 05:00-05:00",
        " 2031-03-03T10:00:00.000+00:00 ",
    ],
)
def test_iso_times_with_z_or_an_offset_are_read_as_one_utc_instant(text: str) -> None:
    assert parse_time(text, "start") == datetime(2031, 3, 3, 10, tzinfo=UTC)


def test_aware_datetimes_pass_through_converted_to_utc() -> None:
    value = datetime(2031, 3, 3, 12, tzinfo=timezone(timedelta(hours=2)))
    assert parse_time(value, "end") == datetime(2031, 3, 3, 10, tzinfo=UTC)


@pytest.mark.parametrize("text", ["2031-03-03T10:00:00", "2031-03-03", "2031-03-03 10:00"])
def test_a_time_without_an_offset_is_refused_and_the_fix_is_spelled_out(text: str) -> None:
    with pytest.raises(TimeInputError) as err:
        parse_time(text, "start", owner_timezone="Europe/Berlin")
    assert err.value.code == "naive_time"
    assert err.value.field == "start"
    # Both readings a model might have meant, ready to resend.
    assert "Z" in err.value.message and "+01:00" in err.value.message
    assert "Europe/Berlin" in err.value.message


def test_text_that_is_not_a_date_is_refused_as_invalid() -> None:
    with pytest.raises(TimeInputError) as err:
        parse_time("next tuesday at four", "end")
    assert (err.value.code, err.value.field) == ("invalid_time", "end")


# -- writes -------------------------------------------------------------------------------


def test_a_commit_on_a_free_slot_comes_back_booked(cal: Calendar) -> None:
    svc = BookingService(cal.agent(1))
    out = svc.commit(iso(0), iso(30), title="Intro call")
    assert isinstance(out, Booked)
    assert (out.status, out.mode, out.start, out.end) == ("COMMITTED", "commit", at(0), at(30))
    assert out.title == "Intro call" and out.audit_event_id
    assert "Committed booking" in out.text()


def test_a_commit_that_loses_to_a_better_ranked_sibling_names_the_winner(cal: Calendar) -> None:
    # Given the owner's top agent already committed the slot
    winner = BookingService(cal.agent(1)).commit(iso(0), iso(30))
    assert isinstance(winner, Booked)
    me = cal.agent(2)
    # When the second-ranked agent commits an overlapping slot
    out = BookingService(me).commit(iso(15), iso(45))
    # Then it is told who won, at what priority, and nothing of it is live
    assert isinstance(out, Lost)
    assert out.reason == "outranked"
    assert out.winning_booking_id == winner.booking_id
    assert out.winning_agent_id == cal.clients[1].agent_id
    assert (out.winning_agent_priority, out.your_priority) == (1, 2)
    assert out.audit_event_id
    assert out.requested.start == at(15)
    assert cal.live() == [(cal.clients[1].agent_id, 1)]
    text = out.text()
    assert "OUTRANKED" in text and "priority 1" in text and "Do not retry" in text


def test_a_final_commit_is_reported_frozen_even_to_a_better_ranked_agent(cal: Calendar) -> None:
    cal.agent(2).bookings.commit(start=at(0), end=at(30), bump_window_seconds=0)
    out = BookingService(cal.agent(1)).commit(iso(0), iso(30))
    assert isinstance(out, Lost)
    assert (out.reason, out.winning_agent_priority, out.your_priority) == ("frozen", 2, 1)
    assert "final" in out.text()


def test_a_lost_hold_is_a_lost_result_too(cal: Calendar) -> None:
    BookingService(cal.agent(1)).commit(iso(0), iso(30))
    out = BookingService(cal.agent(2)).hold(iso(0), iso(30))
    assert isinstance(out, Lost) and out.mode == "hold"


def test_a_naive_time_is_refused_naming_the_owners_zone_and_nothing_is_written(
    cal: Calendar,
) -> None:
    owner = cal.coord.owners.create(timezone="Europe/Berlin")
    agent = cal.coord.agents.create(owner.user_id, name="bot", priority=1)
    out = BookingService(cal.coord.client(agent.api_key)).commit(
        "2031-03-03T10:00:00", "2031-03-03T10:30:00Z"
    )
    assert isinstance(out, Failed)
    assert (out.error, out.field, out.status) == ("naive_time", "start", 422)
    assert "2031-03-03T10:00:00+01:00" in out.message and "Europe/Berlin" in out.message
    assert cal.coord.audit.range(owner.user_id)[-1].type == "agent.created"


def test_an_end_before_its_start_is_refused_before_any_call(cal: Calendar) -> None:
    out = BookingService(cal.agent(1)).commit(iso(30), iso(0))
    assert isinstance(out, Failed)
    assert (out.error, out.field) == ("invalid_interval", "end")
    assert cal.live() == []


def test_an_error_the_coordinator_finds_comes_back_with_its_field(cal: Calendar) -> None:
    out = BookingService(cal.agent(1)).commit(iso(0), iso(30), buffer_before_min=-5)
    assert isinstance(out, Failed)
    assert (out.field, out.status) == ("buffer_before_min", 422)


def test_a_hold_then_a_commit_of_the_same_range_makes_it_final(cal: Calendar) -> None:
    svc = BookingService(cal.agent(2))
    held = svc.hold(iso(0), iso(30))
    assert isinstance(held, Booked) and held.status == "HOLD" and held.expires_at
    assert "HELD" in held.text()
    final = svc.commit(iso(0), iso(30))
    assert isinstance(final, Booked) and final.status == "COMMITTED"


def test_a_released_hold_frees_the_slot_and_a_second_release_is_an_error(cal: Calendar) -> None:
    svc = BookingService(cal.agent(2))
    held = svc.hold(iso(0), iso(30))
    assert isinstance(held, Booked)
    assert svc.release(held.booking_id) == Released(hold_id=held.booking_id)
    again = svc.release(held.booking_id)
    assert isinstance(again, Failed) and (again.error, again.status) == ("invalid_state", 409)
    assert isinstance(BookingService(cal.agent(3)).commit(iso(0), iso(30)), Booked)


def test_an_agent_cannot_cancel_a_siblings_booking(cal: Calendar) -> None:
    theirs = BookingService(cal.agent(1)).commit(iso(0), iso(30))
    assert isinstance(theirs, Booked)
    out = BookingService(cal.agent(2)).cancel(theirs.booking_id)
    assert isinstance(out, Failed) and (out.error, out.status) == ("forbidden", 403)
    assert cal.live() == [(cal.clients[1].agent_id, 1)]


def test_cancelling_its_own_booking_frees_the_slot(cal: Calendar) -> None:
    svc = BookingService(cal.agent(1))
    mine = svc.commit(iso(0), iso(30))
    assert isinstance(mine, Booked)
    assert svc.cancel(mine.booking_id) == Cancelled(booking_id=mine.booking_id)
    assert isinstance(BookingService(cal.agent(2)).commit(iso(0), iso(30)), Booked)


def test_identity_is_the_bound_agent_with_its_live_priority(cal: Calendar) -> None:
    client = cal.agent(3)
    me = BookingService(client).identity()
    assert (me.agent_id, me.user_id, me.priority, me.timezone) == (
        client.agent_id,
        cal.user_id,
        3,
        "UTC",
    )
    assert "priority 3" in me.text()


def test_the_async_twins_give_the_same_results(cal: Calendar) -> None:
    svc1, svc2 = BookingService(cal.agent(1)), BookingService(cal.agent(2))

    async def run() -> tuple[object, object, object]:
        won = await svc1.acommit(iso(0), iso(30))
        lost = await svc2.acommit(iso(0), iso(30))
        me = await svc2.aidentity()
        return won, lost, me

    won, lost, me = asyncio.run(run())
    assert isinstance(won, Booked) and isinstance(lost, Lost)
    assert lost.winning_agent_priority == 1 and me.priority == 2


def lone_agent(server: RedisServer) -> tuple[Coordinator, str, Any]:
    """A coordinator on ``server``, an owner, and one agent's client."""
    coord = Coordinator.from_url(server.url, arbitration_window_ms=0)
    owner = coord.owners.create()
    return coord, owner.user_id, coord.client(coord.agents.create(owner.user_id, name="a").api_key)


def test_a_store_that_is_down_raises_rather_than_telling_the_model_to_rephrase(
    fresh_redis_server: RedisServer,
) -> None:
    # Given a working agent on a server that then dies
    _, _, client = lone_agent(fresh_redis_server)
    svc = BookingService(client)
    fresh_redis_server.kill()
    # Then a write is an infrastructure error for the code running the agent
    with pytest.raises(StoreUnavailable):
        svc.commit(iso(0), iso(30))


# -- idempotency: every write carries a key, so a 503 can be resent safely ------------------


class RecordingClient:
    """The real client, passing every booking call through and keeping its arguments."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.bookings = self
        self.calls: list[dict[str, Any]] = []

    def commit(self, **kw: Any) -> Any:
        self.calls.append(kw)
        return self._client.bookings.commit(**kw)

    def hold(self, **kw: Any) -> Any:
        self.calls.append(kw)
        return self._client.bookings.hold(**kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def _idempotency_records(cal: Calendar) -> list[str]:
    prefix = cal.coord.store.keys.prefix(cal.user_id)
    return sorted(cal.coord.redis.scan_iter(match=prefix + "idem:*"))


@pytest.mark.parametrize("mode", ["commit", "hold"])
def test_a_write_whose_model_gave_no_key_still_sends_one_per_tool_call(
    local_cal: Calendar, mode: str
) -> None:
    # Given the tools on the in-process client or the official SDK over HTTP
    svc = BookingService(local_cal.agent(1))
    # When the model books twice without an idempotency key
    first = getattr(svc, mode)(iso(0), iso(30))
    second = getattr(svc, mode)(iso(60), iso(90))
    # Then each write was stored under its own key, made for that tool call
    assert isinstance(first, Booked) and isinstance(second, Booked)
    records = _idempotency_records(local_cal)
    assert len(records) == 2
    assert all(f":agentdraft-tool-{mode}-" in r for r in records)


def test_a_key_the_model_gave_is_sent_as_is(cal: Calendar) -> None:
    client = RecordingClient(cal.agent(1))
    out = BookingService(client).commit(iso(0), iso(30), idempotency_key="model-key-1")
    assert isinstance(out, Booked)
    assert [c["idempotency_key"] for c in client.calls] == ["model-key-1"]
    again = BookingService(client).commit(iso(0), iso(30), idempotency_key="model-key-1")
    assert isinstance(again, Booked) and again.booking_id == out.booking_id


def test_a_503_is_resent_with_the_same_key_and_the_key_reaches_the_caller(
    fresh_redis_server: RedisServer,
) -> None:
    # Given an agent whose store dies before its write
    coord, user_id, agent = lone_agent(fresh_redis_server)
    client = RecordingClient(agent)
    svc = BookingService(client, store_retry_delays=(0.01, 0.01))
    fresh_redis_server.kill()
    # When the tool commits: every attempt carries the one key made for this call
    with pytest.raises(StoreUnavailable) as err:
        svc.commit(iso(0), iso(30))
    keys = [c["idempotency_key"] for c in client.calls]
    assert len(keys) == 3 and len(set(keys)) == 1
    assert keys[0].startswith("agentdraft-tool-commit-")
    # Then the error hands that key on, and says the outcome is unknown
    assert err.value.idempotency_key == keys[0]  # type: ignore[attr-defined]
    assert "outcome is unknown" in err.value.detail
    # And once the store is back, resending with the key books exactly once
    fresh_redis_server.restart()
    out = svc.commit(iso(0), iso(30), idempotency_key=keys[0])
    again = svc.commit(iso(0), iso(30), idempotency_key=keys[0])
    assert isinstance(out, Booked) and isinstance(again, Booked)
    assert out.booking_id == again.booking_id
    assert coord.redis.hlen(coord.store.keys.bookings(user_id)) == 1
    coord.close()
