"""Signing in and out of the dashboard in a real browser, and CSRF refusals."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from playwright.sync_api import expect

from coordinator.server.dashboard.nav import SECTIONS
from tests.dashboard.conftest import Dash
from tests.server.conftest import HttpServer, cli_login_token, start_server
from tests.support.servers import RedisServer


def test_dev_sign_in_shows_every_section_and_sign_out_ends_the_session(dash: Dash) -> None:
    dash.go("/dashboard/agents")
    dash.page.wait_for_url("**/dashboard/sign-in?next=/dashboard/agents")
    dash.shot("sign-in")
    dash.sign_in()
    nav = dash.page.get_by_role("navigation", name="Dashboard sections")
    assert [a.strip() for a in nav.get_by_role("link").all_inner_texts()] == [
        s.label for s in SECTIONS
    ]
    assert dash.page.get_by_role("link", name="Agents").get_attribute("aria-current") == "page"
    assert dash.email in dash.page.locator("header").inner_text()
    cookie = next(c for c in dash.page.context.cookies() if c["name"] == "agentdraft_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert not cookie["secure"]  # plain http on loopback; https sets Secure

    dash.page.get_by_role("button", name="Sign out").click()
    dash.page.wait_for_url("**/dashboard/sign-in")
    dash.go("/dashboard/rules")
    dash.page.wait_for_url("**/dashboard/sign-in?next=/dashboard/rules")


def test_a_login_token_from_the_cli_signs_in_once(dash: Dash, dashboard_redis: RedisServer) -> None:
    token = cli_login_token(dashboard_redis.url, dash.email)
    dash.go("/dashboard/sign-in")
    dash.page.get_by_label("Or paste a login token").fill(token)
    dash.page.get_by_role("button", name="Sign in").click()
    dash.page.wait_for_url("**/dashboard/agents")
    assert dash.email in dash.page.locator("header").inner_text()

    dash.page.context.clear_cookies()
    dash.go("/dashboard/sign-in")
    dash.page.get_by_label("Or paste a login token").fill(token)
    dash.page.get_by_role("button", name="Sign in").click()
    assert "unknown, used or expired" in dash.page.get_by_role("alert").inner_text()


class _Attacker(BaseHTTPRequestHandler):
    """Another site's page: a form that posts to the dashboard as soon as it loads."""

    target = ""

    def do_GET(self) -> None:
        page = (
            "<!doctype html><title>win a prize</title>"
            f'<form id="f" method="post" action="{self.target}/dashboard/agents">'
            '<input name="name" value="evil"><input name="scopes" value="bookings:write">'
            "</form><script>document.getElementById('f').submit()</script>"
        )
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(page.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def attacker_site(dash: Dash) -> Iterator[str]:
    """A real second web server on loopback (another origin, same site: the cookie goes)."""
    handler = type("Attacker", (_Attacker,), {"target": dash.url})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_cross_origin_form_post_is_refused_and_changes_nothing(
    signed_in: Dash, attacker_site: str
) -> None:
    dash = signed_in
    response_seen: list[int] = []
    dash.page.on(
        "response",
        lambda r: response_seen.append(r.status) if r.url.endswith("/dashboard/agents") else None,
    )
    dash.go("/dashboard/agents")
    dash.page.goto(attacker_site + "/")
    dash.page.wait_for_url(dash.url + "/dashboard/agents")
    assert dash.page.get_by_role("heading", level=1).inner_text() == "Request refused"
    assert "Sec-Fetch-Site: same-site" in dash.page.get_by_role("alert").inner_text()
    assert response_seen[-1] == 403
    assert dash.coord.agents.list(dash.user_id) == []


def test_a_write_without_the_page_token_is_refused(signed_in: Dash) -> None:
    """Even with no Origin header at all (not a browser form), the CSRF token is required."""
    request = signed_in.page.context.request
    refused = request.post(signed_in.url + "/dashboard/agents", form={"name": "sneaky"})
    assert refused.status == 403
    assert "security token" in refused.text()
    assert signed_in.coord.agents.list(signed_in.user_id) == []


def test_the_session_cookie_is_secure_when_the_browser_speaks_https_to_a_proxy(
    dashboard_server: HttpServer, dashboard_redis: RedisServer
) -> None:
    """A TLS proxy on the same host forwards ``X-Forwarded-Proto: https``; the cookie
    is then ``Secure`` (plain http from a browser would leave it without)."""
    token = cli_login_token(dashboard_redis.url, f"proxy-{uuid.uuid4().hex[:8]}@example.com")
    signed = httpx.post(
        f"{dashboard_server.url}/dashboard/sign-in",
        data={"token": token},
        headers={"X-Forwarded-Proto": "https"},
    )
    assert signed.status_code == 303
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "; secure" in cookie


def test_outside_dev_mode_only_a_login_token_signs_in(
    chromium: object, dashboard_redis: RedisServer, dash: Dash
) -> None:
    server = start_server(dashboard_redis.url, dev=False)
    try:
        dash.url = server.url
        dash.go("/dashboard/sign-in")
        assert dash.page.get_by_label("Email").count() == 0  # no magic links here
        refused = httpx.post(
            f"{server.url}/dashboard/sign-in/magic-link", data={"email": dash.email}
        )
        assert refused.status_code == 422 and "dev mode" in refused.text
        dash.page.get_by_label("Login token").fill(cli_login_token(dashboard_redis.url, dash.email))
        dash.page.get_by_role("button", name="Sign in").click()
        dash.page.wait_for_url("**/dashboard/agents")
        expect(dash.page.get_by_role("heading", level=1)).to_have_text("Agents")
    finally:
        server.stop()


def test_a_write_after_the_session_ended_asks_to_sign_in_and_returns_to_the_page(
    signed_in: Dash,
) -> None:
    dash = signed_in
    made = dash.coord.agents.create(dash.user_id, name="Lone", priority=1)
    dash.go("/dashboard/bookings?status=COMMITTED")
    dash.page.context.clear_cookies()
    dash.go("/dashboard/bookings?status=COMMITTED")
    dash.page.wait_for_url("**/dashboard/sign-in?next=/dashboard/bookings%3Fstatus%3DCOMMITTED")
    dash.sign_in(expect_path="/dashboard/bookings?status=COMMITTED", fresh=False)

    dash.go("/dashboard/agents")
    dash.page.context.clear_cookies()
    dash.page.get_by_role("button", name="Revoke").click()
    expect(dash.page.get_by_role("heading", level=1)).to_have_text("Sign in")
    assert dash.coord.agents.get(dash.user_id, made.agent_id).status == "active"
    dash.sign_in(expect_path="/dashboard/agents", fresh=False)
    expect(dash.page.locator("li.agent .status")).to_have_text("active")
