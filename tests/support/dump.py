"""A byte-for-byte picture of a Redis keyspace, to prove a refused call wrote nothing."""

from __future__ import annotations

from typing import Any

#: An agent hash's token-bucket fields (coordinator/lua/_access.lua): every keyed call
#: spends from them, a refused one too (the key and the bucket are checked first).
BUCKET_FIELDS = frozenset({"rl_tokens", "rl_ts"})


def without_buckets(redis: Any, dumps: dict[str, bytes]) -> dict[str, bytes]:
    """``dumps`` with each agent hash (``...:agent:<id>``) stood in for by its fields
    less the token bucket, so a call that only spent a token changes nothing here."""
    out = dict(dumps)
    for key in dumps:
        if ":agent:" in str(key):
            fields = redis.hgetall(key)
            kept = sorted(
                (_text(k), _text(v)) for k, v in fields.items() if _text(k) not in BUCKET_FIELDS
            )
            out[key] = repr(kept).encode()
    return out


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def dump_keys(
    redis: Any, pattern: str, *, skip: tuple[str, ...] = (), buckets: bool = True
) -> dict[str, bytes]:
    """``{key: DUMP}`` for every key matching ``pattern`` on every primary.

    Keys containing any of ``skip`` are left out (the proposal timer's wake-up list,
    say, which a background thread pops); ``buckets=False`` leaves the agents' token
    buckets out (:func:`without_buckets`).
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
    found = {k: v for k, v in dumps.items() if v is not None}
    return found if buckets else without_buckets(redis, found)
