"""The one small handle every registry holds: the Redis client, keys, scripts, limits, settings.

The bookings state machine, the owner/agent/rules/approval registries, the audit log
and the proposal service all talk to the same Redis through the same key layout and
the same registered scripts. Passing this handle (rather than the bookings class)
keeps each of them importable on its own, with no cycle back to the bookings module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from coordinator.ratelimit import RateLimit
from coordinator.ruleset import SnapshotCache
from coordinator.settings import Settings
from coordinator.store.calls import Calls
from coordinator.store.durability import Durability
from coordinator.store.keys import Keys
from coordinator.store.scripts import Scripts


@dataclass(frozen=True)
class Store:
    """One Redis as the coordinator uses it."""

    #: A redis-py client (plain or cluster) with text responses.
    redis: Any
    settings: Settings
    keys: Keys
    scripts: Scripts
    #: The default token bucket of every key, as the scripts take it.
    limits: dict[str, Any]
    #: The last rules snapshot seen per owner, shared by every thread of a coordinator;
    #: the scripts catch a stale one.
    rules_cache: SnapshotCache
    #: When a booking write is acknowledged (settings.durability on this server).
    durability: Durability
    #: The scripts called by name with named arguments (the only KEYS/ARGV packer).
    calls: Calls

    @classmethod
    def open(cls, client: Any, settings: Settings) -> Store:
        """Register the scripts on ``client`` and lay out keys under the settings' namespace."""
        keys = Keys(settings.namespace)
        scripts = Scripts.register(client)
        return cls(
            redis=client,
            settings=settings,
            keys=keys,
            scripts=scripts,
            limits=RateLimit(settings.rate_limit_per_second, settings.rate_limit_burst).as_arg(),
            rules_cache=SnapshotCache(),
            durability=Durability.prepare(
                client, settings.durability, settings.durability_timeout_ms
            ),
            calls=Calls(scripts, keys),
        )

    def server_now_ms(self, user_id: str) -> int:
        """The Redis server's clock (the one the scripts judge by), from the calendar's node."""
        r = self.redis
        if hasattr(r, "get_node_from_key"):
            secs, micros = r.time(target_nodes=r.get_node_from_key(self.keys.owner(user_id)))
        else:
            secs, micros = r.time()
        return int(secs) * 1000 + int(micros) // 1000

    def acknowledge(self, user_id: str) -> None:
        """Wait until the calendar's writes so far are as durable as settings.durability says."""
        if self.durability.wait is not None:  # "fast": nothing to wait for
            self.durability.acknowledge(self.redis, self.keys.durability_marker(user_id))


__all__ = ["Store"]
