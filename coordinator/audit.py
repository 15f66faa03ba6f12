"""Read a calendar's audit stream and verify its hash chain.

Every entry is written by the same Lua script as the change it records, and
carries the SHA-1 of its own fields plus the previous entry's hash (SHA-1 is
the only digest Redis Lua offers). Re-walking the chain finds an edited entry
(its hash no longer matches), a deleted or reordered one (the next entry's
``prev`` no longer matches) and a cut-off tail (the owner's stored head no
longer matches the last entry). Someone able to rewrite the whole chain *and*
the head could hide it; ``verify`` reports the head hash so an operator can
anchor it elsewhere.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .buckets import from_ms, parse_time, to_ms
from .engine import Engine
from .errors import ValidationError
from .models import AuditEntry, AuditProblem, AuditVerification
from .store.errors import store_errors

_PAGE = 1000
#: How much later than its ``ts`` an entry's stream id can be (a long script's run time).
_ID_SLACK_MS = 60_000


def chain_text(prev: str, fields: dict[str, str]) -> str:
    """The exact text whose SHA-1 is an entry's ``hash`` (mirrors ``audit`` in _lib.lua)."""
    body = "".join(f"{k}={v}\n" for k, v in fields.items() if k not in ("prev", "hash"))
    return f"{prev}\n{body}prev={prev}\n"


def _entry(entry_id: str, fields: dict[str, str]) -> AuditEntry:
    ts = int(fields.get("ts") or entry_id.split("-")[0])
    return AuditEntry(id=entry_id, type=fields.get("type", "?"), ts=from_ms(ts), fields=fields)


class AuditLog:
    """Queries over the audit streams of one coordinator."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def for_booking(self, user_id: str, booking_id: str) -> list[AuditEntry]:
        """Every entry that mentions a booking, oldest first."""
        k = self._engine.keys
        r = self._engine.redis
        with store_errors("audit query"):
            ids = r.lrange(k.booking_audit(user_id, booking_id), 0, -1)
            out = []
            for entry_id in ids:
                for eid, fields in r.xrange(k.audit(user_id), entry_id, entry_id):
                    out.append(_entry(eid, fields))
        return out

    def range(
        self,
        user_id: str,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        *,
        limit: int | None = None,
    ) -> list[AuditEntry]:
        """Entries of a calendar written between ``start`` and ``end`` (server time)."""
        lo_ms = None if start is None else to_ms(parse_time(start, "start"))
        hi_ms = None if end is None else to_ms(parse_time(end, "end"))
        if limit is not None and (not isinstance(limit, int) or limit < 1):
            raise ValidationError("limit", "must be a positive integer")
        # An entry's ``ts`` is its script's clock at the start; ``XADD *`` stamps the id
        # a little later. Scan ids from ``lo`` to ``hi`` plus a slack, filter on ``ts``.
        lo = "-" if lo_ms is None else str(lo_ms)
        hi = "+" if hi_ms is None else str(hi_ms + _ID_SLACK_MS)
        out: list[AuditEntry] = []
        for eid, fields in self._scan(user_id, lo, hi):
            entry = _entry(eid, fields)
            ts = int(fields.get("ts") or eid.split("-")[0])
            if (lo_ms is not None and ts < lo_ms) or (hi_ms is not None and ts > hi_ms):
                continue
            out.append(entry)
            if limit is not None and len(out) >= limit:
                break
        return out

    def _scan(self, user_id: str, lo: str, hi: str) -> Any:
        key = self._engine.keys.audit(user_id)
        r = self._engine.redis
        while True:
            with store_errors("audit query"):
                page = r.xrange(key, lo, hi, count=_PAGE)
            yield from page
            if len(page) < _PAGE:
                return
            lo = "(" + page[-1][0]

    def verify(self, user_id: str) -> AuditVerification:
        """Re-walk the chain and report every edited, deleted or reordered entry."""
        import hashlib

        problems: list[AuditProblem] = []
        prev = "genesis"
        n = 0
        last_id = ""
        for eid, fields in self._scan(user_id, "-", "+"):
            n += 1
            last_id = eid
            if fields.get("prev") != prev:
                problems.append(
                    AuditProblem(
                        entry_id=eid,
                        problem="chain_broken",
                        detail=f"prev is {fields.get('prev')!r}, expected {prev!r}: "
                        "an entry before it was deleted, inserted or reordered",
                    )
                )
            claimed = fields.get("hash", "")
            actual = hashlib.sha1(
                chain_text(fields.get("prev", ""), fields).encode(), usedforsecurity=False
            ).hexdigest()
            if claimed != actual:
                problems.append(
                    AuditProblem(
                        entry_id=eid,
                        problem="edited",
                        detail="stored hash does not match the entry's fields",
                    )
                )
            prev = claimed
        with store_errors("audit verify"):
            head = self._engine.redis.hget(self._engine.keys.owner(user_id), "audit_head")
        if n and head is None:
            problems.append(
                AuditProblem(
                    entry_id=last_id,
                    problem="missing_head",
                    detail="owner record has no audit head",
                )
            )
        elif head is not None and head != prev:
            problems.append(
                AuditProblem(
                    entry_id=last_id or "-",
                    problem="head_mismatch",
                    detail="the last entry is not the recorded head: entries were cut off the end",
                )
            )
        return AuditVerification(
            user_id=user_id, entries=n, ok=not problems, head=head, problems=tuple(problems)
        )
