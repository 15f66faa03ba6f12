"""A byte-for-byte picture of a Redis keyspace, to prove a refused call wrote nothing."""

from __future__ import annotations

from typing import Any


def dump_keys(redis: Any, pattern: str, *, skip: tuple[str, ...] = ()) -> dict[str, bytes]:
    """``{key: DUMP}`` for every key matching ``pattern`` on every primary.

    Keys containing any of ``skip`` are left out (a rate limiter's token bucket, say,
    which a request may spend before it is refused).
    """
    if hasattr(redis, "get_primaries"):
        keys = {
            k
            for node in redis.get_primaries()
            for k in redis.scan_iter(match=pattern, target_nodes=node)
        }
    else:
        keys = set(redis.scan_iter(match=pattern))
    dumps = {k: redis.dump(k) for k in sorted(keys) if not any(s in k for s in skip)}
    # A key that expired between the scan and its DUMP is not part of the picture.
    return {k: v for k, v in dumps.items() if v is not None}
