"""Owner sign-in, the dashboard, error bodies and the OpenAPI document, over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from .conftest import cli_login_token, start_server


def test_dev_mode_sign_in_then_dashboard_issues_a_working_agent_key(http_server) -> None:
    import agentdraft

    with httpx.Client(base_url=http_server.url) as web:
        link = web.post("/v1/auth/magic-link", json={"email": "owner@example.com"})
        assert link.status_code == 200
        token = link.json()["dev_token"]
        session = web.post("/v1/auth/verify", json={"token": token})
        assert session.status_code == 200
        user_id = session.json()["user_id"]
        made = web.post(
            "/v1/dashboard/agents",
            json={
                "name": "sales-bot",
                "priority": 1,
                "scopes": ["bookings:write", "bookings:read"],
            },
        )
        assert made.status_code == 201
        key = made.json()["plaintext_key"]
        listed = web.get("/v1/dashboard/agents").json()
        assert [a["name"] for a in listed] == ["sales-bot"]
        assert listed[0]["plaintext_key"] is None  # shown once only
        # A magic-link token is single use.
        assert web.post("/v1/auth/verify", json={"token": token}).status_code == 401
    me = agentdraft.Client(api_key=key, base_url=http_server.url).agents.me()
    assert me.user_id == user_id


def test_the_dashboard_refuses_a_caller_without_a_session(http_server) -> None:
    r = httpx.post(f"{http_server.url}/v1/dashboard/agents", json={"name": "x"})
    assert r.status_code == 401
    assert r.json()["error"] == "unauthorized"


def test_outside_dev_mode_magic_links_are_refused_and_a_cli_token_signs_in(http_redis) -> None:
    server = start_server(http_redis.url, dev=False)
    try:
        r = httpx.post(f"{server.url}/v1/auth/magic-link", json={"email": "o@example.com"})
        assert r.status_code == 403
        assert r.json()["error"] == "dev_mode_only"
        token = cli_login_token(http_redis.url, "o@example.com")
        with httpx.Client(base_url=server.url) as web:
            assert web.post("/v1/auth/verify", json={"token": token}).status_code == 200
            assert web.post("/v1/dashboard/agents", json={"name": "a"}).status_code == 201
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "error"),
    [
        ("GET", "/v1/nope", {}, 404, "not_found"),
        ("PUT", "/v1/bookings", {}, 405, "method_not_allowed"),
        (
            "POST",
            "/v1/bookings",
            {
                "content": b"{not json",
                "headers": {
                    "Authorization": "Bearer avs_live_x",
                    "Content-Type": "application/json",
                },
            },
            422,
            "invalid_request",
        ),
        ("POST", "/v1/bookings", {"json": {"start": "x"}}, 401, "unauthorized"),
        ("GET", "/v1/agents/me", {"headers": {"Authorization": "Basic abc"}}, 401, "unauthorized"),
    ],
)
def test_every_error_has_a_json_code_and_detail(
    http_server, method, path, kwargs, status, error
) -> None:
    r = httpx.request(method, f"{http_server.url}{path}", **kwargs)
    assert r.status_code == status
    body = r.json()
    assert body["error"] == error
    assert body["detail"]


def test_the_openapi_document_lists_the_protocol_endpoints(http_server) -> None:
    doc = httpx.get(f"{http_server.url}/openapi.json", timeout=60).json()
    for path in (
        "/v1/bookings",
        "/v1/holds/{hold_id}/release",
        "/v1/bookings/{booking_id}",
        "/v1/agents/me",
        "/v1/audit",
        "/v1/auth/magic-link",
        "/v1/auth/verify",
        "/v1/dashboard/agents",
    ):
        assert path in doc["paths"], path
    assert "409" in doc["paths"]["/v1/bookings"]["post"]["responses"]


def test_a_missing_field_from_an_authenticated_agent_is_a_422_naming_it(sdk, http_server):
    client = sdk(1)
    r = httpx.post(
        f"{http_server.url}/v1/bookings",
        json={"start": "2031-06-02T09:00:00Z"},
        headers={"Authorization": f"Bearer {client._api_key}"},
    )
    assert r.status_code == 422
    assert r.json()["error"] == "invalid_request"
    assert r.json()["field"] == "end"


def test_an_owner_registers_lists_and_removes_a_webhook_endpoint(http_server) -> None:
    with httpx.Client(base_url=http_server.url) as web:
        token = web.post("/v1/auth/magic-link", json={"email": "hooks@example.com"}).json()
        web.post("/v1/auth/verify", json={"token": token["dev_token"]})
        made = web.post(
            "/v1/dashboard/webhooks",
            json={"url": "https://example.com/hook", "events": ["booking.evicted"]},
        )
        assert made.status_code == 201
        assert made.json()["secret"].startswith("whsec_")
        listed = web.get("/v1/dashboard/webhooks").json()
        assert [(w["url"], w["events"], w["secret"]) for w in listed] == [
            ("https://example.com/hook", ["booking.evicted"], None)
        ]
        bad = web.post("/v1/dashboard/webhooks", json={"url": "ftp://nope.example"})
        assert bad.status_code == 422 and bad.json()["field"] == "url"
        gone = web.delete(f"/v1/dashboard/webhooks/{made.json()['endpoint_id']}")
        assert gone.status_code == 204
        assert web.get("/v1/dashboard/webhooks").json() == []
