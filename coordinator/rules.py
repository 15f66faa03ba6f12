"""``coord.rules``: validating an owner's rule changes and storing them (their shape is ruleset.py).

Rules live in the owner hash (``rules`` as JSON, ``rules_version``, ``timezone``), so
every process sharing a Redis reads the same ones. ``coord.rules.update`` validates
each rule (a bad one raises :class:`ValidationError` naming it, and nothing is
written), merges onto the current rules and stores them with ``update_rules.lua``,
which bumps ``rules_version`` and appends the audit entry in the same step. The merge
is optimistic: the script refuses a merge made on an older version, so two owners'
sessions editing different rules at once never lose either edit.

Writers judge bookings against a :class:`RulesSnapshot`; the claim script refuses a
verdict made on another version, so a cached snapshot is safe (see ``_gate.lua``).
"""

from __future__ import annotations

import itertools
from typing import Any

from .buckets import check_buffer, parse_time
from .errors import AgentDraftError, NotFound, ValidationError
from .inputs import bad_chars, is_id
from .replies import About, refusal
from .ruleset import (
    DEFAULT_APPROVAL_TTL_SECONDS,
    ApprovalRule,
    OneOffFocus,
    OwnerRules,
    RankedAgent,
    RuleSet,
    RulesSnapshot,
    WeeklyFocus,
)
from .store.errors import store_errors
from .store.handle import Store
from .wallclock import WEEKDAYS, check_timezone, parse_hhmm

MAX_INTERVALS_PER_DAY = 12
MAX_FOCUS_BLOCKS = 500
MAX_FOCUS_TITLE = 200
MAX_LEAD_MINUTES = 366 * 24 * 60
MAX_DAILY_CAP = 1000
MAX_APPROVAL_TTL_SECONDS = 7 * 24 * 3600.0
#: The longest hold the engine stores at all (``Bookings.write`` refuses more).
MAX_HOLD_TTL_SECONDS = 24 * 3600.0
_MAX_MERGE_RETRIES = 8

RULE_NAMES = (
    "working_hours",
    "buffer_before_min",
    "buffer_after_min",
    "focus_blocks",
    "min_lead_minutes",
    "daily_cap",
    "require_approval",
    "max_hold_ttl_seconds",
)

# -- validation: input as a person writes it -> the stored JSON shape -------------------


def _minutes(value: Any, field_name: str, hi: int, lo: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValidationError(field_name, f"must be whole minutes from {lo} to {hi}")
    return value


def _span(value: Any, field_name: str) -> tuple[str, str]:
    if isinstance(value, str) and "-" in value:
        value = tuple(value.split("-", 1))
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValidationError(field_name, f"expected ('HH:MM', 'HH:MM'), got {value!r}")
    try:
        a, b = parse_hhmm(value[0]), parse_hhmm(value[1])
    except ValueError as exc:
        raise ValidationError(field_name, str(exc)) from None
    if b <= a:
        raise ValidationError(
            field_name,
            f"{value[0]}-{value[1]} ends before it starts; split a night shift into two days",
        )
    return value[0], value[1]


def check_working_hours(value: Any) -> dict[str, list[tuple[str, str]]]:
    """``{"mon": [("09:00", "17:00")], ...}``; a weekday left out is not bookable."""
    if not isinstance(value, dict) or not value:
        raise ValidationError(
            "working_hours",
            "must map weekdays (mon..sun) to lists of ('HH:MM', 'HH:MM'); "
            "pass None to remove the rule",
        )
    out: dict[str, list[tuple[str, str]]] = {}
    for day, spans in value.items():
        if day not in WEEKDAYS:
            raise ValidationError("working_hours", f"unknown weekday {day!r}; use {WEEKDAYS}")
        if isinstance(spans, str) or not isinstance(spans, list | tuple):
            spans = [spans]
        if len(spans) > MAX_INTERVALS_PER_DAY:
            raise ValidationError("working_hours", f"at most {MAX_INTERVALS_PER_DAY} per day")
        clean = sorted((_span(s, "working_hours") for s in spans), key=lambda s: s[0])
        for (_, e1), (s2, _) in itertools.pairwise(clean):
            if parse_hhmm(s2) < parse_hhmm(e1):
                raise ValidationError("working_hours", f"{day}: intervals overlap")
        out[day] = clean
    return out


def check_focus_blocks(value: Any) -> list[dict[str, Any]]:
    """One-off ``{start, end}`` (aware datetimes) or weekly ``{weekday, start, end}``."""
    if isinstance(value, dict) or not isinstance(value, list | tuple):
        raise ValidationError("focus_blocks", "must be a list of blocks")
    if len(value) > MAX_FOCUS_BLOCKS:
        raise ValidationError("focus_blocks", f"at most {MAX_FOCUS_BLOCKS} blocks")
    out: list[dict[str, Any]] = []
    for block in value:
        if (
            not isinstance(block, dict)
            or not {"start", "end"} <= set(block)
            or not set(block) <= {"start", "end", "weekday", "title", "kind"}
        ):
            raise ValidationError(
                "focus_blocks", f"each block is {{start, end[, weekday][, title]}}, got {block!r}"
            )
        title = block.get("title")
        if title is not None and (
            not isinstance(title, str) or len(title) > MAX_FOCUS_TITLE or bad_chars(title)
        ):
            raise ValidationError(
                "focus_blocks",
                f"title must be one line of text of at most {MAX_FOCUS_TITLE} characters",
            )
        if "weekday" in block:
            if block["weekday"] not in WEEKDAYS:
                raise ValidationError("focus_blocks", f"unknown weekday {block['weekday']!r}")
            start, end = _span((block["start"], block["end"]), "focus_blocks")
            out.append(
                {
                    "kind": "weekly",
                    "weekday": block["weekday"],
                    "start": start,
                    "end": end,
                    "title": title,
                }
            )
        else:
            s = parse_time(block["start"], "focus_blocks")
            e = parse_time(block["end"], "focus_blocks")
            if e <= s:
                raise ValidationError("focus_blocks", "a one-off block must end after it starts")
            out.append(
                {"kind": "once", "start": s.isoformat(), "end": e.isoformat(), "title": title}
            )
    return out


def check_require_approval(value: Any) -> dict[str, Any]:
    allowed = {"agent_ids", "above_minutes", "outside_working_hours", "ttl_seconds"}
    if value is True:
        value = {}
    if not isinstance(value, dict) or not set(value) <= allowed:
        raise ValidationError(
            "require_approval", f"must be True or an object with keys {sorted(allowed)}"
        )
    ids = value.get("agent_ids")
    if ids is not None:
        if (
            isinstance(ids, str)
            or not isinstance(ids, list | tuple)
            or not ids
            or not all(isinstance(i, str) and i.startswith("agt_") and is_id(i) for i in ids)
        ):
            raise ValidationError("require_approval", "agent_ids must be a non-empty list of agt_…")
        ids = list(dict.fromkeys(ids))
    above = value.get("above_minutes")
    if above is not None:
        above = _minutes(above, "require_approval", 31 * 24 * 60)
    outside = value.get("outside_working_hours", False)
    if not isinstance(outside, bool):
        raise ValidationError("require_approval", "outside_working_hours must be True or False")
    ttl = value.get("ttl_seconds", DEFAULT_APPROVAL_TTL_SECONDS)
    if (
        isinstance(ttl, bool)
        or not isinstance(ttl, int | float)
        or not 0.05 <= ttl <= MAX_APPROVAL_TTL_SECONDS
    ):
        raise ValidationError(
            "require_approval", f"ttl_seconds must be 0.05..{MAX_APPROVAL_TTL_SECONDS:g}"
        )
    return {
        "agent_ids": ids,
        "above_minutes": above,
        "outside_working_hours": outside,
        "ttl_seconds": float(ttl),
    }


def check_max_hold_ttl(value: Any) -> float:
    """Seconds from 1 to a day: the longest hold the owner lets an agent ask for."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 1 <= value <= MAX_HOLD_TTL_SECONDS
    ):
        raise ValidationError(
            "max_hold_ttl_seconds",
            f"must be a number of seconds from 1 to {MAX_HOLD_TTL_SECONDS:g}",
        )
    return float(value)


def normalize(name: str, value: Any) -> Any:
    """One rule as it is stored, or :class:`ValidationError` naming it. None clears it."""
    if value is None:
        return None
    if name == "working_hours":
        return check_working_hours(value)
    if name in ("buffer_before_min", "buffer_after_min"):
        return check_buffer(value, name)
    if name == "focus_blocks":
        return check_focus_blocks(value) or None
    if name == "min_lead_minutes":
        return _minutes(value, name, MAX_LEAD_MINUTES)
    if name == "daily_cap":
        return _minutes(value, name, MAX_DAILY_CAP, lo=1)
    if name == "require_approval":
        return check_require_approval(value)
    if name == "max_hold_ttl_seconds":
        return check_max_hold_ttl(value)
    raise ValidationError(name, f"unknown rule; known rules: {', '.join(RULE_NAMES)}")


# -- the registry ------------------------------------------------------------------------

_UNSET: Any = object()


class Rules:
    """``coord.rules``: read and change owners' rules."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def _current(self, user_id: str) -> RulesSnapshot:
        with store_errors("rules.get"):
            rv, tz, raw = self._store.redis.hmget(
                self._store.keys.owner(user_id), ["rules_version", "timezone", "rules"]
            )
        if rv is None:
            raise NotFound(f"no owner {user_id}", error="owner_not_found")
        return RulesSnapshot.from_reply({"rules_version": rv, "timezone": tz, "rules": raw})

    def snapshot(self, user_id: str) -> RulesSnapshot:
        """The owner's rules now (and refresh the cached copy)."""
        return self._store.rules_cache.put(user_id, self._current(user_id))

    def get(self, user_id: str) -> OwnerRules:
        """The owner's rules, timezone, ``rules_version`` and agent ranking."""
        snap = self.snapshot(user_id)
        with store_errors("rules.get"):
            ranking = self._store.redis.zrange(
                self._store.keys.agents(user_id), 0, -1, withscores=True
            )
        return OwnerRules(
            **snap.rules.model_dump(),
            user_id=user_id,
            timezone=snap.timezone,
            rules_version=snap.version,
            ranking=tuple(RankedAgent(agent_id=a, priority=int(p)) for a, p in ranking),
        )

    def update(
        self,
        user_id: str,
        *,
        working_hours: Any = _UNSET,
        buffer_before_min: Any = _UNSET,
        buffer_after_min: Any = _UNSET,
        focus_blocks: Any = _UNSET,
        min_lead_minutes: Any = _UNSET,
        daily_cap: Any = _UNSET,
        require_approval: Any = _UNSET,
        max_hold_ttl_seconds: Any = _UNSET,
    ) -> OwnerRules:
        """Change the rules given (None removes one); the others stay as they are.

        All rules are validated before anything is written. Bumps ``rules_version``
        (outstanding availability etags become stale) and appends a ``rules.updated``
        audit entry. Takes effect on the next write in every process.
        """
        given = {
            "working_hours": working_hours,
            "buffer_before_min": buffer_before_min,
            "buffer_after_min": buffer_after_min,
            "focus_blocks": focus_blocks,
            "min_lead_minutes": min_lead_minutes,
            "daily_cap": daily_cap,
            "require_approval": require_approval,
            "max_hold_ttl_seconds": max_hold_ttl_seconds,
        }
        patch = {name: normalize(name, v) for name, v in given.items() if v is not _UNSET}
        self._write(user_id, patch, timezone="")
        return self.get(user_id)

    def set_timezone(self, user_id: str, timezone: str) -> None:
        """Change the zone every wall-clock rule is read in (bumps ``rules_version``)."""
        tz = check_timezone(timezone)
        self._write(user_id, {}, timezone=tz)

    def _write(self, user_id: str, patch: dict[str, Any], *, timezone: str) -> None:
        snap = self._current(user_id)
        changed = ",".join([*patch, *(["timezone"] if timezone else [])])
        for _ in range(_MAX_MERGE_RETRIES):
            merged = {**snap.rules.model_dump(mode="json", exclude_none=True)}
            for name, value in patch.items():
                if value is None:
                    merged.pop(name, None)
                else:
                    merged[name] = value
            # Round-trip through the model: the stored JSON is always one it can read.
            text = RuleSet.model_validate(merged).model_dump_json(exclude_none=True)
            text = "" if text == "{}" else text
            with store_errors("rules.update"):
                reply = self._store.calls.update_rules(
                    user_id=user_id,
                    base_version=snap.version,
                    rules_json=text,
                    timezone=timezone,
                    changed=changed,
                )
            if reply["r"] == "error":
                raise refusal("rules", reply, About(user_id))
            snap = self._store.rules_cache.put(user_id, RulesSnapshot.from_reply(reply))
            if reply["r"] == "ok":
                return
        raise AgentDraftError("the rules kept changing under this update; try again")


__all__ = [
    "ApprovalRule",
    "OneOffFocus",
    "OwnerRules",
    "RankedAgent",
    "RuleSet",
    "Rules",
    "RulesSnapshot",
    "WeeklyFocus",
]
