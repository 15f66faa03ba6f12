"""When a write is acknowledged: once Redis ran it, once it is fsynced, or once a replica has it.

Redis answers a script as soon as it ran in memory. That is the ``fast`` mode, and
what a crash can cost depends on the server: the embedded engine fsyncs its
append-only file every second, and a replica that is promoted after its primary
dies may not have the last writes (replication is asynchronous). Two stricter
modes make the coordinator wait before it answers a booking:

* ``local``: the write is in the primary's append-only file on disk
  (``WAITAOF 1 0``, Redis 7.2+ / Valkey). On an older server it is accepted only
  when the server already fsyncs every write (``appendfsync always``), which the
  embedded engine then switches on.
* ``replicated``: at least one replica has the write (``WAIT 1``), so promoting
  that replica after the primary dies loses no acknowledged booking.

``WAIT``/``WAITAOF`` count the writes of the connection they are sent on, and a
pooled client may run the script and the wait on different connections. So the
wait follows a write of its own (a marker key in the calendar's hash slot, on the
same connection, in one round trip): the server applies and replicates the
calendar's writes in order, so once the marker is on a replica (or on disk), so
is the script that ran before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis.exceptions as rex

from coordinator.errors import StoreUnavailable, ValidationError
from coordinator.settings import DURABILITY_MODES
from coordinator.store.errors import STORE_ERRORS, unavailable

#: How many replicas must have a write in ``replicated`` mode.
REPLICAS = 1


@dataclass(frozen=True)
class Durability:
    """How this coordinator acknowledges writes on this server (see the module docstring)."""

    mode: str
    #: The wait sent after each write, or None when nothing needs waiting for.
    wait: tuple[str | int, ...] | None = None

    @classmethod
    def prepare(cls, client: Any, mode: str, timeout_ms: int) -> Durability:
        """Check the server can honour ``mode`` and choose the command that waits for it.

        Raises ``ValidationError("durability", …)`` when it cannot (no append-only
        file for ``local``, no fsync guarantee on a server without ``WAITAOF``).
        """
        if mode not in DURABILITY_MODES:
            raise ValidationError("durability", f"must be one of {', '.join(DURABILITY_MODES)}")
        if mode == "fast":
            return cls(mode)
        if mode == "replicated":
            return cls(mode, ("WAIT", REPLICAS, timeout_ms))
        config = _config(client)
        if config.get("appendonly") != "yes":
            raise ValidationError(
                "durability", "'local' needs the server's append-only file (appendonly yes)"
            )
        if _has_waitaof(client):
            return cls(mode, ("WAITAOF", 1, 0, timeout_ms))
        if config.get("appendfsync") == "always":
            return cls(mode)  # every write is fsynced before its reply already
        raise ValidationError(
            "durability",
            "'local' needs WAITAOF (Redis 7.2+ or Valkey) or appendfsync always on the server",
        )

    def acknowledge(self, client: Any, marker_key: str) -> None:
        """Return once the writes before this call are as durable as the mode promises.

        ``marker_key`` is a key in the hash slot of the calendar just written (the
        wait must run on the node that holds it). Raises ``StoreUnavailable`` when
        the server does not confirm in time: the write stands on the primary but
        its durability is unknown, so the caller must treat the outcome as unknown.
        """
        if self.wait is None:
            return
        if _is_cluster(client):  # the node of the calendar's slot, one connection
            client = client.get_node_from_key(marker_key).redis_connection
        pipe = client.pipeline(transaction=False)
        pipe.set(marker_key, "1")
        pipe.execute_command(*self.wait)
        try:
            _, reply = pipe.execute()
        except STORE_ERRORS as exc:
            raise unavailable(exc, f"durability '{self.mode}'") from exc
        except rex.ResponseError as exc:
            raise StoreUnavailable.during(f"durability '{self.mode}'", exc) from exc
        confirmed = reply[0] >= 1 if self.wait[0] == "WAITAOF" else int(reply) >= REPLICAS
        if not confirmed:
            raise StoreUnavailable.during(
                f"durability '{self.mode}'",
                f"{self.wait[0]} was not confirmed within {self.wait[-1]} ms",
            )


def fsync_every_write(client: Any) -> None:
    """Make the embedded engine honour ``local`` where it has no ``WAITAOF`` (Redis < 7.2).

    With ``appendfsync always`` the server fsyncs each write before it replies, so
    every acknowledged write is on disk. It applies to every user of that engine.
    """
    if not _has_waitaof(client) and _config(client).get("appendfsync") != "always":
        client.config_set("appendfsync", "always")


def _is_cluster(client: Any) -> bool:
    return hasattr(client, "get_node_from_key")


def _ask(client: Any, method: str, *args: Any) -> Any:
    """Call ``method`` on the server (on one primary of a cluster: they share a config)."""
    if _is_cluster(client):
        return getattr(client, method)(*args, target_nodes=client.get_primaries()[0])
    return getattr(client, method)(*args)


def _config(client: Any) -> dict[str, str]:
    """The server's ``append*`` settings (empty where CONFIG is disabled)."""
    try:
        values = _ask(client, "config_get", "append*")
    except rex.ResponseError:
        return {}
    return {str(k): str(v) for k, v in values.items()}


def _has_waitaof(client: Any) -> bool:
    """``WAITAOF`` came with Redis 7.2; every Valkey release has it."""
    info = _ask(client, "info", "server")
    if "valkey_version" in info:
        return True
    version = tuple(int(p) for p in str(info.get("redis_version", "0.0")).split(".")[:2])
    return version >= (7, 2)


__all__ = ["Durability", "fsync_every_write"]
