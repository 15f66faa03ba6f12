"""Response helpers shared by the routers: one error table, bodies serialized once.

A route that returns a :class:`~starlette.responses.Response` skips FastAPI's
response-model pass (validate the returned object, then serialize it again), so
the hot routes build their JSON bytes once with orjson from the engine's own
models; their ``response_model`` still documents the shape in OpenAPI.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, get_args

import orjson
from starlette.responses import Response

from ..buckets import MAX_MS, utc_text
from ..models import Booking, BookingStatus, record_fields
from ..plain_wins import PlainWon
from .schemas import BookingOut, ErrorBody

#: The booking fields the wire shape (``schemas.BookingOut``) carries, and those it adds.
_BOOKING_FIELDS = set(BookingOut.model_fields) & set(Booking.model_fields)
_BOOKING_EXTRA = {
    name: None for name in BookingOut.model_fields if name not in Booking.model_fields
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` entry for routes that may answer these error statuses."""
    return {status: {"model": ErrorBody} for status in statuses}


def json_response(
    content: Any, status_code: int = 200, *, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(content),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )


def booking_json(b: Booking) -> dict[str, Any]:
    """The wire shape of a booking (``BookingOut``), in one pydantic pass."""
    data = b.model_dump(mode="json", include=_BOOKING_FIELDS)
    data.update(_BOOKING_EXTRA)
    return data


def booking_response(b: Booking, status_code: int = 200) -> Response:
    return json_response(booking_json(b), status_code)


#: The wire fields in the order ``booking_json`` writes them (the model's, then the extras).
_WIRE_ORDER = tuple(f for f in Booking.model_fields if f in _BOOKING_FIELDS) + tuple(_BOOKING_EXTRA)
_STATUSES = frozenset(get_args(BookingStatus))
_MODES = frozenset({"hold", "commit"})
#: The types an optional text field may hold (checked one by one: a generator over the
#: three names cost more than the rest of the checks together).
_TEXT = (str, type(None))


def plain_booking_json(rec: dict[str, Any], user_id: str, now_ms: int | None) -> bytes | None:
    """``booking_json`` of a stored record as bytes, without building the model; None
    when the record is not plain (ended by an agent, approved by a person, with a
    conferencing link, or any value of a type the model would coerce or refuse).
    ``now_ms`` None: the record as stored (a commit's own record; a hold not judged
    expired), as ``Booking.from_record`` takes it.

    The booking read is the busiest call; the model's validation and dump were a
    tenth of its cost. A commit's plain win is answered the same way. A test compares
    these bytes with the model path's.
    """
    if rec.get("status") == "COMMITTED":
        live = _live_commit_json(rec, user_id)
        if live is not None:
            return live
    return _plain_json(record_fields(rec, user_id, now_ms), 0)


#: Every field of a commit's record as a claim's reply or a read gives it back while it
#: stands; a record with any other (ended, approved, a consent) takes the general path.
_LIVE_COMMIT_FIELDS = frozenset(
    (
        "id agent_id priority mode status start_ms end_ms created_ms committed_ms "
        "arb_until_ms bump_until_ms expires_ms audit_event_id cover_first cover_last "
        "buffer_before_min buffer_after_min title invitee metadata conferencing"
    ).split()
)


def _live_commit_json(rec: dict[str, Any], user_id: str) -> bytes | None:
    """``plain_booking_json`` of a standing commit with no invitee or link, in one pass.

    Most answers are this one (a commit's 201, most booking reads), and going through
    ``record_fields`` and then picking the wire fields from it built two dicts of
    ~25 entries, four datetimes, and type-checked each field: ~58k instructions per
    answer (callgrind). Every field not set here is None for such a record (nothing
    ended it). Property-tested against the model path with the rest of this module.
    """
    if not rec.keys() <= _LIVE_COMMIT_FIELDS or rec.get("invitee") or rec.get("conferencing"):
        return None
    title = rec.get("title") or None
    audit_event_id = rec.get("audit_event_id")
    bump = rec.get("bump_until_ms")
    expires = rec.get("expires_ms")
    start, end, created = rec["start_ms"], rec["end_ms"], rec["created_ms"]
    if (
        type(rec["id"]) is not str
        or type(rec["agent_id"]) is not str
        or type(user_id) is not str
        or type(rec["priority"]) is not int
        or rec["mode"] not in _MODES
        or type(start) is not int
        or type(end) is not int
        or type(created) is not int
        or type(bump or 0) is not int
        or type(expires or 0) is not int
        or type(title) not in _TEXT
        or type(audit_event_id) not in _TEXT
        or min(start, end, created, bump or 0, expires or 0) < 0
        or max(start, end, created, bump or 0, expires or 0) > MAX_MS  # utc_text's range
    ):
        return None
    return _standing_commit(
        rec["id"],
        _commit_middle(rec["agent_id"], user_id, rec["priority"], rec["mode"]),
        start,
        end,
        created,
        expires,
        bump,
        audit_event_id,
        title,
    )


def plain_won_json(won: PlainWon, user_id: str) -> bytes | None:
    """``plain_booking_json`` of a plain commit's outright win (``coordinator/
    plain_wins.py``), from the request and what the script decided, without the record
    the script no longer replies with. None when a value is not one such a record holds:
    the record is built then.

    With the array reply and the answer's per-agent text kept (``_commit_middle``), 5.5
    -> 2.2 µs per answer (reading the reply's JSON, then checking and writing the
    record's fields each time).
    """
    w = won.win
    start, end, now, bump, priority = won.start_ms, won.end_ms, w.now, w.bump_until_ms, w.priority
    if (
        type(won.booking_id) is not str
        or type(won.agent_id) is not str
        or type(user_id) is not str
        or type(w.audit_event_id) is not str
        or type(priority) is not int
        or type(start) is not int
        or type(end) is not int
        or type(now) is not int
        or type(bump) is not int
        or min(start, end, now, bump) < 0
        or max(start, end, now, bump) > MAX_MS  # utc_text's range
    ):
        return None
    return _standing_commit(
        won.booking_id,
        _commit_middle(won.agent_id, user_id, priority, "commit"),
        start,
        end,
        now,
        0,
        bump,
        w.audit_event_id,
        None,
    )


#: ``_commit_middle``'s texts by (agent, owner, priority, mode); past 4,096 it starts over.
_MIDDLES: dict[tuple[str, str, int, str], str] = {}


def _commit_middle(agent_id: str, user_id: str, priority: int, mode: str) -> str:
    """The text of a standing commit's answer from after its booking id to the start's
    value: the same for every answer about this agent's commits, so it is kept."""
    middle = _MIDDLES.get((agent_id, user_id, priority, mode))
    if middle is None:
        if len(_MIDDLES) >= 4096:
            _MIDDLES.clear()
        middle = _MIDDLES[agent_id, user_id, priority, mode] = (
            f',"status":"COMMITTED","agent_id":{_json_text(agent_id)},'
            f'"user_id":{_json_text(user_id)},"priority":{priority},"mode":"{mode}","start":"'
        )
    return middle


def _standing_commit(
    booking_id: str,
    middle: str,
    start: int,
    end: int,
    created: int,
    expires: int | None,
    bump: int | None,
    audit_event_id: str | None,
    title: str | None,
) -> bytes:
    """The wire fields of a standing commit in order (``_WIRE_ORDER``), strings escaped
    by orjson itself (the values checked by the caller); ``middle`` is
    ``_commit_middle``'s."""
    return (
        f'{{"booking_id":{_json_text(booking_id)}{middle}{utc_text(start)}",'
        f'"end":"{utc_text(end)}","created_at":"{utc_text(created)}",'
        f'"expires_at":{_time_or_null(expires)},"bump_until":{_time_or_null(bump)},'
        f'"audit_event_id":{_json_text(audit_event_id)},"title":{_json_text(title)}'
        f"{_LIVE_COMMIT_TAIL}"
    ).encode()


#: The wire fields after ``title`` of a standing commit (nothing ended it).
_LIVE_COMMIT_TAIL = (
    ',"invitee":null,"displaced":[],"waited_ms":0,"ended_at":null,'
    '"ended_by_booking_id":null,"ended_by_agent_id":null,"ended_by_priority":null,'
    '"ended_by_agent_name":null,"receipt":null,"conferencing":null}'
)


def _json_text(value: str | None) -> str:
    """``value`` as orjson writes it inside a document (escaped text, or null)."""
    return orjson.dumps(value).decode()


def _time_or_null(ms: int | None) -> str:
    """``ms``'s time as answered (a zero or absent one is null)."""
    return f'"{utc_text(ms)}"' if ms else "null"


def booking_bytes(b: Booking) -> bytes:
    """``orjson.dumps(booking_json(b))``, from the model's fields when they are plain.

    A commit's answer: pydantic's dump of the model took ~10 us of the ~170 us the
    worker spends on a commit. A booking that displaced others, or is not plain (see
    :func:`plain_booking_json`), takes the model's dump. Property-tested against it.
    """
    if not b.displaced:
        plain = _plain_json(b.__dict__, b.waited_ms)
        if plain is not None:
            return plain
    return orjson.dumps(booking_json(b))


def _plain_json(fields: Mapping[str, Any], waited_ms: int) -> bytes | None:
    if (
        fields["approval_id"] is not None
        or fields["conferencing"] is not None
        or fields["ended_by_agent_id"] is not None
        or fields["status"] not in _STATUSES
        or fields["mode"] not in _MODES
        or type(fields["booking_id"]) is not str
        or type(fields["agent_id"]) is not str
        or type(fields["user_id"]) is not str
        or type(fields["priority"]) is not int
        or type(fields["ended_by_priority"]) not in (int, type(None))
        or type(fields["invitee"]) not in (dict, type(None))
        or type(waited_ms) is not int
        or type(fields["audit_event_id"]) not in _TEXT
        or type(fields["title"]) not in _TEXT
        or type(fields["ended_by_booking_id"]) not in _TEXT
    ):
        return None
    out = {name: fields.get(name) for name in _WIRE_ORDER}  # receipt, agent name: None
    out["displaced"] = []
    out["waited_ms"] = waited_ms
    try:
        return orjson.dumps(out, option=orjson.OPT_UTC_Z)
    except TypeError:  # a value orjson will not write (e.g. an integer past 64 bits)
        return None
