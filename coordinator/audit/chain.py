"""The SHA-1 hash chain of an audit stream: the hashed text and one walk over it.

Every entry is written by the same Lua script as the change it records, and
carries the SHA-1 of its own fields plus the previous entry's hash (SHA-1 is
the only digest Redis Lua offers). Re-walking the chain finds an edited entry
(its hash no longer matches) and a deleted or reordered one (the next entry's
``prev`` no longer matches). Someone able to rewrite the whole chain *and* the
head is caught only by a signed checkpoint (see checkpoints.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..models import AuditProblem

GENESIS = "genesis"

Entry = tuple[str, dict[str, str]]


def chain_text(prev: str, fields: dict[str, str]) -> str:
    """The exact text whose SHA-1 is an entry's ``hash`` (mirrors ``audit`` in _lib.lua)."""
    body = "".join(f"{k}={v}\n" for k, v in fields.items() if k not in ("prev", "hash"))
    return f"{prev}\n{body}prev={prev}\n"


def entry_hash(fields: dict[str, str]) -> str:
    """What an entry's ``hash`` must be, given its fields and its ``prev``."""
    text = chain_text(fields.get("prev", ""), fields)
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


@dataclass
class ChainWalk:
    """What one pass over the entries found: where each id sits and what it hashes to."""

    start_prev: str = GENESIS
    #: Entries before the first one walked (archived and trimmed away, not read).
    base: int = 0
    entries: int = 0
    last_id: str = ""
    head: str = GENESIS
    #: entry id -> (1-based position from genesis, stored hash), for checkpoints.
    positions: dict[str, tuple[int, str]] = field(default_factory=dict)
    problems: list[AuditProblem] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.head = self.start_prev

    def feed(self, entries: Iterable[Entry]) -> None:
        """Walk ``entries`` in order, continuing from where the last call stopped."""
        for eid, fields in entries:
            self.entries += 1
            self.last_id = eid
            if fields.get("prev") != self.head:
                self.problems.append(
                    AuditProblem(
                        entry_id=eid,
                        problem="chain_broken",
                        detail=f"prev is {fields.get('prev')!r}, expected {self.head!r}: "
                        "an entry before it was deleted, inserted or reordered",
                    )
                )
            claimed = fields.get("hash", "")
            if claimed != entry_hash(fields):
                self.problems.append(
                    AuditProblem(
                        entry_id=eid,
                        problem="edited",
                        detail="stored hash does not match the entry's fields",
                    )
                )
            self.head = claimed
            self.positions[eid] = (self.base + self.entries, claimed)
