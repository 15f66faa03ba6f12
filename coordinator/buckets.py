"""Time → 5-minute buckets, and the input checks every write passes first.

A booking covers every bucket its ``[start - buffer_before, end + buffer_after)``
touches. Buckets are numbered from the Unix epoch and grouped by UTC day so one
Redis hash per calendar-day holds them (about a third of the memory of one key
per bucket). Validation lives here so a bad request is refused before any
round trip, naming the field, and never reaches the store.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from .errors import ValidationError

BUCKET_MINUTES = 5
BUCKET_MS = BUCKET_MINUTES * 60 * 1000
BUCKETS_PER_DAY = 24 * 60 // BUCKET_MINUTES

#: Earliest and latest instants a booking may touch. Outside them a datetime is a bug.
MIN_TIME = datetime(2000, 1, 1, tzinfo=UTC)
MAX_TIME = datetime(2200, 1, 1, tzinfo=UTC)
#: Buffers are minutes on either side; more than a day is never meant.
MAX_BUFFER_MINUTES = 24 * 60


def read_time(value: object) -> datetime:
    """The one reading of a time: a datetime as given, or ISO 8601 text (``Z`` or an offset).

    Raises ``ValueError`` for text that is not ISO 8601 and ``TypeError`` for anything
    else. The result may be naive: each caller refuses that in its own words (the
    coordinator with a :class:`ValidationError`, the agent tools with text a model can
    act on), but both read the same input the same way.
    """
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        return datetime.fromisoformat(text)
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__}")
    return value


def is_naive(value: datetime) -> bool:
    """True when ``value`` names no single instant (no timezone, or one without an offset)."""
    return value.tzinfo is None or value.tzinfo.utcoffset(value) is None


def parse_time(value: datetime | str, field: str) -> datetime:
    """An aware datetime from a datetime or ISO 8601 text; naive input is refused.

    A naive time has no single meaning across agents in different zones, so it is
    an error rather than a guess. ``Z`` and offsets are accepted.
    """
    if type(value) is str and len(value) <= _KEPT_TEXT:
        read = _read_text(value)
        if type(read) is str:
            raise ValidationError(field, read)
        return read  # type: ignore[return-value]
    return _parse_time(value, field)


#: Longest time text whose reading is kept (ISO 8601 with an offset and microseconds
#: is 32 characters).
_KEPT_TEXT = 40


@functools.lru_cache(maxsize=4096)
def _read_text(text: str) -> datetime | str:
    """``parse_time`` of ``text``: the UTC datetime, or why it is refused.

    Kept per text: agents send the same slot times again and again (the grid's
    half-hours, the answer of an availability read), and reading one anew was about a
    microsecond of every commit's two. A refusal is kept as its reason, named for the
    field by ``parse_time``.
    """
    try:
        return _parse_time(text, "")
    except ValidationError as refused:
        return str(refused).removeprefix(": ")


def _parse_time(value: datetime | str, field: str) -> datetime:
    try:
        value = read_time(value)
    except ValueError:
        raise ValidationError(field, f"not an ISO 8601 datetime: {value!r}") from None
    except TypeError as exc:
        raise ValidationError(field, str(exc)) from None
    if is_naive(value):
        raise ValidationError(
            field, "naive datetime: give a timezone (e.g. 2026-05-01T16:00:00+02:00 or ...Z)"
        )
    if not MIN_TIME <= value <= MAX_TIME:
        raise ValidationError(field, f"{value.isoformat()} is outside 2000-01-01..2200-01-01")
    return value.astimezone(UTC)


def to_ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


#: ``MAX_TIME`` in milliseconds: ``utc_text`` is exact from 0 up to here.
MAX_MS = 7_258_118_400_000


def utc_text(ms: int) -> str:
    """The JSON text of ``from_ms(ms)`` as the answers write it (orjson, ``OPT_UTC_Z``:
    ``2031-03-03T10:00:00Z``, or ``...:00.250000Z`` with milliseconds), without the
    datetime.

    A booking answer carries four times; building each datetime and having orjson ask
    its timezone for the offset was ~9k of the ~58k instructions of a commit's answer,
    each. The seconds' text is kept (slot times and the current second repeat across
    requests). A hypothesis property holds it to orjson's text over the whole range
    ``parse_time`` accepts, up to ``MAX_MS``.
    """
    second, frac = divmod(ms, 1000)
    text = _SECOND_TEXT.get(second)
    if text is None:
        if len(_SECOND_TEXT) >= _KEPT_SECONDS:
            _SECOND_TEXT.clear()
        text = _SECOND_TEXT[second] = datetime.fromtimestamp(second, UTC).strftime(
            "%Y-%m-%dT%H:%M:%S"
        )
    return text + _FRACTIONS[frac]


#: The text after the seconds for each millisecond (``.250000Z``; ``Z`` for none): a
#: format spec per answer cost more than the rest of ``utc_text``.
_FRACTIONS = tuple(f".{frac:03d}000Z" if frac else "Z" for frac in range(1000))

#: Seconds whose text ``utc_text`` keeps (past this it starts over).
_KEPT_SECONDS = 8192
_SECOND_TEXT: dict[int, str] = {}


class Cover(NamedTuple):
    """The buckets a booking occupies: ``first`` inclusive, ``last`` exclusive.

    A named tuple, not a frozen dataclass: every write builds one, and the dataclass's
    ``__init__`` (each field set through ``object.__setattr__``) cost several times more.
    """

    first: int
    last: int

    def days(self) -> Iterator[tuple[int, int, int]]:
        """Yield ``(day, first_field, last_field_inclusive)`` for each UTC day touched."""
        b = self.first
        while b < self.last:
            day = b // BUCKETS_PER_DAY
            day_end = (day + 1) * BUCKETS_PER_DAY
            stop = min(self.last, day_end)
            yield day, b % BUCKETS_PER_DAY, (stop - 1) % BUCKETS_PER_DAY
            b = stop

    def overlaps(self, other: Cover) -> bool:
        return self.first < other.last and other.first < self.last

    def __len__(self) -> int:
        return self.last - self.first


def cover(start: datetime, end: datetime, buffer_before_min: int, buffer_after_min: int) -> Cover:
    """Buckets touched by ``[start - before, end + after)``."""
    lo = to_ms(start - timedelta(minutes=buffer_before_min))
    hi = to_ms(end + timedelta(minutes=buffer_after_min))
    return Cover(lo // BUCKET_MS, -(-hi // BUCKET_MS))


def cover_ms(start_ms: int, end_ms: int, buffer_before_min: int, buffer_after_min: int) -> Cover:
    """:func:`cover` of ``from_ms(start_ms)`` and ``from_ms(end_ms)``, in integers: a
    write's times are whole milliseconds already, so no datetime round trip is needed
    (tests/engine/test_bucket_rules.py checks the two agree)."""
    lo = start_ms - buffer_before_min * 60_000
    hi = end_ms + buffer_after_min * 60_000
    return Cover(lo // BUCKET_MS, -(-hi // BUCKET_MS))


def check_interval(start: datetime, end: datetime, max_minutes: int) -> None:
    """Refuse empty, reversed and absurdly long bookings."""
    if end <= start:
        field = "end"
        what = "zero-length" if end == start else "before start"
        raise ValidationError(field, f"{what}: end {end.isoformat()} vs start {start.isoformat()}")
    if end - start > timedelta(minutes=max_minutes):
        raise ValidationError("end", f"booking longer than the maximum of {max_minutes} minutes")


def check_span(
    start: datetime, end: datetime, start_ms: int, end_ms: int, max_minutes: int
) -> None:
    """:func:`check_interval`, not asked when the times' whole milliseconds settle it.

    ``to_ms`` is monotonic, so ``end_ms > start_ms`` means ``end > start``; and each
    may sit up to a millisecond below its time, so a span shorter than the maximum by
    more than two of them is within it. Most writes are such a span, and the
    datetimes' arithmetic was half a microsecond of every commit. A hypothesis
    property holds the two to the same refusals.
    """
    if not 0 < end_ms - start_ms < max_minutes * 60_000 - 2:
        check_interval(start, end, max_minutes)


def check_buffer(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, f"expected whole minutes, got {value!r}")
    if not 0 <= value <= MAX_BUFFER_MINUTES:
        raise ValidationError(field, f"must be between 0 and {MAX_BUFFER_MINUTES} minutes")
    return value
