"""The state of one calendar: every key under its prefix, byte for byte (DUMP), except
hashes and sets, compared by content (tests/support/dump.py says why).

A refused or failed transition must leave this unchanged; comparing two snapshots
proves it without knowing which keys a script might have touched.
"""

from __future__ import annotations

from coordinator import Coordinator
from tests.support.dump import dump_keys


def calendar_dump(coord: Coordinator, user_id: str, *, buckets: bool = True) -> dict[str, bytes]:
    """Every key of ``user_id``'s calendar, with its value as
    :func:`~tests.support.dump.picture` gives it (DUMP, or a hash's or set's content);
    ``buckets=False`` leaves the agents' token buckets out (a call spends a token
    before most refusals)."""
    prefix = coord.store.keys.prefix(user_id)
    return dump_keys(
        coord.redis, prefix.replace("{", "\\{").replace("}", "\\}") + "*", buckets=buckets
    )


def changed_keys(before: dict[str, bytes], after: dict[str, bytes]) -> list[str]:
    """The keys added, removed or changed between two snapshots."""
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
