"""The booking record as Redis stores it (compact) and as everything else reads it (long).

Memory per booking is a budget (issue 10: at most 1.2 KB in Redis with its audit
entry), so the ``bookings`` hash holds each record with one- or two-letter names,
times relative to its creation, and defaults left out. The scripts expand and
compact it in ``_lib.lua`` (``expand_booking`` / ``compact_booking``, where the field
table is); this module is the Python mirror of ``expand_booking``, for the readers
that HGET records themselves (owner views, ``audit verify``, webhooks, connectors).
Replies of the scripts already carry the long form, so nothing on the API changes.

A record written before the compact form (long names: it has ``agent_id``) reads as
it is; a script rewrites it compact the next time it saves it (its end, usually).
Nothing has to be migrated.
"""

from __future__ import annotations

import hashlib
import json
from json.encoder import encode_basestring_ascii as _ascii_string  # what json.dumps uses
from typing import Any

BUCKET_MS = 300_000

#: Long names kept as they are, only shorter.
_RENAMED = {
    "eb": "ended_by",
    "ea": "ended_by_agent_id",
    "ep": "ended_by_priority",
    "er": "end_reason",
    "ec": "ended_by_connector_id",
    "eu": "ended_by_event_uid",
    "k": "consent_id",
    "ap": "approval_id",
    "ea2": "ended_by_approval",
}
#: Compact names rebuilt below.
_SHORT = frozenset("a p s d c m st bb ba f l t v md cf u b B x X cm i n j w".split())


def _abs_id(value: Any, at: int) -> str:
    """A stream id stored as its sequence number within ``at`` (or whole)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{at}-{int(value)}"
    return str(value)


def expand_booking(booking_id: str, stored: str | bytes | dict[str, Any]) -> dict[str, Any]:
    """The long record (as the scripts' replies carry it) from what HGET returned."""
    o = json.loads(stored) if isinstance(stored, str | bytes) else stored
    if "agent_id" in o:  # written before the compact form
        return {"id": booking_id, **o}
    r: dict[str, Any] = {_RENAMED.get(k, k): v for k, v in o.items() if k not in _SHORT}
    hold = o.get("m") == "h"
    c = o["c"]
    r.update(
        id=booking_id,
        agent_id=o["a"],
        priority=o["p"],
        created_ms=c,
        mode=o.get("mode") or ("hold" if hold else "commit"),
        status=o.get("st") or ("HOLD" if hold else "COMMITTED"),
        start_ms=o["s"],
        end_ms=o["s"] + o["d"],
        buffer_before_min=o.get("bb", 0),
        buffer_after_min=o.get("ba", 0),
        title=o.get("t", ""),
        invitee=o.get("v", False),
        metadata=o.get("md", False),
        conferencing=o.get("cf", False),
        arb_until_ms=c + o.get("u", 0),
    )
    if "f" in o:
        r["cover_first"], r["cover_last"] = o["f"], o["l"]
    else:
        lo = r["start_ms"] - r["buffer_before_min"] * 60_000
        hi = r["end_ms"] + r["buffer_after_min"] * 60_000
        r["cover_first"], r["cover_last"] = lo // BUCKET_MS, -(-hi // BUCKET_MS)
    if hold:
        r["expires_ms"] = c + o.get("x", 0)
        r["bump_until_ms"] = o.get("B", 0)
    else:
        r["bump_until_ms"] = c + o.get("b", 0)
        r["expires_ms"] = o.get("X", 0)
        r["committed_ms"] = o.get("cm", c)
    if "i" in o:
        r["audit_event_id"] = _abs_id(o["i"], c)
    if "n" in o:
        r["ended_ms"] = c + o["n"]
    if "j" in o:
        r["end_audit_id"] = _abs_id(o["j"], r["ended_ms"])
    if o.get("w"):
        r["lost_in_window"] = True
    return r


def read_booking(raw: str | bytes | None, booking_id: str) -> dict[str, Any] | None:
    """``expand_booking`` of an HGET answer, None when the booking is not stored."""
    return None if raw is None else expand_booking(booking_id, raw)


#: The fields a booking is made with and never changes: what ``fixed_digest`` covers.
FIXED_FIELDS = (
    "start_ms",
    "end_ms",
    "buffer_before_min",
    "buffer_after_min",
    "title",
    "invitee",
    "metadata",
    "conferencing",
)


#: Integers below this in size keep every digit in 14 significant ones.
_EXACT = 10**14


def _as_stored(value: Any) -> Any:
    """``value`` as it reads back after the scripts' cjson stored it: numbers keep 14
    significant digits (so 5.0 reads as 5), and an empty list is an empty object."""
    if value is None or isinstance(value, bool | str):
        return value
    if type(value) is int and -_EXACT < value < _EXACT:
        return value  # what the round trip below gives back, at a fraction of the cost
    if isinstance(value, int | float):
        return json.loads(format(value, ".14g"))
    if isinstance(value, dict):
        return {str(k): _as_stored(v) for k, v in value.items()} if value else {}
    if isinstance(value, list | tuple):
        return [_as_stored(v) for v in value] if value else {}
    return value


def fixed_digest(rec: dict[str, Any]) -> str:
    """SHA-256 (128 bits, hex) of a booking's fixed fields, as they are stored.

    The creating audit entry carries it (``digest``), so ``audit verify`` sees a title,
    invitee, metadata, buffer or time edited in the record. Computed here both before
    the write (from the fields sent) and at verify time (from the stored record), so it
    is defined on what survives the round trip through Redis, not on the Python values.
    """
    text = _plain_json(*map(rec.get, FIXED_FIELDS))
    if text is None:
        fixed = [_as_stored(rec.get(f)) for f in FIXED_FIELDS]
        fixed[4] = fixed[4] or ""  # title: absent and '' are the same
        for i in (5, 6, 7):  # invitee, metadata, conferencing: absent, null and false alike
            fixed[i] = fixed[i] or False
        text = json.dumps(fixed, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return _digest(text)


def _digest(text: str) -> str:
    """The digest of the fixed fields' JSON text: SHA-256, its first 128 bits in hex."""
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def plain_static_json(
    start_ms: int, end_ms: int, cover_first: int, cover_last: int, before: int, after: int
) -> bytes | None:
    """The claim scripts' ARGV[4] (see ``_claim.lua``) for a booking with no title,
    invitee, metadata or link: its fixed fields, its cover and their ``digest``.

    Byte for byte what the packer's orjson writes for the dict
    ``Bookings._pack_claim`` otherwise builds (a hypothesis property checks it), written
    directly, without the dict, the digest's own pass over it and orjson's (with the
    one-pass answer of ``server/responses.py``: 451k -> 421k worker instructions per
    commit). None when a value is not an integer that keeps every digit: the dict is
    built then.
    """
    text = _plain_json(start_ms, end_ms, before, after, None, None, None, None)
    if text is None or type(cover_first) is not int or type(cover_last) is not int:
        return None
    digest = _digest(text)
    return (
        f'{{"start_ms":{start_ms},"end_ms":{end_ms},"cover_first":{cover_first},'
        f'"cover_last":{cover_last},"buffer_before_min":{before},"buffer_after_min":{after},'
        f'"title":"","invitee":false,"metadata":false,"conferencing":false,"digest":"{digest}"}}'
    ).encode()


def _plain_json(
    start: Any,
    end: Any,
    before: Any,
    after: Any,
    title: Any,
    invitee: Any,
    metadata: Any,
    conferencing: Any,
) -> str | None:
    """The JSON text ``fixed_digest`` hashes, written directly for the usual booking (four
    integers that keep every digit, a title or none, no invitee, metadata or link), byte
    for byte what ``json.dumps`` writes for it; None for anything else.

    Read from the fields as given, not from their ``_as_stored`` forms: on these values
    that is the identity (a falsy value is stored falsy, and so becomes false), and the
    eight calls of it were half of the digest's cost on every commit.
    """
    if (
        type(start) is int
        and type(end) is int
        and type(before) is int
        and type(after) is int
        and -_EXACT < start < _EXACT
        and -_EXACT < end < _EXACT
        and -_EXACT < before < _EXACT
        and -_EXACT < after < _EXACT
        and (title is None or type(title) is str)
        and not (invitee or metadata or conferencing)
    ):
        return f"[{start},{end},{before},{after},{_ascii_string(title or '')},false,false,false]"
    return None
