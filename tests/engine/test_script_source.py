"""The script text sent to Redis: the library's unused functions are left out, never a used one.

Redis runs a script's whole text on every call, so scripts.py drops the top-level
``local function``s of the library a transition cannot reach. These tests pin the two
things that pruning relies on (the files' layout, and that a kept function finds every
function it calls) without a server; every other test in tests/engine runs the pruned
scripts for real.
"""

from __future__ import annotations

import re
from importlib import resources
from itertools import pairwise
from typing import Any

import pytest

from coordinator.store.scripts import (
    TRANSITIONS,
    _read,
    _words,
    script_source,
    without_unused_definitions,
)

_DEFINED = re.compile(r"^local function (\w+)\(", re.MULTILINE)
_TABLE = re.compile(r"^local (\w+) = \{\n", re.MULTILINE)


def _lua_files() -> list[str]:
    folder = resources.files("coordinator").joinpath("lua")
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".lua"))


@pytest.mark.parametrize("name", _lua_files())
def test_every_top_level_function_ends_with_an_end_in_column_0_before_the_next(name: str) -> None:
    text = _read(name)
    starts = [m.start() for m in _DEFINED.finditer(text)] + [len(text)]
    for here, following in pairwise(starts):
        assert re.search(r"^end\b", text[here:following], re.MULTILINE), text[here : here + 80]
    tables = [m.start() for m in _TABLE.finditer(text)]
    for here in tables:
        following = text.find("\nlocal ", here + 1)
        body = text[here : following if following > 0 else len(text)]
        assert re.search(r"^\}", body, re.MULTILINE), text[here : here + 80]


@pytest.mark.parametrize("faults", [False, True])
@pytest.mark.parametrize("name", TRANSITIONS)
def test_a_pruned_script_defines_every_library_function_it_names(name: str, faults: bool) -> None:
    pruned = script_source(name, faults)
    library = set(_DEFINED.findall("\n".join(_read(f) for f in _lua_files() if f[0] == "_")))
    defined = set(_DEFINED.findall(pruned))
    assert (_words(pruned) & library) <= defined, name


def test_pruning_drops_what_a_read_cannot_reach_and_keeps_what_a_write_calls() -> None:
    read, write = script_source("read_booking"), script_source("commit")
    assert "local function tx_end_booking(" not in read
    assert "local function tx_end_booking(" in write
    assert "local function expand_booking(" in read
    assert "local DERIVED = {" not in read
    assert "local DERIVED = {" in write


def test_pruning_follows_calls_between_functions_and_ignores_comments() -> None:
    source = "\n".join(
        [
            "local function a()",
            "  return b()",
            "end",
            "local function b()",
            "  return 1",
            "end",
            "local function c()",
            "  return 2",
            "end",
            "local function d()",
            "  return c()",
            "end",
            "local T = {",
            "  x = 1,",
            "}",
            "local U = {",
            "  y = 2,",
            "}",
            "-- c() and U are only named in this comment",
            "return a() + T.x",
        ]
    )
    pruned = without_unused_definitions(source)
    assert set(_DEFINED.findall(pruned)) == {"a", "b"}
    assert set(_TABLE.findall(pruned)) == {"T"}


def test_ms_prints_every_number_as_the_floating_point_format_does(store: Any) -> None:
    # ms() takes '%d' for integers a double holds exactly: the text must not change
    values = [
        "1", "-1", "0", "-0", "0.5", "1.5", "2.5", "-2.5", "1e15", "9007199254740991",
        "9007199254740992", "9007199254740993", "-9007199254740993", "1e300", "-1e300",
        "1796418217763", "1796418217763.4", "1796418217763.5", "123456789012345678",
        "inf", "-inf", "nan", "7363590", "'12'", "'12.5'",
    ]  # fmt: skip
    script = _read("_lib.lua") + (
        "\nlocal bad = {}\n"
        "for _, v in ipairs(ARGV) do\n"
        "  local n = v\n"
        '  if string.sub(v, 1, 1) == "\'" then n = string.sub(v, 2, -2)\n'
        "  elseif v == 'nan' then n = 0 / 0\n"
        "  elseif v == 'inf' then n = 1 / 0 elseif v == '-inf' then n = -1 / 0\n"
        "  else n = tonumber(v) end\n"
        "  if ms(n) ~= string.format('%.0f', n) then bad[#bad + 1] = v end\n"
        "end\n"
        "return bad\n"
    )
    assert store.eval(script, 1, "t:{u}:owner", *values) == []
