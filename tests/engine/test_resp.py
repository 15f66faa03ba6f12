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

from coordinator.store.resp import bulk, bulks, command_head

VALUES = st.one_of(
    st.text(max_size=40),
    st.binary(max_size=40),
    st.integers(-(2**63), 2**63 - 1),
)


@given(values=st.lists(VALUES, max_size=12), numkeys=st.integers(0, 12))
def test_a_head_and_bulks_are_hiredis_packing(
    values: list[str | bytes | int], numkeys: int
) -> None:
    numkeys = min(numkeys, len(values))
    for verb, target in (("FCALL", "agentdraft_commit"), ("EVALSHA", "ab" * 20)):
        packed = command_head(verb, target, numkeys, len(values)) + bulks(values)
        assert packed == hiredis.pack_command((verb, target, numkeys, *values))


@given(value=VALUES)
def test_one_bulk_string(value: str | bytes | int) -> None:
    assert bulk(value) == hiredis.pack_command((value,))[4:]  # after "*1\r\n"


@pytest.mark.parametrize("value", [1.5, None, True, bytearray(b"x")])
def test_what_a_call_never_carries_is_refused(value: object) -> None:
    with pytest.raises(TypeError, match="bulk string"):
        bulk(value)  # type: ignore[arg-type]
