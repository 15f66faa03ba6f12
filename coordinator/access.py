"""Every agent call starts here: is the key live, does it carry the scope, is there a token.

Writes and the availability read make these checks inside their own script; the
reads that are plain Redis reads (audit, ``agents.me``, rules as an agent sees
them) call ``authorize.lua`` first. Either way the check runs on every call, so a
rotated or revoked key, a removed scope or an empty bucket takes effect at once in
every process. The replies map to one set of errors here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import AgentDraftError, AuthError, RateLimited
from .store.errors import store_errors
from .store.handle import Store

AVAILABILITY_READ = "availability:read"
BOOKINGS_READ = "bookings:read"
BOOKINGS_WRITE = "bookings:write"
RULES_READ = "rules:read"
APPROVALS_REQUEST = "approvals:request"
MAILBOX_READ = "mailbox:read"
MAILBOX_WRITE = "mailbox:write"
#: Any live key may ask who it is.
ANY = ""

ACCESS_CODES = frozenset({"unauthorized", "agent_unknown", "insufficient_scope", "rate_limited"})


def access_error(reply: dict[str, Any]) -> AgentDraftError | None:
    """The typed error for a refused key, scope or token; None for any other reply."""
    code = reply.get("error")
    if code in ("unauthorized", "agent_unknown"):
        return AuthError("API key is unknown, rotated or revoked", error="unauthorized")
    if code == "insufficient_scope":
        scope = reply.get("scope")
        return AuthError(
            f"this API key lacks the scope {scope!r}; the owner can grant it",
            error="insufficient_scope",
            required_scope=scope,
        )
    if code == "rate_limited":
        wait = int(reply.get("retry_after_ms") or 1000)
        return RateLimited(
            f"rate limit reached for this API key; retry in {wait} ms", retry_after_ms=wait
        )
    return None


def authorize(store: Store, user_id: str, agent_id: str, key_hash: str, scope: str) -> None:
    """Check the key and scope and take a token, or raise the typed error."""
    with store_errors("authorize"):
        reply = store.calls.authorize(
            user_id=user_id, agent_id=agent_id, key_hash=key_hash, scope=scope, limits=store.limits
        )
    if reply["r"] != "ok":
        raise access_error(reply) or AgentDraftError(f"unexpected reply {reply!r}")


@dataclass(frozen=True)
class CallerContext:
    """One agent's calls: whose calendar, which agent, the key it proved, the store.

    ``coord.client(api_key)`` checks the key once and builds this; each client
    façade (bookings, availability, approvals, proposals, …) is given it at
    construction, so none reaches back into the coordinator. The key is still
    checked again on every call (by the call's own script, or :meth:`authorize`).
    """

    user_id: str
    agent_id: str
    #: SHA-256 of the agent's API key, as the agent record stores it.
    key_hash: str
    store: Store

    def authorize(self, scope: str) -> None:
        """Check the key and ``scope`` and take a rate-limit token, or raise."""
        authorize(self.store, self.user_id, self.agent_id, self.key_hash, scope)
