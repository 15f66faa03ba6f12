"""Browser fixtures for the dashboard: a real ``coordinator serve`` and the system Chromium.

Playwright drives Debian's Chromium (``/usr/bin/chromium``; ``.ci/run`` installs it
when missing) because ``playwright install`` cannot download a browser here. When no
Chromium can be found, every dashboard test is skipped with that reason, never failed.

Fixtures: ``chromium`` (the browser, one per test module), ``dashboard_server`` (one dev-mode
server on a private Redis), ``dash`` (a fresh browser context and a new owner's email,
not signed in) and ``signed_in`` (the same, signed in through the sign-in page).
Screenshots go to ``$AGENTDRAFT_SCREENSHOTS`` or a temp folder (``dash.shot(name)``).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from coordinator import Coordinator
from tests.server.conftest import HttpServer, start_server
from tests.support.servers import RedisServer

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
#: How long a page may take to show what a test waits for (an event, never a sleep).
WAIT_MS = 15_000


def find_chromium() -> str | None:
    for name in CHROMIUM_CANDIDATES:
        path = name if os.path.isabs(name) and os.access(name, os.X_OK) else shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """The system Chromium under Playwright, headless, for one test module.

    Not for the session: while Playwright's sync API is started, its event loop counts
    as running in this thread, so every later test calling ``asyncio.run`` (the engine,
    MCP and framework tests) would fail. Stopping it at the end of each module hands
    the thread back (``test_event_loop_after_browser.py`` checks).
    """
    path = find_chromium()
    if path is None:
        pytest.skip("no Chromium found (apt-get install chromium; .ci/run does it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (it is in the dev extra)")
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def dashboard_redis() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="session")
def dashboard_server(dashboard_redis: RedisServer) -> Iterator[HttpServer]:
    """One dev-mode ``coordinator serve`` for the dashboard tests; each test is a new owner."""
    server = start_server(dashboard_redis.url, dev=True)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("AGENTDRAFT_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("dashboard-screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class Dash:
    """One owner's browser tab on the dashboard, and a coordinator to check the store."""

    page: Any
    url: str
    email: str
    coord: Coordinator
    shots: Path
    user_id: str = ""
    errors: list[str] = field(default_factory=list)

    def go(self, path: str) -> Any:
        return self.page.goto(self.url + path)

    def sign_in(self, *, expect_path: str = "/dashboard/agents", fresh: bool = True) -> None:
        """Dev sign-in as a person does it: email, the link on the page, the button.

        ``fresh=False`` starts from the sign-in page already shown (after a redirect)."""
        if fresh:
            self.go("/dashboard/sign-in")
        self.page.get_by_label("Email").fill(self.email)
        self.page.get_by_role("button", name="Send me a sign-in link").click()
        self.page.get_by_role("link", name="Open my sign-in link").click()
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url(lambda url: url.endswith(expect_path))
        self.user_id = self.coord.redis.get(f"{self.coord.settings.namespace}:email:{self.email}")

    @contextmanager
    def settled(self) -> Iterator[None]:
        """Around an action whose htmx swap the test reads or uses next: returns once htmx
        has swapped and settled it. The response arriving is not enough: htmx swaps and
        settles after it, and binds the new elements' requests only then."""
        self.page.evaluate(
            "() => { window.__settled = false; document.addEventListener("
            "'htmx:afterSettle', () => { window.__settled = true; }, {once: true}); }"
        )
        yield
        self.page.wait_for_function("() => window.__settled === true")

    def shot(self, name: str, *, full_page: bool = True) -> Path:
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


@pytest.fixture
def dash(
    chromium: Any, dashboard_server: HttpServer, dashboard_redis: RedisServer, screenshots: Path
) -> Iterator[Dash]:
    """A new browser context (its own cookies) for a new owner, not signed in yet."""
    origin = dashboard_server.url
    context = chromium.new_context(viewport={"width": 1200, "height": 800})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    coord = Coordinator.from_url(dashboard_redis.url)
    d = Dash(page, origin, f"owner-{uuid.uuid4().hex[:10]}@example.com", coord, screenshots)
    # A script error on a page fails the test that caused it.
    page.on("pageerror", lambda exc: d.errors.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())
    yield d
    context.close()
    coord.close()
    assert not d.errors, f"JavaScript errors on the page: {d.errors}"


@pytest.fixture
def signed_in(dash: Dash) -> Dash:
    dash.sign_in()
    return dash
