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

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..models import AuditProblem, AuditVerification
from ..store.errors import store_errors
from ..store.handle import Store
from .archive import read_segments
from .chain import GENESIS, ChainWalk, Entry
from .checkpoints import Checkpoint, SigningKey, check, overdue
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


@dataclass
class History:
    """The entries to walk: archived segments (if given) then the stream."""

    entries: list[Entry]
    start_prev: str = GENESIS
    base: int = 0
    problems: list[AuditProblem] = field(default_factory=list)

    @classmethod
    def read(
        cls,
        store: Store,
        user_id: str,
        stream: Iterable[Entry],
        archive: str | os.PathLike[str] | None,
    ) -> History:
        with store_errors("audit verify"):
            marker = store.redis.hgetall(store.keys.prefix(user_id) + "audit-archived")
        if archive is None:
            # Without the archive the chain is checked from where the stream now starts.
            return cls(
                list(stream),
                start_prev=marker.get("last_hash", GENESIS),
                base=int(marker.get("entries") or 0),
            )
        archived, problems, start = read_segments(Path(archive), user_id)
        seen = {eid for eid, _ in archived}
        rest = [e for e in stream if e[0] not in seen]  # a crashed archive run overlaps
        return cls(archived + rest, start_prev=start, problems=problems)


def verify(
    store: Store,
    user_id: str,
    history: History,
    checkpoints: list[Checkpoint],
    key: SigningKey | None,
    *,
    policy: tuple[int, int | None] = (0, None),
    grace_ms: int = 300_000,
) -> AuditVerification:
    """Walk the history and check the calendar's stored state and checkpoints against it.

    ``policy`` is the calendar's (checkpoint_every, checkpoint_from): with checkpoints
    in the write path on, an entry that fell due more than ``grace_ms`` ago must be
    covered by a checkpoint that holds.
    """
    base, start_prev = history.base, history.start_prev
    walk = ChainWalk(start_prev=start_prev, base=base)
    replay = Replay()
    every, due_from = policy
    due: list[tuple[int, str, int]] = []
    for e in history.entries:
        walk.feed((e,))
        replay.feed((e,))
        position = walk.base + walk.entries
        if every and due_from is not None and position > due_from and position % every == 0:
            eid, fields = e
            due.append((position, eid, int(fields.get("ts") or eid.split("-")[0])))
    with store_errors("audit verify"):
        head = store.redis.hget(store.keys.owner(user_id), "audit_head")
    state = read_state(store, user_id)
    problems = history.problems + walk.problems + _head_problems(walk, head)
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
    signed, latest, covered = check(walk, checkpoints, key)
    problems += signed
    problems += overdue(due, covered, state.now_ms, grace_ms)
    return AuditVerification(
        user_id=user_id,
        entries=walk.entries + base,
        ok=not problems,
        head=head,
        problems=tuple(problems),
        bookings=len(state.records),
        complete=complete,
        checkpoint=latest,
    )
