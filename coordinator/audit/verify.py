"""``audit verify``: the chain is intact, and the state Redis holds is the one it implies.

Four layers, each catching what the one before cannot:

1. The hash chain (chain.py): an edited, deleted, inserted or reordered entry, or a
   tail cut off after the owner's recorded head.
2. The replay (replay.py): every booking record and every bucket of the index is
   exactly what the history says; a record edited with HSET, a bucket deleted or
   planted, a booking without entries, a stream deleted while bookings exist.
3. The invariant: no two live bookings cover one bucket, judged on the stored records
   against the server clock (so it holds even where the history is incomplete).
4. Signed checkpoints (checkpoints.py): a chain rewritten end to end with recomputed
   hashes and a new head still has to match every checkpoint signed before it.

The replay runs only on a chain that is intact from genesis: once entries are missing
or reordered every later state difference is a consequence, and the chain problem is
the one to report.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..engine import Engine
from ..models import AuditProblem, AuditVerification
from ..store.errors import store_errors
from .chain import GENESIS, ChainWalk, Entry
from .replay import Replay, compare_buckets, compare_records, shared_buckets
from .state import read_state


def _head_problems(walk: ChainWalk, head: str | None) -> list[AuditProblem]:
    if walk.entries and head is None:
        return [
            AuditProblem(
                entry_id=walk.last_id,
                problem="missing_head",
                detail="owner record has no audit head",
            )
        ]
    if head is not None and head != walk.head:
        return [
            AuditProblem(
                entry_id=walk.last_id or "-",
                problem="head_mismatch",
                detail="the last entry is not the recorded head: entries were cut off the end",
            )
        ]
    return []


def verify(
    engine: Engine,
    user_id: str,
    entries: Iterable[Entry],
    *,
    start_prev: str = GENESIS,
    base: int = 0,
) -> AuditVerification:
    """Walk ``entries`` (oldest first, continuing from ``start_prev`` after ``base``
    earlier ones) and check the calendar's stored state against them."""
    walk = ChainWalk(start_prev=start_prev, base=base)
    replay = Replay()
    for e in entries:
        walk.feed((e,))
        replay.feed((e,))
    with store_errors("audit verify"):
        head = engine.redis.hget(engine.keys.owner(user_id), "audit_head")
    state = read_state(engine, user_id)
    problems = list(walk.problems) + _head_problems(walk, head)
    if state.owner_exists and walk.entries + base == 0:
        problems.append(
            AuditProblem(
                entry_id="-",
                problem="stream_missing",
                detail=f"the calendar exists with {len(state.records)} booking record(s) "
                "but its audit stream is empty or deleted",
            )
        )
    complete = start_prev == GENESIS
    if complete and not problems:
        problems += replay.problems
        problems += compare_records(replay, state.records)
        problems += compare_buckets(replay, state.buckets)
    problems += shared_buckets(state.records, state.now_ms)
    return AuditVerification(
        user_id=user_id,
        entries=walk.entries + base,
        ok=not problems,
        head=head,
        problems=tuple(problems),
        bookings=len(state.records),
        complete=complete,
    )
