"""The per-endpoint delivery log: every attempt the dispatcher made to one endpoint.

Written by the dispatcher after each POST (a capped stream per endpoint, kept a week
after its last write) and read by the owner's dashboard, so an owner can see why an
endpoint gets nothing: the status codes, the next retry, and what was dead-lettered.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from ..buckets import from_ms
from ..store.keys import Keys

#: Attempts kept per endpoint (older ones are trimmed on write).
KEEP = 1000
_TTL_SECONDS = 7 * 24 * 3600


class Delivery(BaseModel):
    """One POST of one event to one endpoint."""

    event_id: str
    type: str
    attempt: int
    at: datetime
    ok: bool
    #: The endpoint's HTTP status; None when no answer came (``error`` says why).
    status_code: int | None = None
    error: str | None = None
    #: When the dispatcher tries again (a failed attempt that is not the last).
    next_retry_at: datetime | None = None
    #: The event left the outbox for the dead-letter stream after this attempt.
    dead_lettered: bool = False


def log_key(keys: Keys, user_id: str, endpoint_id: str) -> str:
    return keys.prefix(user_id) + f"whlog:{endpoint_id}"


def done_key(keys: Keys, user_id: str, event_id: str) -> str:
    """The endpoints that already accepted an event (a retry skips them)."""
    return keys.prefix(user_id) + f"whdone:{event_id}"


def _find_event(r: Any, stream: str, event_id: str) -> dict[str, str] | None:
    hi = "+"
    while True:
        page = r.xrevrange(stream, hi, "-", count=500)
        for _eid, fields in page:
            if fields.get("id") == event_id:
                return dict(fields)
        if len(page) < 500:
            return None
        hi = "(" + page[-1][0]


def redeliver(r: Any, keys: Keys, user_id: str, endpoint_id: str, event_id: str) -> bool:
    """Queue an event again for one endpoint only (False: no such event is kept).

    The event is looked up in the dead-letter stream, then in the outbox (delivered
    events stay a week); its copy names the endpoint in ``only`` so the others are
    not sent it twice. One MULTI: the endpoint is forgotten as done with the re-add.
    """
    prefix = keys.prefix(user_id)
    fields = _find_event(r, prefix + "outbox:dead", event_id) or _find_event(
        r, prefix + "outbox", event_id
    )
    if fields is None:
        return False
    fields.pop("attempts", None)
    fields.update(only=endpoint_id, not_before_ms="0")
    pipe = r.pipeline(transaction=True)
    pipe.srem(done_key(keys, user_id, event_id), endpoint_id)
    pipe.xadd(prefix + "outbox", fields)
    pipe.execute()
    return True


def record(r: Any, keys: Keys, user_id: str, endpoint_id: str, d: Delivery) -> None:
    key = log_key(keys, user_id, endpoint_id)
    fields = {
        "event_id": d.event_id,
        "type": d.type,
        "attempt": str(d.attempt),
        "at": str(int(d.at.timestamp() * 1000)),
        "ok": "1" if d.ok else "0",
        "status_code": "" if d.status_code is None else str(d.status_code),
        "error": d.error or "",
        "next_retry_ms": ""
        if d.next_retry_at is None
        else str(int(d.next_retry_at.timestamp() * 1000)),
        "dead": "1" if d.dead_lettered else "0",
    }
    r.xadd(key, fields, maxlen=KEEP, approximate=True)
    r.expire(key, _TTL_SECONDS)


def read(r: Any, keys: Keys, user_id: str, endpoint_id: str, limit: int) -> list[Delivery]:
    """The latest ``limit`` attempts, newest first."""
    out = []
    for _eid, f in r.xrevrange(log_key(keys, user_id, endpoint_id), count=limit):
        out.append(
            Delivery(
                event_id=f["event_id"],
                type=f["type"],
                attempt=int(f["attempt"]),
                at=from_ms(int(f["at"])),
                ok=f["ok"] == "1",
                status_code=int(f["status_code"]) if f["status_code"] else None,
                error=f["error"] or None,
                next_retry_at=from_ms(int(f["next_retry_ms"])) if f["next_retry_ms"] else None,
                dead_lettered=f["dead"] == "1",
            )
        )
    return out
