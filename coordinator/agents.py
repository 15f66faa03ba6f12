"""Agents and their API keys.

A key is ``avs_live_`` plus 256 bits of randomness, shown once and stored only
as its SHA-256. The key index (hash → owner, agent) is untagged because it is
read before the calendar is known; the agent record lives under the owner's
tag so the booking scripts can check the key and read the live priority in
the same atomic step.

Rotating, revoking and re-ranking change only that record (one script each,
audited), and every call's script reads it, so the change decides the very next
call in every process: there is no grace period and no cache to expire.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import secrets
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from .buckets import from_ms
from .errors import AgentDraftError, AuthError, NotFound, ValidationError
from .ids import new_id
from .inputs import check_chars, is_id
from .models import ALL_SCOPES, Agent, AgentCreated
from .ratelimit import check_burst, check_per_second
from .replies import About, refusal
from .signatures import AgentSigningKeys
from .store.errors import store_errors
from .store.handle import Store

KEY_PREFIX = "avs_live_"
AgentOp = Literal["rotate", "revoke", "unrevoke", "rate_limit"]
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

    def __init__(self, store: Store) -> None:
        self._store = store

    def create(
        self,
        user_id: str,
        *,
        name: str,
        priority: int | None = None,
        scopes: Iterable[str] = ALL_SCOPES,
        rate_limit_per_second: float | None = None,
        rate_limit_burst: int | None = None,
    ) -> AgentCreated:
        """Register an agent for ``user_id``; ``priority`` 1 is the most trusted.

        Without a priority the agent ranks below every existing one. The returned
        ``api_key`` is the only copy: it is stored as a hash. Rate limits left as
        None follow the coordinator's defaults (60 requests/s, burst 600).
        """
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
            raise ValidationError("name", f"must be 1..{MAX_NAME} characters")
        check_chars(name, "name")
        sc = _check_scopes(scopes)
        rate = None if rate_limit_per_second is None else check_per_second(rate_limit_per_second)
        burst = None if rate_limit_burst is None else check_burst(rate_limit_burst)
        r = self._store.redis
        k = self._store.keys
        if priority is None:
            with store_errors("agents.create"):
                worst = r.zrange(k.agents(user_id), -1, -1, withscores=True)
            priority = int(worst[0][1]) + 1 if worst else 1
        if (
            isinstance(priority, bool)
            or not isinstance(priority, int)
            or not 1 <= priority <= 10_000
        ):
            raise ValidationError("priority", "must be an integer from 1 (highest) to 10000")
        agent_id = new_id("agt")
        api_key = new_key()
        kh = hash_key(api_key)
        record = {"name": name, "user_id": user_id, "scopes": list(sc)}
        with store_errors("agents.create"):
            reply = self._store.calls.create_agent(
                user_id=user_id,
                agent_id=agent_id,
                record=record,
                priority=priority,
                key_hash=kh,
                scopes=sc,
                rate=rate,
                burst=burst,
            )
            if reply["r"] != "ok":
                raise refusal("agent", reply, About(user_id, agent_id))
            r.set(k.api_key(kh), json.dumps({"user_id": user_id, "agent_id": agent_id}))
            r.set(k.agent_index(agent_id), user_id)
        a = reply["agent"]
        jwk = AgentSigningKeys(self._store).issue(user_id, agent_id, keep_old=False)
        return AgentCreated(
            agent_id=agent_id,
            user_id=user_id,
            name=name,
            priority=priority,
            scopes=sc,
            created_at=from_ms(a["created_ms"]),
            api_key=api_key,
            private_jwk=jwk,
            rate_limit_per_second=rate,
            rate_limit_burst=burst,
        )

    def get(self, user_id: str, agent_id: str) -> Agent:
        r = self._store.redis
        k = self._store.keys
        with store_errors("agents.get"):
            raw, status, rate, burst = r.hmget(
                k.agent(user_id, agent_id), ["json", "status", "rl_rate", "rl_burst"]
            )
            prio = r.zscore(k.agents(user_id), agent_id)
        if raw is None:
            raise NotFound(f"no agent {agent_id} for owner {user_id}", error="agent_not_found")
        rec = json.loads(raw)
        return Agent(
            agent_id=agent_id,
            user_id=user_id,
            name=rec["name"],
            priority=int(prio) if prio is not None else int(rec["priority"]),
            scopes=tuple(rec["scopes"]),
            status=status or "active",
            created_at=from_ms(rec["created_ms"]),
            rate_limit_per_second=float(rate) if rate else None,
            rate_limit_burst=int(burst) if burst else None,
        )

    def list(self, user_id: str) -> list[Agent]:
        """The owner's agents, best priority first."""
        with store_errors("agents.list"):
            ids = self._store.redis.zrange(self._store.keys.agents(user_id), 0, -1)
        return [self.get(user_id, a) for a in ids]

    def authenticate(self, api_key: str) -> tuple[str, str, str]:
        """``(user_id, agent_id, key_hash)`` for a live key, else :class:`AuthError`."""
        if not isinstance(api_key, str) or not api_key.startswith(KEY_PREFIX):
            raise AuthError(f"api_key must start with {KEY_PREFIX!r}")
        kh = hash_key(api_key)
        r = self._store.redis
        k = self._store.keys
        with store_errors("authenticate"):
            raw = r.get(k.api_key(kh))
            if raw is None:
                raise AuthError("API key is unknown, rotated or revoked")
            ids = json.loads(raw)
            stored, status = r.hmget(
                k.agent(ids["user_id"], ids["agent_id"]), ["key_hash", "status"]
            )
        if stored != kh or status != "active":
            raise AuthError("API key is unknown, rotated or revoked")
        return ids["user_id"], ids["agent_id"], kh

    # -- keys, standing and rank ------------------------------------------------------

    def owner_of(self, agent_id: str) -> str:
        """The owner an agent acts for, from the untagged agent index."""
        if not is_id(agent_id, prefix="agt_"):
            raise ValidationError("agent_id", "must be an agent id such as agt_…")
        with store_errors("agents.owner_of"):
            user_id = self._store.redis.get(self._store.keys.agent_index(agent_id))
        if user_id is None:
            raise NotFound(f"no agent {agent_id}", error="agent_not_found")
        return str(user_id)

    def _update(self, agent_id: str, op: AgentOp, **args: Any) -> tuple[str, dict[str, Any]]:
        user_id = self.owner_of(agent_id)
        with store_errors(f"agents.{op}"):
            reply = self._store.calls.agent_update(
                user_id=user_id, agent_id=agent_id, op=op, **args
            )
        if reply["r"] == "ok":
            return user_id, reply
        raise refusal("agent", reply, About(user_id, agent_id, "", op))

    def _new_key(self, agent_id: str, op: Literal["rotate", "unrevoke"]) -> AgentCreated:
        """Rotate or unrevoke: mint a key, switch the record to it, retire the old index."""
        user_id = self.owner_of(agent_id)
        api_key = new_key()
        kh = hash_key(api_key)
        r = self._store.redis
        k = self._store.keys
        with store_errors(f"agents.{op}"):
            # Index first: a crash after it leaves an entry the record does not honour.
            r.set(k.api_key(kh), json.dumps({"user_id": user_id, "agent_id": agent_id}))
        try:
            _, reply = self._update(agent_id, op, key_hash=kh)
        except AgentDraftError:
            with store_errors(f"agents.{op}"):
                r.delete(k.api_key(kh))
            raise
        with store_errors(f"agents.{op}"):
            r.delete(k.api_key(reply["old_key_hash"]))
        jwk = AgentSigningKeys(self._store).issue(user_id, agent_id, keep_old=op == "rotate")
        a = self.get(user_id, agent_id)
        return AgentCreated(**a.model_dump(), api_key=api_key, private_jwk=jwk)

    def rotate(self, agent_id: str) -> AgentCreated:
        """A new key for an active agent; the old one fails from its next call on."""
        return self._new_key(agent_id, "rotate")

    def revoke(self, agent_id: str) -> Agent:
        """Stop the agent's key at once; the agent's record and bookings stay."""
        user_id, reply = self._update(agent_id, "revoke")
        with store_errors("agents.revoke"):
            self._store.redis.delete(self._store.keys.api_key(reply["old_key_hash"]))
        AgentSigningKeys(self._store).remove(user_id, agent_id)
        return self.get(user_id, agent_id)

    def unrevoke(self, agent_id: str) -> AgentCreated:
        """Reinstate a revoked agent with a newly minted key (the old key stays dead)."""
        return self._new_key(agent_id, "unrevoke")

    def rerank(self, user_id: str, agent_ids: Sequence[str]) -> builtins.list[Agent]:
        """Rank the owner's agents: ``agent_ids`` best first get priorities 1, 2, ….

        Agents left out follow, in their current order. Priority is read live by
        every claim, so the new ranking decides the next call in every process.
        Bumps ``rules_version`` and appends an ``agents.reranked`` audit entry.
        """
        if isinstance(agent_ids, str) or not isinstance(agent_ids, Sequence) or not agent_ids:
            raise ValidationError("agent_ids", "must be a non-empty list of agent ids, best first")
        ids = list(agent_ids)
        if len(set(ids)) != len(ids) or not all(is_id(a, prefix="agt_") for a in ids):
            raise ValidationError("agent_ids", "must name each agent once, by id (agt_…)")
        with store_errors("agents.rerank"):
            reply = self._store.calls.rerank(user_id=user_id, agent_ids=ids)
        if reply["r"] != "ok":
            raise refusal("rerank", reply, About(user_id))
        return self.list(user_id)

    def set_rate_limit(
        self, agent_id: str, *, per_second: float | None = None, burst: int | None = None
    ) -> Agent:
        """Give one agent its own token bucket (None: back to the coordinator's default)."""
        rate = "" if per_second is None else check_per_second(per_second, "per_second")
        size = "" if burst is None else check_burst(burst, "burst")
        user_id, _ = self._update(agent_id, "rate_limit", rate=rate, burst=size)
        return self.get(user_id, agent_id)
