"""When each agent last did something: the newest audit entry naming it.

Entries the owner caused about an agent (``agent.created``, ``agent.revoked`` …) are
not the agent's activity and are skipped.

A read of the newest entries of the calendar's audit stream (``XREVRANGE``), not a
second record: an agent quiet for longer than the last ``LAST_ACTIVITY_SCAN`` entries
shows "not recently".
"""

from __future__ import annotations

from datetime import datetime

from ...buckets import from_ms
from ...coordinator import Coordinator
from ...store.errors import store_errors

LAST_ACTIVITY_SCAN = 1000
#: Audit types the owner's own actions write (``agent.*``, ``agents.*``).
OWNER_ACTIONS = ("agent.", "agents.")


def last_activity(coord: Coordinator, user_id: str) -> dict[str, datetime]:
    """Agent id → time of the newest audit entry that names it."""
    key = coord.store.keys.audit(user_id)
    with store_errors("dashboard.last_activity"):
        rows = coord.redis.xrevrange(key, count=LAST_ACTIVITY_SCAN)
    out: dict[str, datetime] = {}
    for entry_id, fields in rows:
        agent_id = fields.get("agent_id")
        if fields.get("type", "").startswith(OWNER_ACTIONS):
            continue
        if agent_id and agent_id not in out:
            out[agent_id] = from_ms(int(fields.get("ts") or str(entry_id).split("-")[0]))
    return out
