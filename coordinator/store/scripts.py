"""Load the Lua transition scripts shipped in ``coordinator/lua`` and register them.

Each script file is one state transition. Shared helpers live in ``_lib.lua``
(prepended to every script) and ``-- @include NAME`` lines pull in another
shared file, because Redis Lua has no ``require``. Each script is called by
EVALSHA and loaded again on NOSCRIPT (after a restart or failover): through
redis-py's ``Script`` object on a Cluster, and on a plain client through
:class:`~coordinator.store.wire.PackedScript`, which packs the command in one
step and otherwise keeps redis-py's connection, retry and error handling.

The hot transitions (``FUNCTION_TRANSITIONS``) are also built as Redis Function
libraries (:func:`function_library`) and called by FCALL where the server has
Functions (Redis 7, Valkey): EVAL runs a script's whole text on every call, so each
call defined the library's ~60 local functions and tables again before any work;
a library runs that once, at load, and each FCALL runs only the transition's body
(a commit: 18 % fewer engine instructions, bench/README.md).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from .functions import FunctionLibrary
from .wire import register

_INCLUDE = re.compile(r"^--\s*@include\s+(\S+)\s*$", re.MULTILINE)

#: Set to 1 (tests only) to compile in ``_fault.lua``: a script then raises at the
#: step its calendar's ``fault`` key names, as ``<script>:<step>`` (see ``_lib.lua``,
#: "compute before write"). The steps are the ``fault('name')`` calls in its source.
FAULTS_ENV = "AGENTDRAFT_LUA_FAULTS"
_FAULT_STEP = re.compile(r"\bfault\('(\w+)'\)")

TRANSITIONS = (
    "hold",
    "commit",
    "release",
    "cancel",
    "read_booking",
    "create_owner",
    "create_agent",
    "authorize",
    "update_rules",
    "rerank",
    "agent_update",
    "read_availability",
    "approval_request",
    "approval_read",
    "approval_resolve",
    "proposal_create",
    "proposal_read",
    "proposal_respond",
    "proposal_resolve",
    "proposal_finish",
    "proposal_cancel",
    "proposal_tick",
    "connector_apply",
    "mail_send",
    "mail_receive",
    "mail_deliver",
    "mail_owner",
    "counter_create",
    "counter_read",
    "counter_accept",
    "counter_reject",
)


def _read(name: str) -> str:
    return resources.files("coordinator").joinpath("lua", name).read_text(encoding="utf-8")


def faults_enabled() -> bool:
    """Whether this process compiles the test-only fault hook into its scripts."""
    return os.environ.get(FAULTS_ENV) == "1"


def fault_steps(name: str) -> list[str]:
    """The fault-injection steps compiled into transition ``name`` (tests use these)."""
    return sorted(set(_FAULT_STEP.findall(script_source(name, True))))


@cache
def script_source(name: str, faults: bool = False) -> str:
    """The full text sent to Redis for transition ``name`` (library + includes + body).

    ``faults`` adds ``_fault.lua`` (tests only): the text, and so the SHA, differ, so a
    test's scripts never replace a production one's.
    """
    return without_unused_definitions(
        "\n".join([_read("_eval.lua"), *_library(name, faults), _read(f"{name}.lua")])
    )


def _library(name: str, faults: bool) -> list[str]:
    """What transition ``name`` runs before its body: _lib.lua, the fault hook, includes."""
    includes = [_read(inc) for inc in _INCLUDE.findall(_read(f"{name}.lua"))]
    hook = [f"local SCRIPT = '{name}'", _read("_fault.lua")] if faults else []
    return [_read("_lib.lua"), *hook, *includes]


#: The transitions also built as Function libraries: the calls an agent makes most
#: (store/aio.py's HOT_SCRIPTS), whose library part has only definitions at its top
#: level. Others keep EVAL only: _counters.lua and _proposals.lua bind KEYS and ARGV
#: at their top level, which a library runs once, at load.
FUNCTION_TRANSITIONS = ("commit", "hold", "read_booking", "read_availability")

#: Between a library's part and its body while pruning (a comment: pruning keeps it).
_BODY = "-- @body"


@cache
def function_library(name: str, faults: bool = False) -> FunctionLibrary:
    """Transition ``name`` as a Function library (for FUNCTION_TRANSITIONS).

    The library part (script_source's text without _eval.lua and the body) runs once,
    at load: its top level only defines local functions and tables. ``KEYS`` and
    ``ARGV`` are locals of the library that the function sets from its arguments on
    every call, so the same code reads them as a script does.
    """
    pruned = without_unused_definitions(
        "\n".join([*_library(name, faults), _BODY, _read(f"{name}.lua")])
    )
    library_part, body = pruned.split(f"\n{_BODY}\n", 1)
    library = f"agentdraft_{name}" + ("_faults" if faults else "")
    template = (
        f"#!lua name={library}\n"
        "local KEYS, ARGV\n"
        f"{library_part}\n"
        "redis.register_function('{function}', function(keys, args)\n"
        "  KEYS, ARGV = keys, args\n"
        f"{body}\n"
        "end)\n"
    )
    digest = hashlib.sha1(template.encode(), usedforsecurity=False).hexdigest()[:16]
    function = f"{library}_{digest}"
    return FunctionLibrary(library, function, template.replace("{function}", function, 1))


#: A top-level ``local function``, from its line to the ``end`` that closes it in
#: column 0, or a top-level table written ``local NAME = {`` up to its ``}`` in column
#: 0 (the library's layout; tests/engine/test_script_source.py checks it holds).
_TOP_DEFINITION = re.compile(
    r"^local (?:function (\w+)\(.*?^end\b|(\w+) = \{\n.*?^\})[^\n]*\n?", re.MULTILINE | re.DOTALL
)


def without_unused_definitions(source: str) -> str:
    """``source`` without the top-level local functions and tables nothing in it uses.

    Why: Redis runs a script's whole text on every call, so each helper of the
    library a transition never uses still costs a closure (or a table) per call
    (read_booking defined 36 functions for the 16 it calls). A definition is kept
    when its name appears in the code outside the definitions, or in a kept one
    (comments left out).
    """
    spans = {
        m.start(): (m.group(1) or m.group(2), m.end()) for m in _TOP_DEFINITION.finditer(source)
    }
    chunks: dict[str, list[str]] = {}
    rest: list[str] = []
    pos = 0
    for start in sorted(spans):
        fname, end = spans[start]
        rest.append(source[pos:start])
        chunks.setdefault(fname, []).append(source[start:end])
        pos = end
    rest.append(source[pos:])
    words = _words("".join(rest))
    kept: set[str] = set()
    todo = [n for n in chunks if n in words]
    while todo:
        fname = todo.pop()
        if fname in kept:
            continue
        kept.add(fname)
        for text in chunks[fname]:
            todo += [w for w in _words(text) if w in chunks and w not in kept]
    out: list[str] = []
    pos = 0
    for start in sorted(spans):
        fname, end = spans[start]
        out.append(source[pos:start])
        if fname in kept:
            out.append(source[start:end])
        pos = end
    out.append(source[pos:])
    return "".join(out)


_WORD = re.compile(r"\b[A-Za-z_]\w*\b")
_COMMENT = re.compile(r"--[^\n]*")


def _words(code: str) -> set[str]:
    """The names a piece of Lua mentions outside its comments (the scripts put no
    ``--`` inside a string)."""
    return set(_WORD.findall(_COMMENT.sub("", code)))


@dataclass
class Scripts:
    """The registered scripts of one Redis client, one attribute per transition."""

    hold: Any
    commit: Any
    release: Any
    cancel: Any
    read_booking: Any
    create_owner: Any
    create_agent: Any
    authorize: Any
    update_rules: Any
    rerank: Any
    agent_update: Any
    read_availability: Any
    approval_request: Any
    approval_read: Any
    approval_resolve: Any
    proposal_create: Any
    proposal_read: Any
    proposal_respond: Any
    proposal_resolve: Any
    proposal_finish: Any
    proposal_cancel: Any
    proposal_tick: Any
    connector_apply: Any
    mail_send: Any
    mail_receive: Any
    mail_deliver: Any
    mail_owner: Any
    counter_create: Any
    counter_read: Any
    counter_accept: Any
    counter_reject: Any

    @classmethod
    def register(cls, client: Any) -> Scripts:
        faults = faults_enabled()
        return cls(
            **{
                name: register(
                    client,
                    script_source(name, faults),
                    function_library(name, faults) if name in FUNCTION_TRANSITIONS else None,
                )
                for name in TRANSITIONS
            }
        )
