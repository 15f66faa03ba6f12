"""After a dashboard test module, the thread is free for asyncio again.

Playwright's sync API keeps its event loop marked as running while it is started; the
``chromium`` fixture is per module so the suite's async tests that run after the
dashboard's (engine, MCP, frameworks) can still call ``asyncio.run``.
"""

from __future__ import annotations

import asyncio


async def _answer() -> int:
    await asyncio.sleep(0)
    return 42


def test_asyncio_run_works_after_the_browser_tests_of_earlier_modules() -> None:
    assert asyncio.run(_answer()) == 42
