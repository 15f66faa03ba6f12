"""Calls packed ahead of time (store/resp.py) are the bytes hiredis packs.

The server and the sync client send a plain commit as a kept head and its KEYS and ARGV
packed by :mod:`coordinator.store.resp`; Redis must read the very command
``hiredis.pack_command`` would have sent, for every value a call can carry.
"""

from __future__ import annotations

import hiredis
import pytest
from hypothesis import given
from hypothesis import strategies as st

from coordinator.store.calls import PlainCommit
from coordinator.store.resp import bulk, bulks, command_head

VALUES = st.one_of(
    st.text(max_size=40),
    st.binary(max_size=40),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),  # a setting may be given as one (Settings accepts floats)
)


@given(values=st.lists(VALUES, max_size=12), numkeys=st.integers(0, 12))
def test_a_head_and_bulks_are_hiredis_packing(
    values: list[str | bytes | int | float], numkeys: int
) -> None:
    numkeys = min(numkeys, len(values))
    for verb, target in (("FCALL", "agentdraft_commit"), ("EVALSHA", "ab" * 20)):
        packed = command_head(verb, target, numkeys, len(values)) + bulks(values)
        assert packed == hiredis.pack_command((verb, target, numkeys, *values))


@given(value=VALUES)
def test_one_bulk_string(value: str | bytes | int | float) -> None:
    assert bulk(value) == hiredis.pack_command((value,))[4:]  # after "*1\r\n"


@pytest.mark.parametrize("value", [None, True, bytearray(b"x")])
def test_what_a_call_never_carries_is_refused(value: object) -> None:
    with pytest.raises(TypeError, match="bulk string"):
        bulk(value)  # type: ignore[arg-type]


@given(
    tail=st.tuples(
        st.integers(0, 10**9),
        st.integers(0, 10**9),
        st.one_of(st.integers(0, 10_000), st.floats(0, 10_000)),  # a window given as a float
        st.just(0),
        st.just(1),
        st.text(max_size=64),
        st.binary(max_size=80),
    ),
    day=st.integers(0, 10**6),
    first=st.integers(0, 287),
    span=st.integers(0, 287),
    booking_id=st.text(min_size=1, max_size=40),
)
def test_a_plain_commit_template_packs_what_hiredis_packs(
    tail: tuple[int | float | str | bytes, ...], day: int, first: int, span: int, booking_id: str
) -> None:
    keys = tuple(f"ad:{{u}}:k{i}" for i in range(7))
    template = PlainCommit.of(keys, "ad:{u}:day:", "agt_é", tail)
    call = template.pack(booking_id, b'{"start_ms":1}', day, first, first + span)
    assert call.wire is not None
    n = len(call.keys)
    packed = command_head("FCALL", "f", n, n + len(call.args)) + call.wire
    assert packed == hiredis.pack_command(("FCALL", "f", n, *call.keys, *call.args))
