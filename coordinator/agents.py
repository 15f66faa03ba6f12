"""Agents and their API keys.

A key is ``avs_live_`` plus 256 bits of randomness, shown once and stored only
as its SHA-256. The key index (hash → owner, agent) is untagged because it is
read before the calendar is known; the agent record lives under the owner's
tag so the booking scripts can check the key and read the live priority in
the same atomic step.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable

from .buckets import from_ms
from .engine import Engine, new_id, store_errors
from .errors import AuthError, NotFound, ValidationError
from .models import ALL_SCOPES, Agent, AgentCreated

KEY_PREFIX = "avs_live_"
MAX_NAME = 100


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def _check_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    if isinstance(scopes, str):
        raise ValidationError("scopes", "must be a list of scope names, not one string")
    out = tuple(scopes)
    unknown = [s for s in out if s not in ALL_SCOPES]
    if unknown:
        raise ValidationError("scopes", f"unknown scope(s) {unknown}; known: {list(ALL_SCOPES)}")
    return out


class Agents:
    """Create agents, and resolve API keys to them."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(
        self,
        user_id: str,
        *,
        name: str,
        priority: int | None = None,
        scopes: Iterable[str] = ALL_SCOPES,
    ) -> AgentCreated:
        """Register an agent for ``user_id``; ``priority`` 1 is the most trusted.

        Without a priority the agent ranks below every existing one. The returned
        ``api_key`` is the only copy: it is stored as a hash.
        """
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
            raise ValidationError("name", f"must be 1..{MAX_NAME} characters")
        sc = _check_scopes(scopes)
        r = self._engine.redis
        k = self._engine.keys
        if priority is None:
            with store_errors("agents.create"):
                worst = r.zrange(k.agents(user_id), -1, -1, withscores=True)
            priority = int(worst[0][1]) + 1 if worst else 1
        if isinstance(priority, bool) or not isinstance(priority, int) \
                or not 1 <= priority <= 10_000:
            raise ValidationError("priority", "must be an integer from 1 (highest) to 10000")
        agent_id = new_id("agt")
        api_key = new_key()
        kh = hash_key(api_key)
        record = {"name": name, "user_id": user_id, "scopes": list(sc)}
        with store_errors("agents.create"):
            reply = json.loads(self._engine.scripts.create_agent(
                keys=[k.owner(user_id), k.agents(user_id), k.agent(user_id, agent_id),
                      k.audit(user_id)],
                args=[agent_id, json.dumps(record), priority, kh],
            ))
            if reply["r"] != "ok":
                raise NotFound(f"no owner {user_id}", error="owner_not_found")
            r.set(k.api_key(kh), json.dumps({"user_id": user_id, "agent_id": agent_id}))
        a = reply["agent"]
        return AgentCreated(
            agent_id=agent_id, user_id=user_id, name=name, priority=priority, scopes=sc,
            created_at=from_ms(a["created_ms"]), api_key=api_key,
        )

    def get(self, user_id: str, agent_id: str) -> Agent:
        r = self._engine.redis
        k = self._engine.keys
        with store_errors("agents.get"):
            raw, status = r.hmget(k.agent(user_id, agent_id), ["json", "status"])
            prio = r.zscore(k.agents(user_id), agent_id)
        if raw is None:
            raise NotFound(f"no agent {agent_id} for owner {user_id}", error="agent_not_found")
        rec = json.loads(raw)
        return Agent(
            agent_id=agent_id, user_id=user_id, name=rec["name"],
            priority=int(prio) if prio is not None else int(rec["priority"]),
            scopes=tuple(rec["scopes"]), status=status or "active",
            created_at=from_ms(rec["created_ms"]),
        )

    def list(self, user_id: str) -> list[Agent]:
        """The owner's agents, best priority first."""
        with store_errors("agents.list"):
            ids = self._engine.redis.zrange(self._engine.keys.agents(user_id), 0, -1)
        return [self.get(user_id, a) for a in ids]

    def authenticate(self, api_key: str) -> tuple[str, str, str]:
        """``(user_id, agent_id, key_hash)`` for a live key, else :class:`AuthError`."""
        if not isinstance(api_key, str) or not api_key.startswith(KEY_PREFIX):
            raise AuthError(f"api_key must start with {KEY_PREFIX!r}")
        kh = hash_key(api_key)
        r = self._engine.redis
        k = self._engine.keys
        with store_errors("authenticate"):
            raw = r.get(k.api_key(kh))
            if raw is None:
                raise AuthError("API key is unknown, rotated or revoked")
            ids = json.loads(raw)
            stored, status = r.hmget(k.agent(ids["user_id"], ids["agent_id"]),
                                     ["key_hash", "status"])
        if stored != kh or status != "active":
            raise AuthError("API key is unknown, rotated or revoked")
        return ids["user_id"], ids["agent_id"], kh
