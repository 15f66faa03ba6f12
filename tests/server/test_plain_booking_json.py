"""The booking answers written without the model's dump are the model's, byte for byte.

``plain_booking_json`` skips building the :class:`Booking` on the busiest read; it must
give exactly the bytes of ``booking_json(Booking.from_record(...))`` or decline (None)
and leave the record to the model path. ``plain_won_json`` answers a plain commit's
outright win without even the record, and must give the same bytes as the model for
the record it stands for (``plain_record``). ``booking_bytes`` (a commit's answer)
writes a built model's fields the same way and must always equal the model's dump.
"""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from coordinator.models import Booking, Displacement
from coordinator.plain_wins import PlainWon, plain_record
from coordinator.server.responses import (
    booking_bytes,
    booking_json,
    plain_booking_json,
    plain_won_json,
)
from coordinator.store.calls import PlainWin

MS = st.integers(min_value=0, max_value=4_102_444_800_000)  # up to 2100
TEXT = st.text(max_size=12)
JSONISH = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    start = draw(MS)
    rec: dict[str, Any] = {
        "id": draw(st.sampled_from(["bkg_a1", "bkg_Zz-9"])),
        "status": draw(st.sampled_from(["HOLD", "COMMITTED", "RELEASED", "EVICTED", "EXPIRED"])),
        "agent_id": "agt_1",
        "priority": draw(st.integers(1, 100) | st.sampled_from(["3"])),
        "mode": draw(st.sampled_from(["hold", "commit"])),
        "start_ms": start,
        "end_ms": start + draw(st.integers(1, 10**8)),
        "created_ms": draw(MS),
        "expires_ms": draw(st.sampled_from([0]) | MS),
    }
    optional: dict[str, st.SearchStrategy[Any]] = {
        "bump_until_ms": MS,
        "audit_event_id": st.sampled_from(["1-0", "1712-3"]),
        "title": TEXT,
        "invitee": st.dictionaries(TEXT, JSONISH, max_size=3),
        "metadata": st.dictionaries(TEXT, JSONISH, max_size=3),
        "ended_ms": MS,
        "ended_by": st.sampled_from(["bkg_b2"]),
        "ended_by_agent_id": st.sampled_from(["agt_2"]),
        "ended_by_priority": st.integers(1, 9),
        "buffer_before_min": st.integers(0, 60),
        "approval_id": st.sampled_from(["", "apr_1"]),
        "conferencing": st.sampled_from([{}, {"provider": "jitsi", "url": "https://x"}]),
    }
    for name, values in optional.items():
        if draw(st.booleans()):
            rec[name] = draw(values)
    return rec


@settings(max_examples=600, deadline=None)
@given(rec=records(), now=st.none() | MS)  # None: a commit's own record, as stored
def test_a_plain_record_is_written_as_the_model_writes_it(
    rec: dict[str, Any], now: int | None
) -> None:
    plain = plain_booking_json(rec, "usr_1", now)
    model = orjson.dumps(booking_json(Booking.from_record(rec, "usr_1", now)))
    if plain is not None:
        assert plain == model
    # What the engine writes for a commit or hold always takes the fast path.
    if type(rec["priority"]) is int and not (
        rec.get("approval_id") or rec.get("conferencing") or rec.get("ended_by_agent_id")
    ):
        assert plain is not None


ID = st.sampled_from(["bkg_a1", "agt_Zz-9"]) | TEXT | st.integers(0, 9)
#: Times in utc_text's range and past it on both sides.
WIN_MS = MS | st.integers(-(10**13), 10**15) | st.sampled_from([7_258_118_400_000, 0, 1])


@settings(max_examples=600, deadline=None)
@given(
    won=st.builds(
        PlainWon,
        ID,
        ID,
        WIN_MS,
        WIN_MS,
        st.builds(PlainWin, WIN_MS, st.integers(1, 100) | st.just(True), WIN_MS, WIN_MS, ID),
    ),
    user_id=st.sampled_from(["usr_1", 'usr_"q"']),
)
def test_a_plain_win_is_written_as_the_model_writes_its_record(won: PlainWon, user_id: str) -> None:
    plain = plain_won_json(won, user_id)
    if plain is None:
        return
    model = orjson.dumps(booking_json(Booking.from_record(plain_record(won), user_id)))
    assert plain == model
    assert plain == plain_booking_json(plain_record(won), user_id, None)


def test_a_plain_win_of_ordinary_values_is_written_directly() -> None:
    win = PlainWin(1_900_000_000_000, 2, 1_900_000_000_000, 1_900_000_030_000, "1900000000000-4")
    won = PlainWon("bkg_a1", "agt_1", 1_950_000_000_000, 1_950_001_800_000, win)
    assert plain_won_json(won, "usr_1") is not None
    assert plain_won_json(won._replace(start_ms=-1), "usr_1") is None


def test_records_the_model_path_must_answer_are_declined() -> None:
    base = {
        "id": "bkg_a1",
        "status": "COMMITTED",
        "agent_id": "agt_1",
        "priority": 1,
        "mode": "commit",
        "start_ms": 1,
        "end_ms": 2,
        "created_ms": 0,
        "expires_ms": 0,
    }
    assert plain_booking_json(base, "usr_1", 5) is not None
    for extra in (
        {"ended_by_agent_id": "agt_2"},  # the answer names the displacing agent (a read)
        {"approval_id": "apr_1"},  # the answer carries the person's signed receipt
        {"conferencing": {"provider": "jitsi"}},
        {"status": "SOMETHING"},  # the model refuses it: the read fails as before
        {"title": 5},  # the model refuses a number where text goes
        {"invitee": {"n": 2**70}},  # past what orjson writes
    ):
        assert plain_booking_json({**base, **extra}, "usr_1", 5) is None


DISPLACED = Displacement(
    booking_id="bkg_c3", agent_id="agt_3", priority=4, status="EVICTED", in_arbitration_window=True
)


@settings(max_examples=400, deadline=None)
@given(
    rec=records(),
    now=MS,
    waited=st.integers(0, 10**6),
    displaced=st.booleans(),
    revalidate=st.booleans(),
)
def test_a_built_booking_is_written_as_the_model_writes_it(
    rec: dict[str, Any], now: int, waited: int, displaced: bool, revalidate: bool
) -> None:
    booking = Booking.from_record(rec, "usr_1", now).model_copy(
        update={"waited_ms": waited, "displaced": (DISPLACED,) if displaced else ()}
    )
    if revalidate:  # built by validation (pydantic's own time zones), not from a record
        booking = Booking.model_validate(booking.model_dump(mode="json"))
    assert booking_bytes(booking) == orjson.dumps(booking_json(booking))
