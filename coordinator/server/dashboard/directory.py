"""Who is who on a page: agent ids as the owner named them, with their rank.

Pages show agents by name (ids are for machines); a booking or approval can name an
agent that was revoked since, so the lookup keeps every agent the owner has.
"""

from __future__ import annotations

from typing import Any

from ..routes import owner_agents
from ..schemas import DashboardAgentOut


def agents_by_id(coord: Any, session: Any) -> dict[str, DashboardAgentOut]:
    """The owner's agents (revoked ones too) by id, from the JSON API's list."""
    return {a.agent_id: a for a in owner_agents.list_agents(session, coord)}


def agent_names(agents: dict[str, DashboardAgentOut]) -> dict[str, str]:
    return {a.agent_id: a.name for a in agents.values()}
