"""Judging one write against the owner's wall-clock rules (hours, focus blocks, approval gate).

This is the Python half of rule enforcement (see ``lua/_gate.lua`` for the other):
working hours, focus blocks and whether the approval gate applies need the owner's
timezone database, which Redis Lua does not have. The verdict travels to the claim
script with the snapshot's ``rules_version``; the script refuses it if the rules
have changed since, so judging outside the atomic step is still exact. Lead time
and the daily cap are only prepared here (the script judges them on its own clock
and its own view of the calendar).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from .ruleset import RulesSnapshot
from .wallclock import (
    Intervals,
    iso_local,
    local_date,
    local_day_bounds,
    utc_days,
    weekly_intervals,
)


@dataclass(frozen=True)
class Verdict:
    """What the wall-clock rules say about one write."""

    #: ``outside_working_hours`` or ``focus_block``, or None
    violation: str | None = None
    detail: str = ""
    #: True when the write is a commit that must wait for a person
    consent: bool = False
    consent_reason: str = ""


#: The verdict of a write no rule objects to, made once: a frozen dataclass's
#: ``__init__`` sets each field through ``object.__setattr__`` (~1.5% of the worker's
#: instructions per commit), and a frozen value can be shared.
CLEAR = Verdict()


@dataclass(frozen=True)
class CapWindow:
    """The local day a booking counts against for the daily cap."""

    local_date: date
    lo_ms: int
    hi_ms: int
    utc_days: list[int]


def working_hours(snap: RulesSnapshot, lo_ms: int, hi_ms: int) -> Intervals | None:
    """Working time meeting ``[lo, hi)`` as absolute intervals; None = no such rule."""
    if snap.hours is None:
        return None
    return weekly_intervals(snap.hours, lo_ms, hi_ms, snap.tz)


def focus_time(snap: RulesSnapshot, lo_ms: int, hi_ms: int) -> Intervals:
    """Focus blocks (weekly and one-off) meeting ``[lo, hi)``."""
    weekly = (
        weekly_intervals(snap.weekly_focus, lo_ms, hi_ms, snap.tz)
        if snap.weekly_focus
        else Intervals(())
    )
    spans = list(zip(weekly.starts, weekly.ends, strict=True))
    spans += [(s, e) for s, e in snap.once_focus if s < hi_ms and e > lo_ms]
    return Intervals(spans)


def judge(
    snap: RulesSnapshot,
    agent_id: str,
    mode: str,
    start_ms: int,
    end_ms: int,
    *,
    approved: bool = False,
) -> Verdict:
    """The verdict for ``[start, end)``: the meeting itself, buffers not included.

    Buffers are the owner's preparation time, so they may reach outside working
    hours or into a focus block; the meeting may not. ``approved``: a person has
    approved this commit, so the gate is passed, and a commit outside working hours
    that the gate let through stays allowed.
    """
    if snap.judges_nothing:
        return CLEAR
    tz = snap.tz
    gate = snap.rules.require_approval
    gated = gate is not None and gate.applies_to(agent_id)
    hours = working_hours(snap, start_ms, end_ms)
    outside = hours is not None and not hours.covers(start_ms, end_ms)
    if outside and not (gated and gate is not None and gate.outside_working_hours):
        return Verdict(
            "outside_working_hours",
            f"{iso_local(start_ms, tz)}..{iso_local(end_ms, tz)} is outside the owner's "
            f"working hours ({snap.timezone})",
        )
    block = (
        focus_time(snap, start_ms, end_ms).first_overlap(start_ms, end_ms)
        if snap.weekly_focus or snap.once_focus
        else None
    )
    if block is not None:
        return Verdict(
            "focus_block",
            f"overlaps the owner's focus time {iso_local(block[0], tz)}..{iso_local(block[1], tz)}",
        )
    if mode != "commit" or not gated or approved or gate is None:
        return CLEAR
    minutes = (end_ms - start_ms) / 60_000
    if gate.unconditional:
        return Verdict(consent=True, consent_reason="the owner approves every commit of this agent")
    if gate.above_minutes is not None and minutes > gate.above_minutes:
        return Verdict(consent=True, consent_reason=f"longer than {gate.above_minutes} minutes")
    if gate.outside_working_hours and outside:
        return Verdict(consent=True, consent_reason="outside working hours")
    return CLEAR


def cap_window(snap: RulesSnapshot, start_ms: int) -> CapWindow:
    """The local day of ``start`` and the UTC day hashes that hold its buckets."""
    day = local_date(start_ms, snap.tz)
    lo, hi = local_day_bounds(day, snap.tz)
    return CapWindow(day, lo, hi, utc_days(lo, hi))


def gate_checks(
    snap: RulesSnapshot, verdict: Verdict, start_ms: int, *, scope: str, limits: dict[str, Any]
) -> tuple[dict[str, Any], list[int]]:
    """The checks JSON a claiming script's gate reads (``lua/_gate.lua``) for one write,
    and the UTC days of its local day (the daily cap's keys): shared by a commit and by
    a booking moved to a counter-offer's slot, so both are judged by the same rules."""
    rules = snap.rules
    checks: dict[str, Any] = {
        "scope": scope,
        "limits": limits,
        "rv": snap.version,
        "lead_ms": (rules.min_lead_minutes or 0) * 60_000,
    }
    if verdict.violation:
        checks["violation"], checks["detail"] = verdict.violation, verdict.detail
    cap_days: list[int] = []
    if rules.daily_cap:
        cw = cap_window(snap, start_ms)
        cap_days = cw.utc_days
        checks.update(
            cap=rules.daily_cap,
            cap_lo_ms=cw.lo_ms,
            cap_hi_ms=cw.hi_ms,
            cap_days=cap_days,
            local_date=cw.local_date.isoformat(),
        )
    return checks, cap_days
