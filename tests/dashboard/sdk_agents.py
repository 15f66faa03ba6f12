"""Agents for browser flows: the official ``agentdraft`` SDK over HTTP, against the same
``coordinator serve`` the browser talks to, and slots far enough ahead of any rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.dashboard.conftest import Dash


def sdk(dash: Dash, name: str, priority: int) -> Any:
    """An ``agentdraft.Client`` for a new agent of the signed-in owner (``.agent_id`` and
    ``.key`` set, for calls the SDK does not make)."""
    import agentdraft

    a = dash.coord.agents.create(dash.user_id, name=name, priority=priority)
    client = agentdraft.Client(api_key=a.api_key, base_url=dash.url)
    client.agent_id = a.agent_id
    client.key = a.api_key
    return client


def slot(days: int, hour: int, minutes: int = 30) -> tuple[datetime, datetime]:
    """``days`` from today at ``hour``:00 UTC, ``minutes`` long."""
    start = (datetime.now(UTC) + timedelta(days=days)).replace(
        hour=hour, minute=0, second=0, microsecond=0
    )
    return start, start + timedelta(minutes=minutes)
