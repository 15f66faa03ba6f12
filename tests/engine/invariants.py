"""Check the calendar invariant two independent ways: from Redis state, and by replaying audit.

Invariant: no two live bookings on one calendar share a 5-minute bucket.
"""

from __future__ import annotations

from typing import Any

from coordinator import Coordinator
from coordinator.buckets import BUCKETS_PER_DAY
from coordinator.store.records import expand_booking

CLAIMS = ("booking.committed", "hold.created")
ENDS = (
    "booking.evicted",
    "hold.invalidated",
    "hold.expired",
    "hold.promoted",
    "hold.replaced",
    "hold.released",
    "booking.cancelled",
)


def _records(coord: Coordinator, user_id: str) -> dict[str, dict[str, Any]]:
    raw = coord.redis.hgetall(coord.store.keys.bookings(user_id))
    return {k: expand_booking(k, v) for k, v in raw.items()}


def _server_ms(coord: Coordinator, user_id: str) -> int:
    # TIME on the node that owns this calendar's slot (matters only on a cluster).
    secs, micros = (
        coord.redis.execute_command("TIME")
        if not hasattr(coord.redis, "get_nodes")
        else coord.redis.time(
            target_nodes=coord.redis.get_node_from_key(coord.store.keys.owner(user_id))
        )
    )
    return int(secs) * 1000 + int(micros) // 1000


def live_from_state(coord: Coordinator, user_id: str) -> dict[str, tuple[int, int]]:
    """Live bookings according to Redis, after checking bucket ownership both ways."""
    recs = _records(coord, user_id)
    now = _server_ms(coord, user_id)
    live = {
        bid: r
        for bid, r in recs.items()
        if r["status"] == "COMMITTED" or (r["status"] == "HOLD" and r["expires_ms"] > now)
    }
    days = {
        b // BUCKETS_PER_DAY
        for r in recs.values()
        for b in range(r["cover_first"], r["cover_last"])
    }
    owner_of: dict[int, str] = {}
    for day in days:
        for field, bid in coord.redis.hgetall(coord.store.keys.day(user_id, day)).items():
            owner_of[day * BUCKETS_PER_DAY + int(field)] = bid
    for bid, r in live.items():
        for b in range(r["cover_first"], r["cover_last"]):
            assert owner_of.get(b) == bid, f"bucket {b} of live {bid} belongs to {owner_of.get(b)}"
    for b, bid in owner_of.items():
        r = recs.get(bid)
        assert r is not None, f"bucket {b} points at unknown booking {bid}"
        assert r["cover_first"] <= b < r["cover_last"], f"bucket {b} outside {bid}'s cover"
        assert r["status"] in ("COMMITTED", "HOLD"), f"bucket {b} held by ended {bid}"
    return {bid: (r["cover_first"], r["cover_last"]) for bid, r in live.items()}


def live_from_audit(coord: Coordinator, user_id: str) -> dict[str, tuple[int, int]]:
    """Replay the audit stream, asserting that no claim ever overlapped a live booking."""
    live: dict[str, tuple[int, int]] = {}
    for e in coord.audit.range(user_id):
        f = e.fields
        if e.type in ENDS:
            live.pop(f["booking_id"], None)
        elif e.type in CLAIMS:
            lo, hi = (int(x) for x in f["cover"].split("-"))
            for other, (olo, ohi) in live.items():
                assert not (lo < ohi and olo < hi), (
                    f"audit {e.id}: {f['booking_id']} claimed buckets of live {other}"
                )
            live[f["booking_id"]] = (lo, hi)
    return live


def check_invariant(coord: Coordinator, user_id: str) -> dict[str, tuple[int, int]]:
    """Both views agree and neither shows a shared bucket; returns the live bookings."""
    from_state = live_from_state(coord, user_id)
    from_audit = live_from_audit(coord, user_id)
    # Holds whose TTL ran out without anyone touching them are live in the replay only.
    recs = _records(coord, user_id)
    from_audit = {
        b: c for b, c in from_audit.items() if b in from_state or recs[b]["status"] != "HOLD"
    }
    assert from_state == from_audit
    assert coord.audit.verify(user_id).ok
    return from_state
