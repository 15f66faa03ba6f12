"""The official ``agentdraft`` SDK (PyPI 0.1.3) works against this server unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

agentdraft = pytest.importorskip("agentdraft", reason="install the 'server' test deps")

BASE = datetime(2031, 6, 2, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return BASE + timedelta(minutes=minutes)


def test_a_commit_through_the_sdk_returns_a_committed_booking(sdk) -> None:
    client = sdk(1)
    b = client.bookings.commit(
        start=at(0),
        end=at(30),
        title="Discovery call",
        invitee={"name": "Ada", "email": "ada@example.com"},
    )
    assert b.status == "COMMITTED"
    assert b.booking_id.startswith("bkg_")
    assert b.audit_event_id
    assert b.title == "Discovery call"
    assert b.invitee == {"name": "Ada", "email": "ada@example.com"}


def test_a_lost_race_raises_the_sdks_conflict_with_the_winner(sdk) -> None:
    winner, loser = sdk(1), sdk(2)
    won = winner.bookings.commit(start=at(0), end=at(30))
    with pytest.raises(agentdraft.Conflict) as lost:
        loser.bookings.commit(start=at(0), end=at(30))
    c = lost.value
    assert c.status == 409
    assert c.reason == "outranked"
    assert c.winning_booking_id == won.booking_id
    assert c.winning_agent_id == winner.agent_id
    assert c.winning_agent_priority == 1
    assert c.your_priority == 2
    assert c.body["audit_event_id"]


def test_a_frozen_commit_reports_frozen(sdk) -> None:
    low, high = sdk(3), sdk(1)
    low.bookings.commit(start=at(0), end=at(30), bump_window_seconds=0)
    with pytest.raises(agentdraft.Conflict) as lost:
        high.bookings.commit(start=at(0), end=at(30))
    assert lost.value.reason == "frozen"


def test_hold_release_and_cancel_work_through_the_sdk(sdk) -> None:
    client = sdk(1)
    hold = client.bookings.hold(start=at(0), end=at(30))
    assert hold.status == "HOLD"
    assert hold.expires_at is not None
    client.bookings.release(hold.booking_id)
    commit = client.bookings.commit(start=at(0), end=at(30))
    client.bookings.cancel(commit.booking_id)
    assert client.bookings.commit(start=at(0), end=at(30)).status == "COMMITTED"


def test_an_idempotent_retry_returns_the_original_booking(sdk) -> None:
    client = sdk(1)
    first = client.bookings.commit(start=at(0), end=at(30), idempotency_key="ik_42")
    again = client.bookings.commit(start=at(0), end=at(30), idempotency_key="ik_42")
    assert again.booking_id == first.booking_id


def test_agents_me_returns_identity_priority_scopes_and_timezone(sdk) -> None:
    client = sdk(4, "recruiter")
    me = client.agents.me()
    assert me.agent_id == client.agent_id
    assert me.user_id == sdk.user_id
    assert me.priority == 4
    assert "bookings:write" in me.scopes
    assert me.timezone == "UTC"


def test_a_bad_key_is_an_auth_error(http_server) -> None:
    client = agentdraft.Client(api_key="avs_live_nope", base_url=http_server.url)
    with pytest.raises(agentdraft.AuthError) as err:
        client.agents.me()
    assert err.value.status == 401
    assert err.value.body["error"] == "unauthorized"


def test_cancelling_another_agents_booking_is_forbidden(sdk) -> None:
    a, b = sdk(1), sdk(2)
    booking = a.bookings.commit(start=at(0), end=at(30))
    with pytest.raises(agentdraft.AuthError) as err:
        b.bookings.cancel(booking.booking_id)
    assert err.value.status == 403
    assert err.value.body["error"] == "forbidden"


def test_a_naive_time_is_a_422_naming_the_field_and_books_nothing(sdk, http_coord) -> None:
    client = sdk(1)
    with pytest.raises(agentdraft.RuleViolation) as err:
        client.bookings.commit(start=datetime(2031, 6, 2, 9), end=at(30))
    assert err.value.status == 422
    assert err.value.body["field"] == "start"
    assert http_coord.redis.hlen(http_coord.store.keys.bookings(sdk.user_id)) == 0


def test_the_audit_endpoint_returns_a_bookings_history(sdk, http_server) -> None:
    low, high = sdk(3), sdk(1)
    victim = low.bookings.commit(start=at(0), end=at(30), bump_window_seconds=3600)
    high.bookings.commit(start=at(0), end=at(30))
    r = httpx.get(
        f"{http_server.url}/v1/audit",
        params={"resource": victim.booking_id},
        headers={"Authorization": f"Bearer {low._api_key}"},
    )
    assert r.status_code == 200
    types = [e["type"] for e in r.json()["events"]]
    assert types[:2] == ["booking.committed", "booking.evicted"]
    got = httpx.get(
        f"{http_server.url}/v1/bookings/{victim.booking_id}",
        headers={"Authorization": f"Bearer {low._api_key}"},
    ).json()
    assert got["status"] == "EVICTED"
    assert got["ended_by_priority"] == 1


def test_the_409_body_adds_the_winners_agent_name_beside_the_sdks_fields(sdk) -> None:
    sdk(1, name="recruiter").bookings.commit(start=at(0), end=at(30))
    with pytest.raises(agentdraft.Conflict) as lost:
        sdk(2).bookings.commit(start=at(0), end=at(30))
    assert lost.value.winning_agent_priority == 1
    assert lost.value.body["winning_agent_name"] == "recruiter"


def test_an_agent_lists_its_own_bookings_over_http(sdk, http_server) -> None:
    low, high = sdk(2), sdk(1, name="recruiter")
    mine = low.bookings.commit(start=at(60), end=at(90), bump_window_seconds=3600)
    lost = low.bookings.commit(start=at(0), end=at(30), bump_window_seconds=3600)
    high.bookings.commit(start=at(0), end=at(30))
    auth = {"Authorization": f"Bearer {low._api_key}"}
    r = httpx.get(
        f"{http_server.url}/v1/bookings",
        params={"start": at(0).isoformat(), "end": at(24 * 60).isoformat()},
        headers=auth,
    )
    assert r.status_code == 200
    rows = r.json()["bookings"]
    assert [b["booking_id"] for b in rows] == [lost.booking_id, mine.booking_id]
    assert (rows[0]["status"], rows[0]["ended_by_agent_name"]) == ("EVICTED", "recruiter")
    bad = httpx.get(f"{http_server.url}/v1/bookings", params={"status": "DONE"}, headers=auth)
    assert (bad.status_code, bad.json()["field"]) == (422, "status")


def test_a_hold_longer_than_the_owners_cap_is_a_422_naming_the_field(
    sdk, http_server, http_coord
) -> None:
    client = sdk(1)
    http_coord.rules.update(sdk.user_id, max_hold_ttl_seconds=600)
    body = {"start": at(0).isoformat(), "end": at(30).isoformat(), "mode": "hold"}
    auth = {"Authorization": f"Bearer {client._api_key}"}
    refused = httpx.post(
        f"{http_server.url}/v1/bookings", json={**body, "hold_ttl_seconds": 601}, headers=auth
    )
    assert refused.status_code == 422
    assert (refused.json()["error"], refused.json()["field"]) == (
        "hold_ttl_too_long",
        "hold_ttl_seconds",
    )
    assert http_coord.redis.hlen(http_coord.store.keys.bookings(sdk.user_id)) == 0
    held = httpx.post(
        f"{http_server.url}/v1/bookings", json={**body, "hold_ttl_seconds": 600}, headers=auth
    )
    assert held.status_code == 201
