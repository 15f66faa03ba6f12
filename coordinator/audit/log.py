"""Read a calendar's audit stream: by booking, by server-time range, and verify it.

The chain itself is in chain.py, the state replay in replay.py; ``verify`` ties them
together (verify.py).
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

from ..buckets import from_ms, parse_time, to_ms
from ..errors import ValidationError
from ..models import AuditEntry, AuditVerification
from ..store.errors import store_errors
from ..store.handle import Store
from ..store.records import read_booking
from .checkpoints import KEY_ENV, Checkpoint, Checkpoints, SigningKey, anchor_dir, key_path
from .trail import approval_entry_ids, names, stream_id_key, trail_span

_PAGE = 1000
#: How much later than its ``ts`` an entry's stream id can be (a long script's run time).
_ID_SLACK_MS = 60_000


def _entry(entry_id: str, fields: dict[str, str]) -> AuditEntry:
    ts = int(fields.get("ts") or entry_id.split("-")[0])
    return AuditEntry(id=entry_id, type=fields.get("type", "?"), ts=from_ms(ts), fields=fields)


class AuditLog:
    """Queries over the audit streams of one coordinator."""

    def __init__(self, store: Store) -> None:
        self._store = store
        #: The embedded engine's folder (set by ``Coordinator.embedded``): the default
        #: home of the signing key. None for a server: use $AGENTDRAFT_AUDIT_KEY.
        self.data_dir: Path | None = None
        self.checkpoints = Checkpoints(store)

    def key_path(self, path: str | os.PathLike[str] | None = None) -> Path | None:
        """Where this coordinator's signing key is (see checkpoints.key_path)."""
        return key_path(path, self.data_dir)

    def checkpoint(
        self, user_id: str, key: str | os.PathLike[str] | None = None
    ) -> Checkpoint | None:
        """Sign the calendar's audit head now (creating the key on first use).

        Stored in Redis and beside the key; None when the calendar has no entries.
        """
        path = self.key_path(key)
        if path is None:
            raise ValidationError("signing_key", f"no signing key: pass a path or set ${KEY_ENV}")
        cp = self.checkpoints.sign(user_id, SigningKey.load_or_create(path))
        if cp is not None:
            self.checkpoints.record_locally(cp, anchor_dir(path))
        return cp

    def checkpoint_if_due(
        self, user_id: str, every: int, key: str | os.PathLike[str] | None = None
    ) -> Checkpoint | None:
        """Sign the head if ``every`` entries were written since the latest checkpoint."""
        if every < 1:
            raise ValidationError("every", "must be a positive number of entries")
        if not self.checkpoints.due(user_id, every):
            return None
        return self.checkpoint(user_id, key)

    def for_booking(self, user_id: str, booking_id: str) -> list[AuditEntry]:
        """Every entry that names a booking, oldest first.

        There is no per-booking index (it cost more memory than the record): every
        entry about a booking is written while the booking stands, in the scripts that
        create and end it or between them, so its trail is the stream from the
        millisecond of its creating entry to the millisecond of its ending one (to the
        end while it is live), filtered to the entries that name it in a field (see
        trail.py). A parked hold's approval may be decided after the hold ended: it is
        found through the hold's ``consent_id``. Lists written by an older version
        (``bkgaudit:<id>``) are read too.
        """
        k = self._store.keys
        r = self._store.redis
        found: dict[str, dict[str, str]] = {}
        with store_errors("audit query"):
            raw = r.hget(k.bookings(user_id), booking_id)
            rec = read_booking(raw, booking_id) if raw else None
            linked = list(r.lrange(k.booking_audit(user_id, booking_id), 0, -1))
            if rec and rec.get("consent_id"):
                linked += approval_entry_ids(r.hget(k.approvals(user_id), rec["consent_id"]))
            for entry_id in linked:
                for eid, fields in r.xrange(k.audit(user_id), entry_id, entry_id):
                    found[eid] = fields
        if rec is not None:
            span = trail_span(rec)
            if span is not None:
                for eid, fields in self._scan(user_id, *span):
                    if names(fields, booking_id):
                        found[eid] = fields
        return [_entry(eid, found[eid]) for eid in sorted(found, key=stream_id_key)]

    def range(
        self,
        user_id: str,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        *,
        limit: int | None = None,
        after: str | None = None,
    ) -> list[AuditEntry]:
        """Entries of a calendar written between ``start`` and ``end`` (server time).

        ``after`` (an entry id) starts past it: a page continues where the last ended
        without re-reading what came before.
        """
        lo_ms = None if start is None else to_ms(parse_time(start, "start"))
        hi_ms = None if end is None else to_ms(parse_time(end, "end"))
        if limit is not None and (not isinstance(limit, int) or limit < 1):
            raise ValidationError("limit", "must be a positive integer")
        # An entry's ``ts`` is its script's clock at the start; ``XADD *`` stamps the id
        # a little later. Scan ids from ``lo`` to ``hi`` plus a slack, filter on ``ts``.
        lo = "-" if lo_ms is None else str(lo_ms)
        if after is not None:
            ms, _, seq = str(after).partition("-")
            if not (ms.isdigit() and seq.isdigit()):
                raise ValidationError("after", "must be an audit entry id such as 1767225600000-0")
            lo = "(" + after if lo_ms is None or lo_ms <= int(after.split("-")[0]) else lo
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
        key = self._store.keys.audit(user_id)
        r = self._store.redis
        while True:
            with store_errors("audit query"):
                page = r.xrange(key, lo, hi, count=_PAGE)
            yield from page
            if len(page) < _PAGE:
                return
            lo = "(" + page[-1][0]

    def verify(
        self,
        user_id: str,
        *,
        key: str | os.PathLike[str] | None = None,
        archive: str | os.PathLike[str] | None = None,
        grace_ms: int | None = None,
    ) -> AuditVerification:
        """Prove the calendar's state from its history; see verify.py.

        ``key``: the signing key (or its public half) to check checkpoints with;
        default: this coordinator's key if it exists. ``archive``: the folder of
        archived segments, to verify from genesis after entries left the stream.
        ``grace_ms``: how late a checkpoint that fell due may be (default: the
        ``audit_checkpoint_grace_seconds`` setting).
        """
        from .verify import History, verify

        path = self.key_path(key)
        trusted = SigningKey.load(path) if path is not None and path.exists() else None
        history = History.read(self._store, user_id, self._scan(user_id, "-", "+"), archive)
        cps = self.checkpoints.list(user_id, None if path is None else anchor_dir(path))
        grace = self._store.settings.audit_checkpoint_grace_seconds
        return verify(
            self._store,
            user_id,
            history,
            cps,
            trusted,
            policy=self.checkpoints.policy(user_id),
            grace_ms=int(grace * 1000) if grace_ms is None else grace_ms,
        )
