"""Local wall-clock time to absolute instants in the owner's timezone, across DST; zone names.

Working hours and weekly focus blocks are written in local wall time ("09:00-17:00
on Mondays"). Each is turned into absolute instants one local date at a time with
``zoneinfo``, so a rule keeps its local meaning on both sides of a daylight-saving
change: 09:00-17:00 is eight real hours either side, and the switch days are 23 or
25 hours long. All arithmetic is on UTC milliseconds, never on aware local
datetimes (Python adds wall-clock time to those, which is wrong across a switch).

Local times that do not exist (the skipped hour) resolve to the instant after the
gap; local times that happen twice (the repeated hour) resolve to the first one
(PEP 495, ``fold=0``).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from .buckets import from_ms, to_ms
from .errors import ValidationError

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MINUTES = 24 * 60

#: weekday name -> intervals in minutes after local midnight, ``end`` may be 1440
WeeklyTable = Mapping[str, Sequence[tuple[int, int]]]


def check_timezone(name: object) -> str:
    """An IANA zone name, or a :class:`ValidationError` naming ``timezone``."""
    if not isinstance(name, str) or not name:
        raise ValidationError("timezone", "must be an IANA zone name such as Europe/Berlin")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError("timezone", f"unknown IANA zone {name!r}") from None
    if name not in available_timezones() and name != "UTC":
        raise ValidationError("timezone", f"unknown IANA zone {name!r}")
    return name


def parse_hhmm(text: str) -> int:
    """Minutes after midnight for ``"HH:MM"`` (``"24:00"`` allowed); ValueError otherwise."""
    if not isinstance(text, str) or len(text) != 5 or text[2] != ":":
        raise ValueError(f"expected HH:MM, got {text!r}")
    hh, mm = text[:2], text[3:]
    if not (hh.isdigit() and mm.isdigit()):
        raise ValueError(f"expected HH:MM, got {text!r}")
    h, m = int(hh), int(mm)
    if m > 59 or h > 24 or (h == 24 and m):
        raise ValueError(f"{text!r} is not a time of day (00:00..24:00)")
    return h * 60 + m


def local_instant_ms(day: date, minute: int, tz: ZoneInfo) -> int:
    """The instant the owner's clock shows ``minute`` after midnight of ``day``."""
    if minute >= DAY_MINUTES:
        day, minute = day + timedelta(days=1), minute - DAY_MINUTES
    naive = datetime.combine(day, time(minute // 60, minute % 60))
    return to_ms(naive.replace(tzinfo=tz))


def local_date(ms: int, tz: ZoneInfo) -> date:
    return from_ms(ms).astimezone(tz).date()


def local_day_bounds(day: date, tz: ZoneInfo) -> tuple[int, int]:
    """``[start, end)`` of one local calendar day, in ms (23 or 25 h on DST days)."""
    return local_instant_ms(day, 0, tz), local_instant_ms(day + timedelta(days=1), 0, tz)


def local_dates(lo_ms: int, hi_ms: int, tz: ZoneInfo, margin: int = 0) -> list[date]:
    """Every local date ``[lo, hi)`` touches, widened by ``margin`` days each side."""
    first = local_date(lo_ms, tz) - timedelta(days=margin)
    last = local_date(max(lo_ms, hi_ms - 1), tz) + timedelta(days=margin)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def utc_days(lo_ms: int, hi_ms: int) -> list[int]:
    """The UTC day numbers (days since the epoch) ``[lo, hi)`` touches."""
    day_ms = 86_400_000
    return list(range(lo_ms // day_ms, (max(lo_ms, hi_ms - 1)) // day_ms + 1))


def weekly_intervals(table: WeeklyTable, lo_ms: int, hi_ms: int, tz: ZoneInfo) -> Intervals:
    """A weekly local-time table as absolute intervals meeting ``[lo, hi)``."""
    out: list[tuple[int, int]] = []
    for day in local_dates(lo_ms, hi_ms, tz, margin=1):
        for a, b in table.get(WEEKDAYS[day.weekday()], ()):
            s, e = local_instant_ms(day, a, tz), local_instant_ms(day, b, tz)
            if e > s and e > lo_ms and s < hi_ms:
                out.append((s, e))
    return Intervals(out)


class Intervals:
    """Sorted, merged ``[start, end)`` ms intervals with O(log n) cover/overlap tests."""

    def __init__(self, spans: Iterable[tuple[int, int]]) -> None:
        # Merged straight into the two lists (no list per interval, no max call): an
        # availability read builds three of these, one from every booking of the range.
        starts: list[int] = []
        ends: list[int] = []
        for s, e in sorted(spans):
            if ends and s <= ends[-1]:
                if e > ends[-1]:
                    ends[-1] = e
            else:
                starts.append(s)
                ends.append(e)
        self.starts = starts
        self.ends = ends

    def __bool__(self) -> bool:
        return bool(self.starts)

    def covers(self, s: int, e: int) -> bool:
        """Is all of ``[s, e)`` inside one merged interval?"""
        i = bisect.bisect_right(self.starts, s) - 1
        return i >= 0 and self.ends[i] >= e

    def overlaps(self, s: int, e: int) -> bool:
        """Does any interval share time with ``[s, e)``?"""
        i = bisect.bisect_left(self.ends, s + 1)  # first interval ending after s
        return i < len(self.starts) and self.starts[i] < e

    def first_overlap(self, s: int, e: int) -> tuple[int, int] | None:
        i = bisect.bisect_left(self.ends, s + 1)
        if i < len(self.starts) and self.starts[i] < e:
            return self.starts[i], self.ends[i]
        return None


def iso_local(ms: int, tz: ZoneInfo) -> str:
    """An instant as the owner reads it, for error messages."""
    return from_ms(ms).astimezone(tz).isoformat(timespec="minutes")


def iso_utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()
