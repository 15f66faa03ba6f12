"""Rules, availability, rate limits, approvals and the owner side, through the official SDK."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

agentdraft = pytest.importorskip("agentdraft")

MONDAY = datetime(2031, 6, 2, tzinfo=UTC)  # a Monday


def signed_in(server_url: str, email: str) -> httpx.Client:
    web = httpx.Client(base_url=server_url)
    token = web.post("/v1/auth/magic-link", json={"email": email}).json()["dev_token"]
    assert web.post("/v1/auth/verify", json={"token": token}).status_code == 200
    return web


def new_agent(web: httpx.Client, server_url: str, name: str, priority: int):
    made = web.post("/v1/dashboard/agents", json={"name": name, "priority": priority}).json()
    client = agentdraft.Client(api_key=made["plaintext_key"], base_url=server_url)
    client.agent_id = made["agent_id"]
    return client


def test_rules_set_by_the_owner_are_enforced_and_filter_availability(http_server) -> None:
    web = signed_in(http_server.url, "rules@example.com")
    assert web.put("/v1/me/profile", json={"timezone": "Europe/Berlin"}).status_code == 200
    r = web.patch(
        "/v1/dashboard/rules",
        json={
            "working_hours": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
        },
    )
    assert r.status_code == 200, r.text
    bot = new_agent(web, http_server.url, "bot", 1)
    assert bot.agents.me().timezone == "Europe/Berlin"

    with pytest.raises(agentdraft.RuleViolation) as err:
        bot.bookings.commit(start=MONDAY.replace(hour=5), end=MONDAY.replace(hour=5, minute=30))
    assert err.value.body["error"] == "outside_working_hours"

    slots = bot.availability.list(
        start=MONDAY, end=MONDAY + timedelta(days=1), duration_minutes=60, granularity_minutes=60
    )
    # 09:00-17:00 Berlin (UTC+2 in June) is 07:00-15:00 UTC: eight one-hour slots.
    assert [s.start.hour for s in slots] == list(range(7, 15))


def test_a_write_with_a_stale_availability_etag_is_410(http_server) -> None:
    web = signed_in(http_server.url, "etag@example.com")
    bot = new_agent(web, http_server.url, "bot", 1)
    me = bot.agents.me()
    headers = {"Authorization": f"Bearer {bot._api_key}"}
    avail = httpx.get(
        f"{http_server.url}/v1/availability",
        headers=headers,
        params={
            "user_id": me.user_id,
            "range_start": MONDAY.isoformat(),
            "range_end": (MONDAY + timedelta(days=1)).isoformat(),
        },
    ).json()
    web.patch("/v1/dashboard/rules", json={"daily_cap": 5})
    r = httpx.post(
        f"{http_server.url}/v1/bookings",
        headers=headers,
        json={
            "start": MONDAY.replace(hour=10).isoformat(),
            "end": MONDAY.replace(hour=10, minute=30).isoformat(),
            "availability_etag": avail["etag"],
        },
    )
    assert r.status_code == 410
    assert r.json()["error"] == "stale_availability"


def test_an_exhausted_rate_limit_is_429_with_retry_after(http_server, http_coord) -> None:
    web = signed_in(http_server.url, "rate@example.com")
    bot = new_agent(web, http_server.url, "bot", 1)
    http_coord.agents.set_rate_limit(bot.agent_id, per_second=0.01, burst=2)
    bot.agents.me()
    bot.agents.me()
    with pytest.raises(agentdraft.RateLimited) as err:
        bot.agents.me()
    assert err.value.retry_after is not None and err.value.retry_after >= 1


def test_rotation_from_the_dashboard_stops_the_old_key_at_once(http_server) -> None:
    web = signed_in(http_server.url, "rotate@example.com")
    bot = new_agent(web, http_server.url, "bot", 1)
    r = web.post(f"/v1/dashboard/agents/{bot.agent_id}/rotate")
    assert r.status_code == 200
    with pytest.raises(agentdraft.AuthError):
        bot.agents.me()
    fresh = agentdraft.Client(api_key=r.json()["plaintext_key"], base_url=http_server.url)
    assert fresh.agents.me().agent_id == bot.agent_id
    other = signed_in(http_server.url, "someone-else@example.com")
    assert other.post(f"/v1/dashboard/agents/{bot.agent_id}/revoke").status_code == 404


def test_a_gated_commit_is_parked_then_approved_by_the_owner(http_server) -> None:
    web = signed_in(http_server.url, "gate@example.com")
    web.patch("/v1/dashboard/rules", json={"require_approval": {}})
    bot = new_agent(web, http_server.url, "bot", 1)
    start = MONDAY.replace(hour=11)
    with pytest.raises(agentdraft.ConsentRequired) as parked:
        bot.bookings.commit(start=start, end=start + timedelta(minutes=30))
    assert parked.value.hold_id and parked.value.consent_request_id
    pending = web.get("/v1/dashboard/approvals", params={"status": "pending"}).json()
    assert [a["approval_id"] for a in pending] == [parked.value.consent_request_id]
    done = web.post(f"/v1/dashboard/approvals/{parked.value.consent_request_id}/approve", json={})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "approved"


def test_generic_approvals_round_trip_through_the_sdk(http_server) -> None:
    web = signed_in(http_server.url, "approvals@example.com")
    bot = new_agent(web, http_server.url, "bot", 1)
    req = bot.approvals.request("deploy.production", "Ship v2.3.0", evidence={"commit": "a1"})
    assert req["status"] == "pending"
    web.post(f"/v1/dashboard/approvals/{req['approval_id']}/deny", json={"note": "not today"})
    assert (
        bot.approvals.wait(req["approval_id"], timeout=5, poll_interval=0.1)["status"] == "denied"
    )


def test_the_owner_sets_the_longest_hold_and_a_bad_value_names_the_rule(http_server) -> None:
    web = signed_in(http_server.url, "holdcap@example.com")
    bad = web.patch("/v1/dashboard/rules", json={"max_hold_ttl_seconds": 0})
    assert (bad.status_code, bad.json()["field"]) == (422, "max_hold_ttl_seconds")
    assert web.get("/v1/dashboard/rules").json()["max_hold_ttl_seconds"] is None
    ok = web.patch("/v1/dashboard/rules", json={"max_hold_ttl_seconds": 7200})
    assert (ok.status_code, ok.json()["max_hold_ttl_seconds"]) == (200, 7200)
    bot = new_agent(web, http_server.url, "bot", 1)
    assert bot.agents.me().timezone == "UTC"
    held = httpx.post(
        f"{http_server.url}/v1/bookings",
        headers={"Authorization": f"Bearer {bot._api_key}"},
        json={
            "start": MONDAY.replace(hour=10).isoformat(),
            "end": MONDAY.replace(hour=10, minute=30).isoformat(),
            "mode": "hold",
            "hold_ttl_seconds": 7200,
        },
    )
    assert held.status_code == 201, held.text


def test_the_owner_sets_and_clears_the_arbitration_window(http_server) -> None:
    web = signed_in(http_server.url, "window@example.com")
    first = web.get("/v1/dashboard/arbitration-window").json()
    assert first["arbitration_window_ms"] is None and first["default_ms"] >= 0
    put = web.put("/v1/dashboard/arbitration-window", json={"arbitration_window_ms": 40})
    assert put.status_code == 200 and put.json()["arbitration_window_ms"] == 40
    bad = web.put("/v1/dashboard/arbitration-window", json={"arbitration_window_ms": 10_001})
    assert bad.status_code == 422 and bad.json()["field"] == "arbitration_window_ms"
    assert web.get("/v1/dashboard/arbitration-window").json()["arbitration_window_ms"] == 40
    cleared = web.put("/v1/dashboard/arbitration-window", json={"arbitration_window_ms": None})
    assert cleared.json()["arbitration_window_ms"] is None
