"""A byte-for-byte picture of a Redis keyspace, to prove a refused call wrote nothing."""

from __future__ import annotations

from typing import Any

#: An agent hash's token-bucket fields (coordinator/lua/_access.lua): every keyed call
#: spends from them, a refused one too (the key and the bucket are checked first).
BUCKET_FIELDS = frozenset({"rl_tokens", "rl_ts"})


def picture(redis: Any, key: Any, *, buckets: bool = True) -> bytes | None:
    """One key's value as a snapshot compares it (None: the key is gone).

    Its DUMP, except for hashes and sets: theirs follows the order of a hash table that
    incremental rehashing reorders (a read can take a rehash step, an agent hash grows
    into one once its token bucket is written), so they are pictured by content, sorted.
    ``buckets=False`` leaves an agent hash's token bucket out (:data:`BUCKET_FIELDS`).
    """
    kind = _text(redis.type(key))
    if kind == "hash":
        drop = BUCKET_FIELDS if not buckets and ":agent:" in _text(key) else frozenset()
        fields = sorted(
            (_text(k), _text(v)) for k, v in redis.hgetall(key).items() if _text(k) not in drop
        )
        return b"hash " + repr(fields).encode()
    if kind == "set":
        return b"set " + repr(sorted(_text(m) for m in redis.smembers(key))).encode()
    if kind == "none":
        return None
    value: bytes | None = redis.dump(key)
    return value


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def dump_keys(
    redis: Any, pattern: str, *, skip: tuple[str, ...] = (), buckets: bool = True
) -> dict[str, bytes]:
    """``{key: picture}`` (:func:`picture`) for every key matching ``pattern`` on every
    primary.

    Keys containing any of ``skip`` are left out (the proposal timer's wake-up list,
    say, which a background thread pops); ``buckets=False`` leaves the agents' token
    buckets out.
    """
    if hasattr(redis, "get_primaries"):
        keys = {
            k
            for node in redis.get_primaries()
            for k in redis.scan_iter(match=pattern, target_nodes=node)
        }
    else:
        keys = set(redis.scan_iter(match=pattern))
    dumps = {
        k: picture(redis, k, buckets=buckets) for k in sorted(keys) if not any(s in k for s in skip)
    }
    # A key that expired between the scan and its picture is not part of the picture.
    return {k: v for k, v in dumps.items() if v is not None}
