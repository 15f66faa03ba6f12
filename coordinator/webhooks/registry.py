"""Webhook endpoints an owner registers: URL, secret, event types.

Endpoints live in the calendar's ``hooks`` hash, whose mere existence switches
the outbox on in the Lua scripts; the untagged ``hooks_owners`` set tells the
dispatcher which calendars' outboxes to read.
"""

from __future__ import annotations

import builtins
import json
import secrets
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from ..errors import NotFound, ValidationError
from ..ids import new_id
from ..inputs import check_chars, is_id, text
from ..store.errors import store_errors
from ..store.handle import Store
from .urls import check_webhook_url

EVENT_TYPES: tuple[str, ...] = (
    "booking.committed",
    "booking.evicted",
    "hold.invalidated",
    "booking.cancelled",
    "booking.external_conflict",
    "proposal.created",
    "proposal.responded",
    "proposal.confirmed",
    "proposal.cancelled",
    "proposal.expired",
    "booking.moved",
    "counter.created",
    "counter.accepted",
    "counter.rejected",
)


MAX_URL = 2000
MIN_SECRET, MAX_SECRET = 16, 200


class Endpoint(BaseModel):
    model_config = ConfigDict(frozen=True)
    endpoint_id: str
    user_id: str
    url: str
    events: tuple[str, ...]
    secret: str = Field(repr=False)


def _check_url(url: object) -> str:
    if not isinstance(url, str) or len(url) > MAX_URL:
        raise ValidationError("url", "must be an http(s) URL")
    check_chars(url, "url")
    return check_webhook_url(url)


def _check_events(events: Iterable[str] | None) -> tuple[str, ...]:
    if events is None:
        return EVENT_TYPES
    if isinstance(events, str):
        raise ValidationError("events", "must be a list of event types")
    out = tuple(events)
    for i, e in enumerate(out):
        if not isinstance(e, str):
            raise ValidationError(f"events[{i}]", "must be an event type (text)")
    unknown = [e for e in out if e not in EVENT_TYPES]
    if unknown or not out:
        raise ValidationError("events", f"unknown or empty {unknown}; known: {list(EVENT_TYPES)}")
    return out


class Webhooks:
    def __init__(self, store: Store) -> None:
        self._store = store

    def _hooks(self, user_id: str) -> str:
        return self._store.keys.prefix(user_id) + "hooks"

    def owners_key(self) -> str:
        return f"{self._store.keys.namespace}:hooks_owners"

    def register(
        self,
        user_id: str,
        url: str,
        *,
        events: Iterable[str] | None = None,
        secret: str | None = None,
    ) -> Endpoint:
        """Add an endpoint; the secret (generated unless given) signs every delivery.

        The URL must not point inside the deployment (:mod:`.urls`); it is checked
        again on every delivery.
        """
        url = _check_url(url)
        evs = _check_events(events)
        text(secret, "secret", min_len=MIN_SECRET, max_len=MAX_SECRET)
        r = self._store.redis
        with store_errors("webhooks.register"):
            if not r.exists(self._store.keys.owner(user_id)):
                raise NotFound(f"no owner {user_id}", error="owner_not_found")
            ep = Endpoint(
                endpoint_id=new_id("whe"),
                user_id=user_id,
                url=url,
                events=evs,
                secret=secret or "whsec_" + secrets.token_urlsafe(24),
            )
            r.hset(self._hooks(user_id), ep.endpoint_id, ep.model_dump_json())
            r.sadd(self.owners_key(), user_id)
        return ep

    def list(self, user_id: str) -> list[Endpoint]:
        with store_errors("webhooks.list"):
            raw = self._store.redis.hgetall(self._hooks(user_id))
        return [Endpoint(**json.loads(v)) for _, v in sorted(raw.items())]

    def delete(self, user_id: str, endpoint_id: str) -> None:
        if not is_id(endpoint_id, prefix="whe_"):
            raise NotFound(f"no webhook endpoint {endpoint_id!r}", error="not_found")
        with store_errors("webhooks.delete"):
            if not self._store.redis.hdel(self._hooks(user_id), endpoint_id):
                raise NotFound(f"no webhook endpoint {endpoint_id}", error="not_found")

    def owners(self) -> builtins.list[str]:
        with store_errors("webhooks.owners"):
            return sorted(self._store.redis.smembers(self.owners_key()))
