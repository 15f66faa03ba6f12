"""The Python shortcuts of a commit, a read and an availability answer give exactly what
the general code gives.

Each shortcut (bench/py_cost.py measures what it saves) is checked against the code it
stands in for, on generated input: the integer cover against the datetime one, the
directly written digest text against ``json.dumps``, and a booking built from a record
without a validation pass against the validated model (same fields, values, types,
fields-set and JSON), including the records that must still be validated (and refused);
a kept rules snapshot only for the same rules.
"""

from __future__ import annotations

import hashlib
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError as PydanticValidationError

from coordinator import buckets
from coordinator.buckets import (
    MAX_MS,
    MAX_TIME,
    MIN_TIME,
    check_interval,
    check_span,
    cover,
    cover_ms,
    from_ms,
    parse_time,
    to_ms,
    utc_text,
)
from coordinator.errors import ValidationError
from coordinator.ids import check_idempotency_key
from coordinator.inputs import bad_chars, is_id
from coordinator.models import Booking, Displacement, record_fields
from coordinator.plain_wins import PLAIN_FIXED
from coordinator.ruleset import RulesSnapshot, SnapshotCache
from coordinator.store.calls import Calls, DaySpan, _json
from coordinator.store.keys import Keys
from coordinator.store.records import (
    FIXED_FIELDS,
    _as_stored,
    fixed_digest,
    plain_static_json,
)

MS = st.integers(to_ms(MIN_TIME), to_ms(MAX_TIME))
BUFFER = st.integers(0, 24 * 60)


@settings(max_examples=2000, deadline=None)
@given(start=MS, length=st.integers(1, 24 * 60 * 60_000), before=BUFFER, after=BUFFER)
def test_the_integer_cover_is_the_datetime_cover(
    start: int, length: int, before: int, after: int
) -> None:
    end = start + length
    assert cover_ms(start, end, before, after) == cover(from_ms(start), from_ms(end), before, after)


@settings(max_examples=3000, deadline=None)
@given(ms=st.integers(0, MAX_MS) | st.integers(0, MAX_MS // 1000).map(lambda s: s * 1000))
def test_a_times_text_is_orjsons_text_of_its_datetime(ms: int) -> None:
    """``utc_text`` (the answers' times, without a datetime) writes what orjson writes
    for ``from_ms(ms)``, with and without milliseconds, kept or not."""
    want = orjson.dumps(from_ms(ms), option=orjson.OPT_UTC_Z).decode().strip('"')
    assert utc_text(ms) == want
    assert utc_text(ms) == want  # the kept text of its second


def test_the_kept_seconds_start_over_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(buckets, "_KEPT_SECONDS", 2)
    monkeypatch.setattr(buckets, "_SECOND_TEXT", {})
    texts = [utc_text(s * 1000) for s in range(5)]
    assert texts == [from_ms(s * 1000).strftime("%Y-%m-%dT%H:%M:%SZ") for s in range(5)]
    assert len(buckets._SECOND_TEXT) <= 2


@settings(max_examples=2000, deadline=None)
@given(
    text=st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2300, 1, 1), timezones=st.timezones()
    ).map(lambda t: t.isoformat().replace("+00:00", "Z"))
    | st.datetimes().map(lambda t: t.isoformat())  # naive: refused
    | st.text(max_size=45)
)
def test_a_kept_time_reading_is_the_reading(text: str) -> None:
    """``parse_time`` keeps its reading of a text: the same datetime, or the same
    refusal for the field it names, as reading it anew."""

    def read(parse: Any) -> Any:
        try:
            got = parse(text, "start")
        except ValidationError as refused:
            return (refused.field, str(refused))
        return (got, got.tzinfo)

    assert read(parse_time) == read(buckets._parse_time)
    assert read(parse_time) == read(buckets._parse_time)  # kept


@settings(max_examples=3000, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2199, 1, 1)),
    max_minutes=st.sampled_from([1, 60, 1440]),
    near=st.sampled_from(["zero", "maximum", "anywhere"]),
    offset_us=st.integers(-3000, 3000),
    anywhere_us=st.integers(-(10**11), 10**11),
)
def test_a_span_is_refused_as_check_interval_refuses_it(
    start: datetime, max_minutes: int, near: str, offset_us: int, anywhere_us: int
) -> None:
    """``check_span`` answers from whole milliseconds only when they settle it: the same
    refusals as ``check_interval``, at microsecond edges around zero and the maximum."""
    s = start.replace(tzinfo=UTC)
    base = {"zero": 0, "maximum": max_minutes * 60 * 10**6, "anywhere": anywhere_us}[near]
    e = s + timedelta(microseconds=base + offset_us)

    def refusal(check: Any) -> str | None:
        try:
            check()
        except ValidationError as refused:
            return str(refused)
        return None

    assert refusal(lambda: check_span(s, e, to_ms(s), to_ms(e), max_minutes)) == refusal(
        lambda: check_interval(s, e, max_minutes)
    )


def reference_digest(rec: dict[str, Any]) -> str:
    """``fixed_digest`` as it was before its direct path (store/records.py, 2026-12)."""
    fixed = [_as_stored(rec.get(f)) for f in FIXED_FIELDS]
    fixed[4] = fixed[4] or ""
    for i in (5, 6, 7):
        fixed[i] = fixed[i] or False
    text = json.dumps(fixed, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


#: A booking's times and buffers as the digest and the claim's static fields take them
#: (a buffer may be a float: those take the general path).
TIMES = {
    "start": MS,
    "length": st.integers(1, 10**8),
    "before": st.integers(0, 1440) | st.floats(0, 1440),
    "after": st.integers(0, 1440),
}


@settings(max_examples=1000, deadline=None)
@given(
    **TIMES,
    title=st.none() | st.text(),
    invitee=st.sampled_from([None, False, {}]) | st.dictionaries(st.text(), st.text()),
    metadata=st.sampled_from([None, False]) | json_values,
    conferencing=st.sampled_from([None, False]),
)
def test_the_digest_is_byte_for_byte_the_json_dumps_digest(
    start: int,
    length: int,
    before: float,
    after: int,
    title: str | None,
    invitee: Any,
    metadata: Any,
    conferencing: Any,
) -> None:
    rec = {
        "start_ms": start,
        "end_ms": start + length,
        "buffer_before_min": before,
        "buffer_after_min": after,
        "title": title,
        "invitee": invitee,
        "metadata": metadata,
        "conferencing": conferencing,
    }
    assert fixed_digest(rec) == reference_digest(rec)


@settings(max_examples=1000, deadline=None)
@given(**TIMES)
def test_the_plain_claim_static_is_byte_for_byte_the_packed_dict(
    start: int, length: int, before: float, after: int
) -> None:
    """``plain_static_json`` (no title, invitee, metadata or link) writes the claim's
    ARGV[4] exactly as the packer writes the dict ``Bookings._pack_claim`` builds for
    it, or declines (a buffer that is not an integer): then the dict is sent."""
    end = start + length
    c = cover_ms(start, end, int(before), after)
    static: dict[str, Any] = {
        "start_ms": start,
        "end_ms": end,
        "cover_first": c.first,
        "cover_last": c.last,
        "buffer_before_min": before,
        "buffer_after_min": after,
        "title": "",
        "invitee": False,
        "metadata": False,
        "conferencing": False,
    }
    static["digest"] = fixed_digest(static)
    direct = plain_static_json(start, end, c.first, c.last, before, after)  # type: ignore[arg-type]
    if type(before) is int:
        assert direct == _json(static)
    else:
        assert direct is None


RECORD: dict[str, Any] = {
    "id": "bkg_0123456789abcdef",
    "agent_id": "agt_0123456789abcdef",
    "priority": 1,
    "created_ms": 1796418293351,
    "mode": "commit",
    "status": "COMMITTED",
    "start_ms": 2051222400000,
    "end_ms": 2051224200000,
    **PLAIN_FIXED,
    "arb_until_ms": 1796418293351,
    "cover_first": 6837408,
    "cover_last": 6837414,
    "bump_until_ms": 1796418293351,
    "expires_ms": 0,
    "committed_ms": 1796418293351,
    "audit_event_id": "1796418293351-0",
}
ENDED = {
    "status": "EVICTED",
    "ended_ms": 1796418299999,
    "ended_by": "bkg_1",
    "ended_by_agent_id": "agt_2",
    "ended_by_priority": 1,
    "end_audit_id": "1796418299999-0",
}
VARIANTS: list[dict[str, Any]] = [
    {},
    {"title": "Discovery call é"},
    {"invitee": {"name": "Ada", "email": "ada@example.com"}},
    {"metadata": {"crm": [1, {"x": None}]}},
    {"conferencing": {"provider": "jitsi", "url": "https://meet.example/x", "status": "ok"}},
    {"mode": "hold", "status": "HOLD", "expires_ms": 1796418299999},
    ENDED,
    {**ENDED, "status": "INVALIDATED", "end_reason": "external_event"},
    {"approval_id": "apr_0123456789abcdef", "buffer_before_min": 15},
    # Not of the model's types: validated, so coerced or refused exactly as before.
    {"buffer_before_min": 5.0},
    {**ENDED, "ended_by_priority": 2.0},
    {"status": "LIMBO"},
    {"title": 5},
    {"metadata": [1]},
]


def validated(rec: dict[str, Any], now: int | None, extra: dict[str, Any]) -> Booking:
    return Booking(**record_fields(rec, "usr_1", now), **extra)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("now", [None, 1796418293352, 1896418293352])
@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"displaced": ()},
        {
            "displaced": (
                Displacement(
                    booking_id="bkg_3",
                    agent_id="agt_3",
                    priority=2,
                    status="EVICTED",
                    in_arbitration_window=True,
                ),
            ),
            "waited_ms": 12,
        },
    ],
)
def test_a_booking_from_a_record_is_the_validated_booking(
    variant: dict[str, Any], now: int | None, extra: dict[str, Any]
) -> None:
    rec = {**RECORD, **variant}
    try:
        want = validated(rec, now, extra)
    except PydanticValidationError as refused:
        with pytest.raises(PydanticValidationError) as again:
            Booking.from_record(rec, "usr_1", now, **extra)
        assert again.value.errors() == refused.errors()
        return
    got = Booking.from_record(rec, "usr_1", now, **extra)
    assert got == want
    assert list(got.__dict__.items()) == list(want.__dict__.items())
    assert [type(v) for v in got.__dict__.values()] == [type(v) for v in want.__dict__.values()]
    assert got.model_fields_set == want.model_fields_set
    assert got.model_dump_json() == want.model_dump_json()
    assert repr(got) == repr(want)


def test_a_kept_rules_snapshot_is_reused_only_for_the_same_rules() -> None:
    cache = SnapshotCache()
    reply = {"rules_version": 3, "timezone": "Europe/Berlin", "rules": '{"daily_cap":2}'}
    first = cache.from_reply("usr_1", reply)
    assert first.rules.daily_cap == 2 and first.timezone == "Europe/Berlin"
    assert cache.from_reply("usr_1", dict(reply)) is first
    for changed in ({"rules_version": 4}, {"timezone": "UTC"}, {"rules": '{"daily_cap":3}'}):
        other = cache.from_reply("usr_1", {**reply, **changed})
        assert other is not first
        assert other == RulesSnapshot.from_reply({**reply, **changed})
    assert cache.from_reply("usr_2", reply) is not first  # per owner


def test_the_only_printable_whitespace_is_the_space() -> None:
    """``is_id`` and idempotency keys test ``" " in`` a printable value instead of a
    per-character ``isspace`` scan; this holds for every code point."""
    assert [c for c in map(chr, range(sys.maxunicode + 1)) if c.isprintable() and c.isspace()] == [
        " "
    ]


@pytest.mark.parametrize("value", ["bkg_1", "bkg 1", "bkg_\u00a01", "bkg\u20281", "bkg_\t", ""])
def test_ids_and_idempotency_keys_refuse_whitespace_as_before(value: str) -> None:
    def old_is_id(v: str) -> bool:
        return 1 <= len(v) <= 64 and v.isprintable() and not any(c.isspace() for c in v)

    assert is_id(value) == (old_is_id(value) and bad_chars(value) is None)
    if old_is_id(value):
        check_idempotency_key(value)
    else:
        with pytest.raises(ValidationError):
            check_idempotency_key(value)


def _claim_keys(calls: Calls, agent_id: str, idempotency_key: str | None) -> list[str]:
    call = calls.pack_claim(
        "commit",
        user_id="usr_1",
        agent_id=agent_id,
        key_hash="h",
        booking_id="bkg_1",
        request_hash="",
        static={},
        hold_ttl_ms=0,
        bump_ms=0,
        window_ms=0,
        idempotency_key=idempotency_key,
        idempotency_ttl_s=60,
        days=[DaySpan(7, 0, 5)],
        checks={},
        cap_days=[8],
    )
    return call.keys


def test_a_claims_kept_keys_are_the_ones_the_key_builder_names() -> None:
    keys = Keys("ns")
    calls = Calls(scripts=None, keys=keys)  # type: ignore[arg-type]  # packing only
    for agent_id, idem in [("agt_1", "k1"), ("agt_1", None), ("agt_1", None), ("agt_2", None)]:
        expected = [
            keys.owner("usr_1"),
            keys.bookings("usr_1"),
            keys.agents("usr_1"),
            keys.audit("usr_1"),
            keys.idempotency("usr_1", agent_id, idem or "-"),
            keys.agent("usr_1", agent_id),
            keys.approvals("usr_1"),
            keys.day("usr_1", 7),
            keys.day("usr_1", 8),
        ]
        assert _claim_keys(calls, agent_id, idem) == expected
