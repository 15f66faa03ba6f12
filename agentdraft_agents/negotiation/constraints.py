"""What the requester will accept instead of the slot they asked for.

The owner's rules (working hours, focus blocks, lead time, caps) are the
coordinator's business: availability is already filtered through them. These are
the *requester's* limits on a counter-proposal: no earlier than, no later than,
only these weekdays, only between these wall-clock hours in their timezone, not
further than so many minutes from the wanted time. A slot that breaks one is never
offered to a policy and never booked.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from ..results import Slot, iso

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Constraints(BaseModel):
    """The requester's limits on any slot booked instead of the wanted one.

    Absolute bounds (``earliest_start``, ``latest_start``) must carry an offset.
    Wall-clock limits (``weekdays``, ``not_before``, ``not_after``) are read in
    ``timezone``, the requester's, which may differ from the calendar owner's.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    earliest_start: AwareDatetime | None = None
    latest_start: AwareDatetime | None = None
    #: How far (in minutes) a slot's start may lie from the wanted start, either way.
    max_distance_minutes: int | None = Field(default=None, ge=0)
    weekdays: tuple[Weekday, ...] | None = None
    #: The meeting starts at or after this local time...
    not_before: time | None = None
    #: ...and ends at or before this local time, on the day it starts.
    not_after: time | None = None
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA timezone {value!r}") from None
        return value

    @field_validator("weekdays")
    @classmethod
    def _some_weekday(cls, value: tuple[Weekday, ...] | None) -> tuple[Weekday, ...] | None:
        if value is not None and not value:
            raise ValueError("an empty weekday list allows nothing; leave it out instead")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Constraints:
        if self.earliest_start and self.latest_start and self.latest_start < self.earliest_start:
            raise ValueError("latest_start is before earliest_start")
        if self.not_before and self.not_after and self.not_after <= self.not_before:
            raise ValueError("not_after must be later than not_before")
        return self

    def to_state(self) -> dict[str, Any]:
        """The JSON form graphs keep in state (unset limits left out)."""
        return self.model_dump(mode="json", exclude_none=True, exclude_defaults=True)

    def violations(self, slot: Slot, wanted: Slot) -> list[str]:
        """Why ``slot`` is not acceptable instead of ``wanted``; empty if it is."""
        out: list[str] = []
        if self.earliest_start and slot.start < self.earliest_start:
            out.append(f"starts before earliest_start {iso(self.earliest_start)}")
        if self.latest_start and slot.start > self.latest_start:
            out.append(f"starts after latest_start {iso(self.latest_start)}")
        if self.max_distance_minutes is not None and abs(slot.start - wanted.start) > timedelta(
            minutes=self.max_distance_minutes
        ):
            out.append(f"starts more than {self.max_distance_minutes} min from the wanted time")
        tz = ZoneInfo(self.timezone)
        local_start, local_end = slot.start.astimezone(tz), slot.end.astimezone(tz)
        if self.weekdays and WEEKDAYS[local_start.weekday()] not in self.weekdays:
            out.append(f"falls on {WEEKDAYS[local_start.weekday()]} ({self.timezone})")
        if self.not_before and local_start.time() < self.not_before:
            out.append(f"starts before {self.not_before:%H:%M} {self.timezone}")
        if self.not_after and (
            local_end.date() != local_start.date() or local_end.time() > self.not_after
        ):
            out.append(f"ends after {self.not_after:%H:%M} {self.timezone}")
        return out

    def allows(self, slot: Slot, wanted: Slot) -> bool:
        """True if ``slot`` may be booked instead of ``wanted``."""
        return not self.violations(slot, wanted)

    def start_window(self, wanted: Slot, horizon: timedelta) -> tuple[datetime, datetime]:
        """The earliest and latest start worth searching: ``wanted ± horizon``, narrowed.

        The bounds may cross (latest before earliest), meaning nothing can qualify.
        """
        lo, hi = wanted.start - horizon, wanted.start + horizon
        if self.earliest_start:
            lo = max(lo, self.earliest_start.astimezone(UTC))
        if self.latest_start:
            hi = min(hi, self.latest_start.astimezone(UTC))
        if self.max_distance_minutes is not None:
            d = timedelta(minutes=self.max_distance_minutes)
            lo, hi = max(lo, wanted.start - d), min(hi, wanted.start + d)
        return lo, hi

    def describe(self) -> list[str]:
        """One line per limit, for a person or a model to read."""
        out = []
        if self.earliest_start:
            out.append(f"start no earlier than {iso(self.earliest_start)}")
        if self.latest_start:
            out.append(f"start no later than {iso(self.latest_start)}")
        if self.max_distance_minutes is not None:
            out.append(f"start within {self.max_distance_minutes} minutes of the wanted time")
        if self.weekdays:
            out.append(f"only on {', '.join(self.weekdays)} ({self.timezone})")
        if self.not_before:
            out.append(f"start at or after {self.not_before:%H:%M} ({self.timezone})")
        if self.not_after:
            out.append(f"end by {self.not_after:%H:%M} ({self.timezone})")
        return out


__all__ = ["WEEKDAYS", "Constraints", "Weekday"]
