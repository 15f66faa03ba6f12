"""The shape of an owner's rules (pydantic models) and the parsed, cached snapshot of one version.

Kept apart from :mod:`coordinator.rules` (validation and storage) because the
engine and the availability reader judge against a :class:`RulesSnapshot` without
needing to know how rules are edited.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field

from .buckets import to_ms
from .models import _Model
from .wallclock import WeeklyTable, parse_hhmm

#: A parked commit waits this long for a person unless the rule says otherwise.
DEFAULT_APPROVAL_TTL_SECONDS = 1800.0
#: The longest hold an agent may ask for while the owner has set no ``max_hold_ttl_seconds``:
#: long enough to ask a person, short enough that a forgotten hold frees the slot the
#: same hour.
DEFAULT_MAX_HOLD_TTL_SECONDS = 3600.0

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class WeeklyFocus(_Model):
    """A focus block every week on ``weekday``, ``start``-``end`` local time."""

    kind: Literal["weekly"] = "weekly"
    weekday: Weekday
    start: str
    end: str
    title: str | None = None


class OneOffFocus(_Model):
    """A focus block at fixed instants."""

    kind: Literal["once"] = "once"
    start: datetime
    end: datetime
    title: str | None = None


FocusBlock = Annotated[WeeklyFocus | OneOffFocus, Field(discriminator="kind")]


class ApprovalRule(_Model):
    """Which commits wait for a person (the conditions are OR-ed; none = every commit).

    ``agent_ids`` limits the rule to some agents (None: all of them);
    ``above_minutes`` gates bookings longer than that; ``outside_working_hours``
    turns a commit outside working hours from a ``RuleViolation`` into a request the
    owner can approve. ``ttl_seconds`` is how long the parked hold waits.
    """

    agent_ids: tuple[str, ...] | None = None
    above_minutes: int | None = None
    outside_working_hours: bool = False
    ttl_seconds: float = DEFAULT_APPROVAL_TTL_SECONDS

    def applies_to(self, agent_id: str) -> bool:
        return self.agent_ids is None or agent_id in self.agent_ids

    @property
    def unconditional(self) -> bool:
        return self.above_minutes is None and not self.outside_working_hours


class RuleSet(_Model):
    """An owner's rules. Every field None means "no such rule": bookable at any hour."""

    working_hours: dict[Weekday, tuple[tuple[str, str], ...]] | None = None
    buffer_before_min: int | None = None
    buffer_after_min: int | None = None
    focus_blocks: tuple[FocusBlock, ...] | None = None
    min_lead_minutes: int | None = None
    daily_cap: int | None = None
    require_approval: ApprovalRule | None = None
    #: The longest ``hold_ttl_seconds`` an agent may ask for (None: the default, an hour).
    max_hold_ttl_seconds: float | None = None

    @property
    def hold_ttl_cap(self) -> float:
        """The hold TTL an agent may ask for at most, the owner's or the default."""
        cap = self.max_hold_ttl_seconds
        return DEFAULT_MAX_HOLD_TTL_SECONDS if cap is None else cap


class RankedAgent(_Model):
    agent_id: str
    priority: int


class OwnerRules(RuleSet):
    """What ``coord.rules.get`` returns: the rules, their version, zone and ranking."""

    user_id: str
    timezone: str
    rules_version: int
    ranking: tuple[RankedAgent, ...] = ()


@dataclass(frozen=True)
class RulesSnapshot:
    """One version of an owner's rules, parsed once and judged against many times."""

    version: int
    timezone: str
    rules: RuleSet = field(default_factory=RuleSet)
    #: The rules JSON this was parsed from ('' = none), to know a reply's rules as these.
    raw: str = field(default="", compare=False)

    @classmethod
    def from_reply(cls, reply: dict[str, Any]) -> RulesSnapshot:
        raw = reply.get("rules") or ""
        rules = RuleSet.model_validate_json(raw) if raw else RuleSet()
        return cls(int(reply["rules_version"]), reply.get("timezone") or "UTC", rules, raw)

    def describes(self, reply: dict[str, Any]) -> bool:
        """Whether ``reply`` carries exactly these rules (same version, zone and JSON)."""
        return (
            self.version == int(reply["rules_version"])
            and self.timezone == (reply.get("timezone") or "UTC")
            and self.raw == (reply.get("rules") or "")
        )

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def hours(self) -> WeeklyTable | None:
        wh = self.rules.working_hours
        if wh is None:
            return None
        return {d: [(parse_hhmm(a), parse_hhmm(b)) for a, b in spans] for d, spans in wh.items()}

    @cached_property
    def weekly_focus(self) -> WeeklyTable:
        table: dict[str, list[tuple[int, int]]] = {}
        for f in self.rules.focus_blocks or ():
            if isinstance(f, WeeklyFocus):
                table.setdefault(f.weekday, []).append((parse_hhmm(f.start), parse_hhmm(f.end)))
        return table

    @cached_property
    def judges_nothing(self) -> bool:
        """No working hours, focus block or approval rule: ``policy.judge`` clears every
        write at once (most owners; judging each commit anyway was ~1% of its CPU)."""
        return (
            self.hours is None
            and not self.weekly_focus
            and not self.once_focus
            and self.rules.require_approval is None
        )

    @cached_property
    def once_focus(self) -> list[tuple[int, int]]:
        return [
            (to_ms(f.start), to_ms(f.end))
            for f in self.rules.focus_blocks or ()
            if isinstance(f, OneOffFocus)
        ]


#: The snapshot a process starts with: no version matches it, so the first claim is
#: told the real rules and judged again.
UNKNOWN = RulesSnapshot(version=-1, timezone="UTC")


class SnapshotCache:
    """Latest known snapshot per owner, shared by the threads of one coordinator."""

    def __init__(self) -> None:
        self._by_owner: dict[str, RulesSnapshot] = {}
        self._lock = threading.Lock()

    def get(self, user_id: str) -> RulesSnapshot:
        return self._by_owner.get(user_id, UNKNOWN)

    def from_reply(self, user_id: str, reply: dict[str, Any]) -> RulesSnapshot:
        """The snapshot of the rules ``reply`` carries, kept as the latest known.

        The kept one when it already describes them (most reads: parsing the rules and
        deriving their tables again per read cost more than the slot search)."""
        cur = self._by_owner.get(user_id)
        if cur is not None and cur.describes(reply):
            return cur
        return self.put(user_id, RulesSnapshot.from_reply(reply))

    def put(self, user_id: str, snap: RulesSnapshot) -> RulesSnapshot:
        with self._lock:
            cur = self._by_owner.get(user_id)
            if cur is None or snap.version >= cur.version:
                self._by_owner[user_id] = snap
        return snap
