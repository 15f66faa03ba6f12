"""Limits and guards of ``coordinator serve``: body size, stalled connections, HTTP-layer
errors as JSON, CSRF on cookie-authenticated owner endpoints, sign-in abuse."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pytest

from coordinator import Coordinator
from tests.support.servers import RedisServer

from .conftest import HttpServer, cli_login_token, start_server

# Short deadlines so a stalled connection is closed within the test's read timeout.
GUARDED = ["--header-timeout", "1", "--body-timeout", "1", "--max-body-bytes", "65536"]


@pytest.fixture(scope="module")
def guarded(http_redis) -> Iterator[HttpServer]:
    server = start_server(http_redis.url, extra=GUARDED)
    yield server
    server.stop()


def _connect(server: HttpServer) -> socket.socket:
    parts = urlsplit(server.url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=15)
    return sock


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (socket timeout fails the test)."""
    out = b""
    while chunk := sock.recv(65536):
        out += chunk
    return out


def _json_body(raw: bytes) -> dict:
    return json.loads(raw.split(b"\r\n\r\n", 1)[1])


def test_a_declared_oversized_body_is_refused_413_before_it_is_sent(guarded) -> None:
    with _connect(guarded) as sock:
        sock.sendall(
            b"POST /v1/bookings HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Length: 104857600\r\n\r\n" + b"x" * 1000
        )
        # 100 MB were announced, 1 kB sent: the answer and the close come without the rest.
        raw = _read_until_closed(sock)
    assert raw.startswith(b"HTTP/1.1 413")
    assert _json_body(raw)["error"] == "payload_too_large"


def test_a_chunked_body_is_refused_413_once_it_passes_the_limit(guarded) -> None:
    chunk = b"a" * 16384
    with _connect(guarded) as sock:
        sock.sendall(
            b"POST /v1/bookings HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        for _ in range(5):  # 80 kB > 64 kB; the server never needs the end of it
            sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        raw = _read_until_closed(sock)
    assert raw.startswith(b"HTTP/1.1 413")
    body = _json_body(raw)
    assert body["error"] == "payload_too_large" and body["detail"]


def test_a_body_under_the_limit_reaches_the_handler(guarded, sdk) -> None:
    r = httpx.post(f"{guarded.url}/v1/bookings", content=b"{" + b" " * 60000 + b"}")
    assert r.status_code == 401  # read in full, then refused for want of a key


def test_a_connection_that_sends_half_its_headers_is_closed(guarded) -> None:
    with _connect(guarded) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ")
        raw = _read_until_closed(sock)
    assert raw.startswith(b"HTTP/1.1 408")
    assert _json_body(raw)["error"] == "request_timeout"


def test_a_slowloris_connection_trickling_its_headers_is_closed(guarded) -> None:
    """Each byte resets no timer: the deadline is for the whole head, not per byte."""
    head = b"GET /healthz HTTP/1.1\r\nHost: t\r\n" + b"X-Pad: " + b"a" * 200 + b"\r\n\r\n"
    sent = 0
    with _connect(guarded) as sock:
        sock.settimeout(0.25)  # the trickle's pace: one byte per quarter second at most
        try:
            for byte in head:
                sock.sendall(bytes([byte]))
                sent += 1
                try:
                    sock.recv(4096)  # the 408, or b"" once closed: the server stopped waiting
                    break
                except TimeoutError:
                    continue  # still open: send the next byte
        except (BrokenPipeError, ConnectionResetError):
            pass
    # 1 s header deadline: closed after a handful of bytes, long before the ~60 s trickle.
    assert sent < 40, sent


def test_a_connection_that_sends_nothing_is_closed(guarded) -> None:
    with _connect(guarded) as sock:
        raw = _read_until_closed(sock)
    assert raw.startswith(b"HTTP/1.1 408")


def test_a_connection_that_stalls_in_its_body_is_closed(guarded) -> None:
    with _connect(guarded) as sock:
        sock.sendall(
            b"POST /v1/bookings HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{"
        )
        _read_until_closed(sock)  # returns only because the server closed it


def test_a_kept_alive_connection_still_serves_requests_in_time(guarded) -> None:
    with httpx.Client(base_url=guarded.url) as web:
        assert [web.get("/healthz").status_code for _ in range(3)] == [200, 200, 200]


def test_an_oversized_request_head_gets_a_json_431(guarded) -> None:
    # Just over the 64 kB head limit, in one write: the server has read all of it when
    # it answers, so it closes cleanly instead of resetting a half-read connection.
    pads = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"a" * 1000) for i in range(66))
    with _connect(guarded) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n" + pads + b"\r\n")
        raw = _read_until_closed(sock)
    assert raw.startswith(b"HTTP/1.1 431")
    assert _json_body(raw)["error"] == "headers_too_large"


def test_a_malformed_request_gets_a_json_400(guarded) -> None:
    with _connect(guarded) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n")
        raw = _read_until_closed(sock)
    assert raw.startswith(b"HTTP/1.1 400")
    assert b"application/json" in raw.split(b"\r\n\r\n")[0]
    assert _json_body(raw)["error"] == "bad_request"


# -- CSRF ------------------------------------------------------------------------------------


def _owner(server: HttpServer, email: str) -> tuple[httpx.Client, str]:
    web = httpx.Client(base_url=server.url)
    token = web.post("/v1/auth/magic-link", json={"email": email}).json()["dev_token"]
    assert web.post("/v1/auth/verify", json={"token": token}).status_code == 200
    agent = web.post("/v1/dashboard/agents", json={"name": "a"}).json()
    return web, agent["agent_id"]


@pytest.mark.parametrize(
    ("headers", "content"),
    [
        (
            {"Origin": "http://evil.example", "Content-Type": "application/x-www-form-urlencoded"},
            b"x=1",
        ),
        ({"Origin": "http://evil.example", "Content-Type": "text/plain"}, b"{}"),
        ({"Sec-Fetch-Site": "cross-site", "Content-Type": "text/plain"}, b""),
        ({"Origin": "null"}, b""),
    ],
)
def test_a_cross_site_post_with_the_owner_cookie_changes_nothing(
    http_server, headers, content
) -> None:
    web, agent_id = _owner(http_server, "csrf@example.com")
    with closing(web):
        for action in ("revoke", "rotate"):
            r = web.post(
                f"/v1/dashboard/agents/{agent_id}/{action}", headers=headers, content=content
            )
            assert r.status_code == 403
            assert r.json()["error"] == "csrf_refused"
        listed = web.get("/v1/dashboard/agents").json()
        assert [a["status"] for a in listed if a["agent_id"] == agent_id] == ["active"]


def test_a_same_origin_post_with_the_owner_cookie_is_accepted(http_server) -> None:
    web, agent_id = _owner(http_server, "same-origin@example.com")
    host = urlsplit(http_server.url).netloc
    with closing(web):
        r = web.post(
            f"/v1/dashboard/agents/{agent_id}/revoke",
            headers={"Origin": f"http://{host}", "Sec-Fetch-Site": "same-origin"},
        )
        assert r.status_code == 200
        assert r.json()["status"] == "revoked"


def test_agent_endpoints_with_a_bearer_key_ignore_the_origin(sdk, http_server) -> None:
    client = sdk(1)
    r = httpx.get(
        f"{http_server.url}/v1/agents/me",
        headers={"Authorization": f"Bearer {client._api_key}", "Origin": "http://evil.example"},
    )
    assert r.status_code == 200


# -- sign-in abuse ---------------------------------------------------------------------------


def test_magic_links_are_rate_limited_per_address_and_create_no_owner() -> None:
    # Its own Redis: the window is shared by every server process on one store.
    redis = RedisServer()
    server = start_server(redis.url, env={"AGENTDRAFT_MAGIC_LINKS_PER_MINUTE": "3"})
    coord = Coordinator.from_url(redis.url)
    try:
        before = len(coord.owners.list())
        answers = [
            httpx.post(f"{server.url}/v1/auth/magic-link", json={"email": f"m{i}@example.com"})
            for i in range(6)
        ]
        assert [a.status_code for a in answers] == [200, 200, 200, 429, 429, 429]
        assert answers[3].json()["error"] == "rate_limited"
        assert int(answers[3].headers["Retry-After"]) >= 1
        # Asking for a link creates nobody; verifying one does.
        assert len(coord.owners.list()) == before
        token = answers[0].json()["dev_token"]
        assert httpx.post(f"{server.url}/v1/auth/verify", json={"token": token}).status_code == 200
        assert len(coord.owners.list()) == before + 1
    finally:
        coord.close()
        server.stop()
        redis.stop()


@pytest.mark.parametrize("email", ["a\x00b@example.com", "a@exa\x01mple.com", "a\x7f@example.com"])
def test_an_email_with_control_characters_is_refused(http_server, email) -> None:
    r = httpx.post(f"{http_server.url}/v1/auth/magic-link", json={"email": email})
    assert r.status_code == 422
    assert r.json()["field"] == "email"


def test_a_cli_login_token_is_single_use_and_expires(http_server, http_redis) -> None:
    token = cli_login_token(http_redis.url, "once@example.com")
    coord = Coordinator.from_url(http_redis.url)
    try:
        import hashlib

        key = f"{coord.settings.namespace}:login:{hashlib.sha256(token.encode()).hexdigest()}"
        assert 0 < coord.redis.pttl(key) <= 15 * 60 * 1000
    finally:
        coord.close()
    first = httpx.post(f"{http_server.url}/v1/auth/verify", json={"token": token})
    second = httpx.post(f"{http_server.url}/v1/auth/verify", json={"token": token})
    assert first.status_code == 200
    assert second.status_code == 401 and second.json()["error"] == "invalid_token"


# -- the process-local key cache ---------------------------------------------------------------


def test_a_cached_key_is_refused_on_every_route_once_revoked(sdk, http_server, http_coord) -> None:
    """The server remembers key hash -> agent; the scripts still refuse a revoked key."""
    client = sdk(1)
    auth = {"Authorization": f"Bearer {client._api_key}"}
    start = datetime(2031, 9, 1, 9, tzinfo=UTC)
    booked = client.bookings.commit(start=start, end=start + timedelta(minutes=30))
    calls = [
        ("GET", f"/v1/bookings/{booked.booking_id}", None),
        ("POST", "/v1/bookings", {"start": "2031-09-02T09:00:00Z", "end": "2031-09-02T09:30:00Z"}),
        (
            "GET",
            "/v1/availability?range_start=2031-09-03T00:00:00Z&range_end=2031-09-04T00:00:00Z",
            None,
        ),
        ("GET", "/v1/agents/me", None),
        ("GET", "/v1/rules", None),
        ("GET", "/v1/audit", None),
        ("GET", "/v1/scheduling/proposals", None),
        ("DELETE", f"/v1/bookings/{booked.booking_id}", None),
    ]
    with httpx.Client(base_url=http_server.url, headers=auth) as web:
        assert web.get("/v1/agents/me").status_code == 200  # now cached in the server
        http_coord.agents.revoke(client.agent_id)
        for method, path, body in calls:
            r = web.request(method, path, json=body)
            assert r.status_code == 401, (method, path, r.text)
            assert r.json()["error"] == "unauthorized"
    assert http_coord.agents.get(sdk.user_id, client.agent_id).status == "revoked"
