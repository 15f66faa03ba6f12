"""Operations: health and readiness through a store outage, metrics, logs, the start line."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from coordinator import Coordinator
from tests.support.servers import RedisServer, free_port

from .conftest import HttpServer, start_server, start_server_on

START = datetime(2031, 11, 3, 9, tzinfo=UTC)


def wait_for(condition: Callable[[], bool], what: str, deadline_s: float = 30.0) -> None:
    """Poll a condition the server reaches by itself (bounded; no fixed sleep)."""
    end = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.1)


def status(server: HttpServer, path: str) -> int:
    try:
        return httpx.get(f"{server.url}{path}", timeout=10).status_code
    except httpx.TransportError:
        return -1


def test_readyz_is_503_while_redis_is_down_and_200_once_it_is_back() -> None:
    redis = RedisServer()
    server = start_server(redis.url)
    try:
        ready = httpx.get(f"{server.url}/readyz", timeout=10)
        assert ready.status_code == 200
        checks = ready.json()["checks"]
        assert {"store", "scripts", "proposal_timer", "store_watch"} <= set(checks)
        assert all(v is True for v in checks.values()), checks
        redis.terminate()
        down = httpx.get(f"{server.url}/readyz", timeout=30)
        assert down.status_code == 503
        assert down.json()["error"] == "not_ready"
        assert down.json()["checks"]["store"] != True  # noqa: E712 (a reason string)
        assert status(server, "/healthz") == 200  # the process itself is fine
        redis.restart()  # same port, empty data: the scripts are gone too
        wait_for(lambda: status(server, "/readyz") == 200, "readiness to come back")
    finally:
        server.stop()
        redis.stop()


def test_serve_restarts_a_dead_embedded_engine_by_itself(tmp_path: Path) -> None:
    data = tmp_path / "engine"
    server = start_server_on(["--data-dir", str(data)])
    probe = Coordinator.embedded(data)
    try:
        owner = probe.owners.create()
        agent = probe.agents.create(owner.user_id, name="a", priority=1)
        key = agent.api_key
        # appendfsync everysec: wait until the agent is in the append-only file, since a
        # SIGKILL may otherwise lose the last second of writes (not what this test is about).
        wait_for(lambda: agent.agent_id.encode() in _aof(data), "the agent to reach the AOF")
        old_pid = int(probe.redis.info("server")["process_id"])
        os.kill(old_pid, signal.SIGKILL)
        wait_for(lambda: status(server, "/readyz") == 200 and _pid(probe) != old_pid, "restart")
        r = httpx.post(
            f"{server.url}/v1/bookings",
            json={"start": START.isoformat(), "end": (START + timedelta(minutes=30)).isoformat()},
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        assert r.status_code == 201  # the owner and agent survived: same data folder
    finally:
        server.stop()
        probe.close()
        from coordinator.store.embedded import stop_embedded

        stop_embedded(data)


def _aof(data: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted((data / "appendonlydir").glob("*.aof")))


def _pid(coord: Coordinator) -> int | None:
    try:
        return int(coord.redis.info("server")["process_id"])
    except Exception:
        return None


def test_metrics_are_off_unless_enabled(http_server) -> None:
    assert httpx.get(f"{http_server.url}/metrics").status_code == 404


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_a_commit_and_a_conflict(http_redis) -> None:
    server = start_server(http_redis.url, extra=["--metrics"], window_ms=0)
    coord = Coordinator.from_url(http_redis.url)
    try:
        owner = coord.owners.create()
        keys = [
            coord.agents.create(owner.user_id, name=f"p{p}", priority=p).api_key for p in (1, 2)
        ]
        body = {"start": START.isoformat(), "end": (START + timedelta(minutes=30)).isoformat()}
        answers = [
            httpx.post(
                f"{server.url}/v1/bookings", json=body, headers={"Authorization": f"Bearer {k}"}
            )
            for k in keys
        ]
        assert [a.status_code for a in answers] == [201, 409]
        reason = answers[1].json()["error"]
        text = httpx.get(f"{server.url}/metrics").text
        assert _metric(text, 'agentdraft_writes_total{mode="commit"}') == 1.0
        assert _metric(text, f'agentdraft_conflicts_total{{reason="{reason}"}}') == 1.0
        assert (
            _metric(
                text,
                'agentdraft_http_requests_total{method="POST",route="/v1/bookings",status="409"}',
            )
            == 1.0
        )
        assert "agentdraft_http_request_seconds_bucket" in text
        assert "agentdraft_webhook_outbox_depth" in text
    finally:
        coord.close()
        server.stop()


def test_serve_prints_one_start_line_and_logs_requests_as_json(http_redis, sdk) -> None:
    server = start_server(
        http_redis.url, extra=["--log-format", "json", "--log-level", "info"], capture=True
    )
    client = sdk(1)
    try:
        r = httpx.post(
            f"{server.url}/v1/bookings",
            json={"start": START.isoformat(), "end": (START + timedelta(hours=1)).isoformat()},
            headers={"Authorization": f"Bearer {client._api_key}", "X-Request-ID": "req-42"},
        )
        assert r.status_code == 201
        assert r.headers["x-request-id"] == "req-42"
    finally:
        server.stop()
    out, err = server.proc.communicate(timeout=10)
    lines = [line for line in out.splitlines() if line.startswith("coordinator serve:")]
    assert len(lines) == 1
    assert f"listening on {server.url}" in lines[0]
    assert "store: redis://127.0.0.1:" in lines[0] and "dev mode on" in lines[0]
    # The request is logged once, by the coordinator: uvicorn's own access line is off.
    assert "/v1/bookings" not in out
    records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    mine = [rec for rec in records if rec.get("request_id") == "req-42"]
    assert len(mine) == 1
    assert mine[0]["agent_id"] == client.agent_id
    assert mine[0]["outcome"] == "committed"
    assert mine[0]["status"] == 201 and mine[0]["route"] == "/v1/bookings"


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_endpoints_answer_json(http_server, path) -> None:
    r = httpx.get(f"{http_server.url}{path}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")


def test_serve_dispatch_delivers_webhooks_and_reports_its_dispatcher_ready(
    http_redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.webhooks.test_webhooks import Receiver

    receiver = Receiver()
    allow = {"AGENTDRAFT_WEBHOOK_ALLOW_HOSTS": "127.0.0.1"}
    server = start_server(http_redis.url, extra=["--dispatch", "--metrics"], env=allow, window_ms=0)
    coord = Coordinator.from_url(http_redis.url)
    try:
        owner = coord.owners.create()
        key = coord.agents.create(owner.user_id, name="a", priority=1).api_key
        monkeypatch.setenv("AGENTDRAFT_WEBHOOK_ALLOW_HOSTS", "127.0.0.1")
        coord.webhooks.register(owner.user_id, receiver.url, events=["booking.committed"])
        ready = httpx.get(f"{server.url}/readyz", timeout=10).json()
        assert ready["checks"]["webhook_dispatcher"] is True
        r = httpx.post(
            f"{server.url}/v1/bookings",
            json={"start": START.isoformat(), "end": (START + timedelta(minutes=30)).isoformat()},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert r.status_code == 201
        assert receiver.arrived.wait(30)
        assert [e["data"]["booking_id"] for e in receiver.events()] == [r.json()["booking_id"]]
        name = 'agentdraft_webhook_deliveries_total{outcome="delivered"}'
        wait_for(lambda: _metric(httpx.get(f"{server.url}/metrics").text, name) == 1.0, name)
    finally:
        coord.close()
        server.stop()
        receiver.close()


def test_metrics_on_their_own_port_leave_the_api_port_without_them(http_redis) -> None:
    port = free_port()
    server = start_server(http_redis.url, extra=["--metrics-port", str(port)])
    try:
        assert httpx.get(f"{server.url}/healthz").status_code == 200
        assert httpx.get(f"{server.url}/metrics").status_code == 404
        text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        assert 'agentdraft_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    finally:
        server.stop()


def test_uvicorn_factory_with_the_guarded_protocol_serves_the_same_app(http_redis) -> None:
    """The README's `uvicorn --factory` command: configuration from the environment."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "coordinator.server.app:app_from_env",
            "--http",
            "coordinator.server.protocol:GuardedHttpProtocol",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env={
            **os.environ,
            "AGENTDRAFT_REDIS_URL": http_redis.url,
            "AGENTDRAFT_HEADER_TIMEOUT": "1",
        },
    )
    server = HttpServer(f"http://127.0.0.1:{port}", proc)
    try:
        wait_for(lambda: status(server, "/readyz") == 200, "the factory app to be ready")
        with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")  # never finished
            assert sock.recv(4096).startswith(b"HTTP/1.1 408")
    finally:
        server.stop()


def test_the_start_up_heap_is_frozen_once_the_mcp_stack_has_loaded(http_redis) -> None:
    """Full collections of the start-up heap stalled the loop 100+ ms (server/heap.py)."""
    server = start_server(http_redis.url, extra=["--metrics"])
    try:
        # /mcp answers once the MCP stack has loaded in its background thread; the
        # worker freezes again before that request resumes.
        httpx.get(f"{server.url}/mcp", timeout=120)
        text = httpx.get(f"{server.url}/metrics").text
        frozen = _metric(text, "agentdraft_gc_frozen_objects")
        tracked = _metric(text, "agentdraft_gc_tracked_objects")
        # FastAPI, the routes and the MCP stack are well over 100k objects; what a
        # collection still walks is what the few requests since have left behind.
        assert frozen > 100_000
        assert tracked < frozen / 4
    finally:
        server.stop()
