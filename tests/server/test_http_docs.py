"""The OpenAPI document and /docs: security schemes, time formats, local Swagger UI,
and the owner's approval decisions with an empty body."""

from __future__ import annotations

import re

import httpx

from .test_http_limits import _owner


def test_agent_routes_use_the_bearer_scheme_and_owner_routes_the_cookie(http_server) -> None:
    doc = httpx.get(f"{http_server.url}/openapi.json", timeout=60).json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["agentKey"] == {**schemes["agentKey"], "type": "http", "scheme": "bearer"}
    assert schemes["ownerSession"]["in"] == "cookie"
    paths = doc["paths"]
    for path, method in [("/v1/bookings", "post"), ("/v1/availability", "get")]:
        op = paths[path][method]
        assert op["security"] == [{"agentKey": []}]
        assert not [p for p in op.get("parameters", []) if p["name"].lower() == "authorization"]
    for path, method in [("/v1/dashboard/agents", "post"), ("/v1/dashboard/rules", "patch")]:
        assert paths[path][method]["security"] == [{"ownerSession": []}]
    assert "security" not in paths["/v1/auth/verify"]["post"]


def test_times_are_date_time_and_fields_are_described(http_server) -> None:
    doc = httpx.get(f"{http_server.url}/openapi.json", timeout=60).json()
    booking_in = doc["components"]["schemas"]["BookingRequest"]["properties"]
    assert booking_in["start"]["format"] == "date-time"
    assert booking_in["start"]["description"]
    params = {p["name"]: p for p in doc["paths"]["/v1/availability"]["get"]["parameters"]}
    assert params["range_start"]["schema"]["format"] == "date-time"
    out = doc["components"]["schemas"]["BookingOut"]["properties"]
    assert out["booking_id"]["description"] and out["priority"]["description"]


def test_docs_load_swagger_ui_from_this_server_only(http_server) -> None:
    html = httpx.get(f"{http_server.url}/docs").text
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(a.startswith("/docs/static/") for a in assets), assets
    for asset in assets:
        r = httpx.get(f"{http_server.url}{asset}")
        assert r.status_code == 200 and len(r.content) > 100
    assert httpx.get(f"{http_server.url}/redoc").status_code == 404


def test_an_owner_approves_and_denies_with_an_empty_body(http_server) -> None:
    web, _ = _owner(http_server, "empty-body@example.com")
    made = web.post("/v1/dashboard/agents", json={"name": "asker", "priority": 1}).json()
    agent = httpx.Client(
        base_url=http_server.url, headers={"Authorization": f"Bearer {made['plaintext_key']}"}
    )
    try:
        ids = [
            agent.post("/v1/approvals", json={"action_type": "send", "summary": f"s{i}"}).json()[
                "approval_id"
            ]
            for i in range(2)
        ]
        approved = web.post(f"/v1/dashboard/approvals/{ids[0]}/approve")  # no body at all
        denied = web.post(f"/v1/dashboard/approvals/{ids[1]}/deny", content=b"")
        assert approved.status_code == 200 and approved.json()["status"] == "approved"
        assert denied.status_code == 200 and denied.json()["status"] == "denied"
        bad = web.post("/v1/dashboard/approvals/agt_not_an_approval/approve")
        assert bad.status_code == 422 and bad.json()["field"] == "approval_id"
    finally:
        agent.close()
        web.close()
