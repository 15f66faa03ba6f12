"""Agents' display names, looked up by id so a refusal or a read can name who won.

The booking record keeps only the winner's agent id and priority; a person (or a
model) reading "agt_3f…" learns little, "recruiter (priority 1)" tells them who.
Names are read after the outcome is decided, one pipelined HGET per distinct agent,
and only where a sentence names another agent (a lost write, a displaced booking).
An agent's name never changes after it is created (there is no rename), so names
found are kept per process: a calendar's repeated losses to the same winner cost
no round trip after the first.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from .store.errors import store_errors
from .store.handle import Store

#: Names found, by (namespace, calendar, agent id); cleared when it grows past the bound.
_KNOWN: dict[tuple[str, str, str], str] = {}
_MAX_KNOWN = 10_000


def agent_names(store: Store, user_id: str, agent_ids: Iterable[str | None]) -> dict[str, str]:
    """``{agent_id: name}`` for the ids given that are agents of ``user_id``'s calendar.

    An id that names no agent (removed, or a connector's event) is left out, so callers
    fall back to the id.
    """
    space = store.keys.namespace
    out: dict[str, str] = {}
    ids = []
    for agent_id in dict.fromkeys(i for i in agent_ids if i):
        known = _KNOWN.get((space, user_id, agent_id))
        if known is None:
            ids.append(agent_id)
        else:
            out[agent_id] = known
    if not ids:
        return out
    with store_errors("agent names"):
        pipe = store.redis.pipeline(transaction=False)
        for agent_id in ids:
            pipe.hget(store.keys.agent(user_id, agent_id), "json")
        raws = pipe.execute()
    if len(_KNOWN) > _MAX_KNOWN:
        _KNOWN.clear()
    for agent_id, raw in zip(ids, raws, strict=True):
        name = json.loads(raw).get("name") if raw else None
        if isinstance(name, str) and name:
            out[agent_id] = _KNOWN[(space, user_id, agent_id)] = name
    return out
