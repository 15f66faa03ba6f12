"""Turn caller input into the record the Lua scripts store, or a ValidationError naming
the field (``slots[2].end_time``). Nothing reaches Redis before this passes, so bad
input changes nothing."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from .. import inputs
from ..buckets import check_interval, parse_time, to_ms
from ..errors import ValidationError

MAX_SLOTS = 20
MAX_PARTICIPANTS = 50
MAX_COUNTER_SLOTS = 20
MAX_TITLE = 200
MAX_TEXT = 2000
MAX_WEIGHT = 1000.0
MAX_ID = 64
MAX_TTL_MS = 90 * 24 * 3600 * 1000
RESPONSES = ("accept", "decline", "counter")
#: Fields of free text, where line breaks and tabs are allowed; titles stay one line.
FREE_TEXT_FIELDS = frozenset({"description", "message"})


def check_id(value: object, field: str, prefix: str = "") -> str:
    return inputs.check_id(value, field, max_len=MAX_ID, prefix=prefix)


def text(value: object, field: str, limit: int) -> str | None:
    """Clean text (see :mod:`coordinator.inputs`); free-text fields may hold line breaks."""
    return inputs.text(value, field, max_len=limit, multiline=field in FREE_TEXT_FIELDS)


def _get(item: object, name: str, field: str) -> Any:
    if isinstance(item, Mapping):
        return item.get(name)
    if hasattr(item, name):
        return getattr(item, name)
    raise ValidationError(field, "must be an object with start_time and end_time")


def interval(item: object, field: str, max_minutes: int) -> tuple[int, int]:
    """``(start_ms, end_ms)`` of a slot given as a mapping or an object."""
    if not isinstance(item, Mapping) and not hasattr(item, "start_time"):
        raise ValidationError(field, "must be an object with start_time and end_time")
    start = parse_time(_get(item, "start_time", field), f"{field}.start_time")
    end = parse_time(_get(item, "end_time", field), f"{field}.end_time")
    try:
        check_interval(start, end, max_minutes)
    except ValidationError as exc:
        raise ValidationError(f"{field}.end_time", exc.detail.split(": ", 1)[-1]) from None
    return to_ms(start), to_ms(end)


def weight_u(value: object, field: str) -> int:
    """The weight in millionths (default 1.0): integers add exactly, so ties are ties."""
    if value is None:
        return 1_000_000
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 <= value <= MAX_WEIGHT
    ):
        raise ValidationError(field, f"must be a number between 0 and {MAX_WEIGHT:g}")
    return round(value * 1_000_000)


def slots(value: object, calendar_id: str, max_minutes: int) -> list[dict[str, Any]]:
    if (
        isinstance(value, str | bytes)
        or not isinstance(value, Sequence)
        or not 1 <= len(value) <= MAX_SLOTS
    ):
        raise ValidationError("slots", f"must be a list of 1..{MAX_SLOTS} candidate slots")
    out: list[dict[str, Any]] = []
    seen: set[tuple[int, int]] = set()
    for i, item in enumerate(value):
        field = f"slots[{i}]"
        start_ms, end_ms = interval(item, field, max_minutes)
        if (start_ms, end_ms) in seen:
            raise ValidationError(field, "the same slot is listed twice")
        seen.add((start_ms, end_ms))
        cal = (
            _get(item, "calendar_id", field)
            if isinstance(item, Mapping) or hasattr(item, "calendar_id")
            else None
        )
        if cal is not None and cal != calendar_id:
            raise ValidationError(
                f"{field}.calendar_id",
                f"must be the proposal's calendar {calendar_id!r}: a resolution books on the "
                "calendar its organizer belongs to",
            )
        out.append(
            {
                "start_ms": start_ms,
                "end_ms": end_ms,
                "calendar_id": calendar_id,
                "weight_u": weight_u(
                    _get(item, "weight", field)
                    if isinstance(item, Mapping) or hasattr(item, "weight")
                    else None,
                    f"{field}.weight",
                ),
            }
        )
    return out


def participants(value: object, organizer: str) -> list[str]:
    if (
        isinstance(value, str | bytes)
        or not isinstance(value, Sequence)
        or not 1 <= len(value) <= MAX_PARTICIPANTS
    ):
        raise ValidationError(
            "participant_agent_ids", f"must be a list of 1..{MAX_PARTICIPANTS} agent ids"
        )
    out = [check_id(a, f"participant_agent_ids[{i}]") for i, a in enumerate(value)]
    if len(set(out)) != len(out):
        raise ValidationError("participant_agent_ids", "lists the same agent twice")
    return out


def expires_ms(value: object, default_ttl_ms: int) -> int | None:
    """Absolute expiry in ms, or None for "now + default" (the script adds its clock)."""
    if value is None:
        return None
    when = parse_time(value, "expires_at") if isinstance(value, str | datetime) else None
    if when is None:
        raise ValidationError("expires_at", "must be an ISO 8601 datetime with an offset")
    return to_ms(when)


def counter_slots(value: object, max_minutes: int) -> list[dict[str, int]]:
    if value is None:
        return []
    if (
        isinstance(value, str | bytes)
        or not isinstance(value, Sequence)
        or len(value) > MAX_COUNTER_SLOTS
    ):
        raise ValidationError(
            "counter_slots", f"must be a list of at most {MAX_COUNTER_SLOTS} slots"
        )
    out = []
    for i, item in enumerate(value):
        s, e = interval(item, f"counter_slots[{i}]", max_minutes)
        out.append({"start_ms": s, "end_ms": e})
    return out


def response(
    kind: object, selected_slot_id: object, counter: object, message: object, max_minutes: int
) -> dict[str, Any]:
    """The answer payload, checked against the protocol's shape."""
    if kind not in RESPONSES:
        raise ValidationError("response", f"must be one of {list(RESPONSES)}")
    if kind == "accept" and selected_slot_id is None:
        raise ValidationError("selected_slot_id", "is required to accept: name the slot")
    if selected_slot_id is not None:
        check_id(selected_slot_id, "selected_slot_id", "slt_")
    if kind != "counter" and counter:
        raise ValidationError("counter_slots", "only a counter carries counter_slots")
    out: dict[str, Any] = {"response": kind}
    if selected_slot_id is not None:
        out["selected_slot_id"] = selected_slot_id
    cs = counter_slots(counter, max_minutes)
    if cs:
        out["counter_slots"] = cs
    msg = text(message, "message", MAX_TEXT)
    if msg is not None:
        out["message"] = msg
    return out
