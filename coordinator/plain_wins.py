"""A plain commit's outright win, put back together from the request and the script.

An agent's commonest write is a commit of a start and an end alone, packed from a
template (``Bookings._plain_commit``). When it wins outright (nothing displaced, no
window to wait out), commit.lua answers with only what it decided
(:class:`~coordinator.store.calls.PlainWin`: the time, the writer's live priority, the
arbitration and bump deadlines, the audit entry) instead of the whole record as JSON:
writing that JSON was a tenth of the script, and reading it back a tenth of the
server's work per commit. The rest of the record is what the request sent.

:class:`PlainWon` holds the two. The server answers straight from it
(``server/responses.py`` ``plain_won_json``); everything else gets the record and the
reply the script would have written (:func:`plain_record`, :func:`plain_reply`), so the
rest of the engine never sees the difference. ``tests/engine/test_plain_claim.py``
holds both to cjson's reply for the same booking.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .buckets import cover_ms
from .store.calls import PlainWin

#: The fields every plain commit's record holds alike (``_plain.lua`` PLAIN_STATIC).
PLAIN_FIXED: dict[str, Any] = {
    "buffer_before_min": 0,
    "buffer_after_min": 0,
    "title": "",
    "invitee": False,
    "metadata": False,
    "conferencing": False,
}


class PlainWon(NamedTuple):
    """A plain commit that won outright: the request's own fields and the script's
    decision."""

    booking_id: str
    agent_id: str
    start_ms: int
    end_ms: int
    win: PlainWin


def plain_record(won: PlainWon) -> dict[str, Any]:
    """The booking record commit.lua would have replied with (its long form)."""
    w = won.win
    first, last = cover_ms(won.start_ms, won.end_ms, 0, 0)
    return {
        "id": won.booking_id,
        "agent_id": won.agent_id,
        "priority": w.priority,
        "mode": "commit",
        "status": "COMMITTED",
        "start_ms": won.start_ms,
        "end_ms": won.end_ms,
        "cover_first": first,
        "cover_last": last,
        **PLAIN_FIXED,
        "created_ms": w.now,
        "arb_until_ms": w.arb_until_ms,
        "committed_ms": w.now,
        "bump_until_ms": w.bump_until_ms,
        "expires_ms": 0,
        "audit_event_id": w.audit_event_id,
    }


def plain_reply(won: PlainWon) -> dict[str, Any]:
    """The JSON reply commit.lua would have written (``{r='ok', booking, ...}``)."""
    w = won.win
    return {
        "r": "ok",
        "booking": plain_record(won),
        "now": w.now,
        "wait_ms": w.arb_until_ms - w.now,
        "displaced": {},  # cjson writes an empty table as an object
    }


__all__ = ["PLAIN_FIXED", "PlainWin", "PlainWon", "plain_record", "plain_reply"]
