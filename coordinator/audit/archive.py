"""Retention: move old audit entries to append-only segment files; trim the outbox.

An operator (not the coordinator: archiving needs XTRIM, which the coordinator's
ACL user is refused, see acl.py) runs ``coordinator audit archive``. Entries older
than the calendar's audit retention are appended to JSON Lines segments, one per
calendar and UTC month, ``<dir>/<user_id>/<YYYY-MM>.jsonl``. A segment's first line
is ``{"prev": <hash of the entry before its first>, "position": <entries before>}``
and every other line is one entry ``{"id", "fields"}``, so each segment can be
checked on its own and ``audit verify --archive DIR`` walks the whole history from
genesis. Only then are the entries trimmed from the stream, and the calendar's
``audit-archived`` hash records how many left and the hash of the last, so a
verify without the archive still checks the chain from that point.

Delivered outbox events (acknowledged by the webhook dispatcher's group) older than
the outbox retention are trimmed; pending ones are never.

Retention per calendar lives in its ``retention`` hash (``audit_days``,
``outbox_days``), set by the owner or operator; defaults: audit forever, delivered
outbox 7 days.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..errors import ValidationError
from ..models import AuditProblem
from ..store.errors import store_errors
from ..store.handle import Store
from .chain import GENESIS, ChainWalk, Entry

DEFAULT_AUDIT_DAYS: float | None = None  # forever
DEFAULT_OUTBOX_DAYS = 7.0
_DAY_MS = 24 * 3600 * 1000
#: The webhook dispatcher's consumer group (coordinator/webhooks/dispatcher.py).
OUTBOX_GROUP = "dispatch"


#: Trim the archived entries and record the marker in one atomic step (the trim
#: first: if it is refused nothing is written).
_TRIM = """
redis.call('XTRIM', KEYS[1], 'MINID', ARGV[1])
redis.call('HSET', KEYS[2], 'entries', ARGV[2], 'last_id', ARGV[3], 'last_hash', ARGV[4])
return 1
"""


@dataclass(frozen=True)
class Retention:
    """How long a calendar keeps audit entries and delivered outbox events in Redis."""

    audit_days: float | None = DEFAULT_AUDIT_DAYS
    outbox_days: float = DEFAULT_OUTBOX_DAYS


@dataclass(frozen=True)
class ArchiveResult:
    user_id: str
    archived: int
    segments: tuple[str, ...]
    outbox_trimmed: int


def _month(entry_id: str) -> str:
    ms = int(entry_id.split("-")[0])
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m")


def segment_files(folder: Path, user_id: str) -> list[Path]:
    return sorted((folder / user_id).glob("*.jsonl"))


def read_segments(folder: Path, user_id: str) -> tuple[list[Entry], list[AuditProblem], str]:
    """Every archived entry of a calendar in order, problems with the segments' headers,
    and the ``prev`` the first segment starts from."""
    entries: list[Entry] = []
    problems: list[AuditProblem] = []
    start = GENESIS
    walk = ChainWalk()
    for n, path in enumerate(segment_files(folder, user_id)):
        lines = path.read_text().splitlines()
        try:
            header = json.loads(lines[0]) if lines else {}
            body = [json.loads(line) for line in lines[1:]]
            seg = [(str(e["id"]), {str(k): str(v) for k, v in e["fields"].items()}) for e in body]
        except (ValueError, KeyError, TypeError, AttributeError):
            problems.append(_broken(path, "is not a well-formed segment"))
            continue
        if n == 0:
            start = str(header.get("prev"))
            walk = ChainWalk(start_prev=start, base=int(header.get("position") or 0))
        if header.get("prev") != walk.head or int(header.get("position") or 0) != walk.base + (
            walk.entries
        ):
            problems.append(_broken(path, "does not begin where the segment before it ended"))
        walk.feed(seg)
        entries += seg
    return entries, problems, start


def _broken(path: Path, what: str) -> AuditProblem:
    return AuditProblem(entry_id="-", problem="archive_broken", detail=f"{path.name} {what}")


class Archiver:
    """The operator's retention pass over one coordinator's calendars."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def _key(self, user_id: str, name: str) -> str:
        return self._store.keys.prefix(user_id) + name

    def set_retention(self, user_id: str, retention: Retention) -> None:
        """Record the calendar's retention (``audit_days`` None = keep forever)."""
        for name, value in (
            ("audit_days", retention.audit_days),
            ("outbox_days", retention.outbox_days),
        ):
            if value is not None and (isinstance(value, bool) or not 0 < value <= 36500):
                raise ValidationError(name, "must be a number of days between 0 and 36500")
        with store_errors("audit retention"):
            self._store.redis.hset(
                self._key(user_id, "retention"),
                mapping={
                    "audit_days": "" if retention.audit_days is None else str(retention.audit_days),
                    "outbox_days": str(retention.outbox_days),
                },
            )

    def retention(self, user_id: str, default: Retention | None = None) -> Retention:
        base = default or Retention()
        with store_errors("audit retention"):
            raw = self._store.redis.hgetall(self._key(user_id, "retention"))
        audit = raw.get("audit_days", None)
        return Retention(
            audit_days=base.audit_days if audit is None else (float(audit) if audit else None),
            outbox_days=float(raw.get("outbox_days") or base.outbox_days),
        )

    def _now_ms(self, user_id: str) -> int:
        secs, micros = self._store.redis.eval(
            "return redis.call('TIME')", 1, self._store.keys.owner(user_id)
        )
        return int(secs) * 1000 + int(micros) // 1000

    def run(
        self, user_id: str, folder: str | os.PathLike[str], default: Retention | None = None
    ) -> ArchiveResult:
        """Archive and trim what the calendar's retention lets go."""
        ret = self.retention(user_id, default)
        now = self._now_ms(user_id)
        archived, segments = 0, tuple[str, ...]()
        if ret.audit_days is not None:
            archived, segments = self.archive_before(
                user_id, Path(folder), now - int(ret.audit_days * _DAY_MS)
            )
        trimmed = self.trim_outbox(user_id, now - int(ret.outbox_days * _DAY_MS))
        return ArchiveResult(user_id, archived, segments, trimmed)

    def archive_before(
        self, user_id: str, folder: Path, cutoff_ms: int
    ) -> tuple[int, tuple[str, ...]]:
        """Move entries whose stream id is older than ``cutoff_ms`` to segments, then trim.

        Refuses a broken chain: archiving must not launder tampering into files.
        """
        r, k = self._store.redis, self._store.keys
        stream, marker = k.audit(user_id), self._key(user_id, "audit-archived")
        with store_errors("audit archive"):
            # A no-op trim first: a user refused XTRIM (the coordinator's) stops here,
            # before any segment is written.
            r.xtrim(stream, minid="0-0", approximate=False)
            m = r.hgetall(marker)
            old = r.xrange(stream, "-", f"{max(cutoff_ms - 1, 0)}-18446744073709551615")
        if not old:
            return 0, ()
        walk = ChainWalk(start_prev=m.get("last_hash", GENESIS), base=int(m.get("entries") or 0))
        walk.feed(old)
        if walk.problems:
            p = walk.problems[0]
            raise ValidationError(
                "audit", f"the chain is broken at {p.entry_id} ({p.problem}): run audit verify"
            )
        written = self.append_segments(
            folder / user_id, old, m.get("last_hash", GENESIS), walk.base
        )
        last_id, last_hash = old[-1][0], old[-1][1]["hash"]
        ms, seq = (int(x) for x in last_id.split("-"))
        with store_errors("audit archive"):
            r.eval(
                _TRIM,
                2,
                stream,
                marker,
                f"{ms}-{seq + 1}",
                str(walk.base + walk.entries),
                last_id,
                last_hash,
            )
        self._drop_index_heads(user_id, old, last_id)
        return len(old), tuple(sorted(written))

    def _drop_index_heads(self, user_id: str, archived: list[Entry], last_id: str) -> None:
        """Drop archived entry ids from the head of each booking's audit index.

        The index (``bkgaudit:<id>``, oldest first) would point at entries no longer
        in the stream. Appends land at the tail, so trimming a counted head is safe
        against a concurrent write; an emptied list disappears.
        """
        r, k = self._store.redis, self._store.keys
        mentioned = {
            part
            for _, fields in archived
            for value in fields.values()
            for part in value.split(",")
            if part.startswith(("bkg_", "hld_"))
        }
        with store_errors("audit archive"):
            for bid in sorted(mentioned):
                key = k.booking_audit(user_id, bid)
                head = sum(1 for eid in r.lrange(key, 0, -1) if not _after(eid, last_id))
                if head:
                    r.ltrim(key, head, -1)

    def append_segments(
        self, folder: Path, entries: list[Entry], prev: str, position: int
    ) -> set[str]:
        """Append entries to their month's segment, skipping any a crashed run wrote."""
        folder.mkdir(parents=True, exist_ok=True)
        written: set[str] = set()
        for month, group in _by_month(entries, prev, position):
            path = folder / f"{month}.jsonl"
            seen = _last_id(path)
            todo = [(eid, f, p, n) for eid, f, p, n in group if seen is None or _after(eid, seen)]
            if not todo:
                continue
            with open(path, "a", encoding="utf-8") as out:
                if seen is None:
                    _, _, first_prev, first_pos = todo[0]
                    out.write(json.dumps({"prev": first_prev, "position": first_pos}) + "\n")
                for eid, f, _, _ in todo:
                    out.write(json.dumps({"id": eid, "fields": f}, ensure_ascii=False) + "\n")
                out.flush()
                os.fsync(out.fileno())
            written.add(path.name)
        return written

    def trim_outbox(self, user_id: str, cutoff_ms: int) -> int:
        """Drop acknowledged outbox events older than ``cutoff_ms``; never a pending one."""
        r = self._store.redis
        stream = self._key(user_id, "outbox")
        with store_errors("outbox retention"):
            if not r.exists(stream):
                return 0
            groups = {g["name"]: g for g in r.xinfo_groups(stream)}
            g = groups.get(OUTBOX_GROUP)
            if g is None:
                return 0  # nothing was ever delivered
            limit = (cutoff_ms, 0)
            delivered = _id(str(g["last-delivered-id"]))
            limit = min(limit, (delivered[0], delivered[1] + 1))
            pending = r.xpending(stream, OUTBOX_GROUP)
            if pending and pending.get("pending"):
                limit = min(limit, _id(str(pending["min"])))
            return int(r.xtrim(stream, minid=f"{limit[0]}-{limit[1]}", approximate=False))


def _id(eid: str) -> tuple[int, int]:
    ms, _, seq = eid.partition("-")
    return int(ms), int(seq or 0)


def _after(a: str, b: str) -> bool:
    return _id(a) > _id(b)


def _last_id(path: Path) -> str | None:
    if not path.exists():
        return None
    last = None
    for line in path.read_text().splitlines()[1:]:
        last = json.loads(line)["id"]
    return last if last is not None else None


def _by_month(
    entries: list[Entry], prev: str, position: int
) -> Iterator[tuple[str, list[tuple[str, dict[str, str], str, int]]]]:
    """Group entries by month, each with the hash before it and its position before."""
    groups: dict[str, list[tuple[str, dict[str, str], str, int]]] = {}
    for eid, f in entries:
        groups.setdefault(_month(eid), []).append((eid, f, prev, position))
        prev, position = f["hash"], position + 1
    yield from groups.items()
