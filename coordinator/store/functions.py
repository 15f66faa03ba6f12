"""When a hot transition goes out as FCALL, and when it falls back to EVALSHA.

The hot transitions are built both ways (``scripts.function_library`` and
``scripts.script_source``). Both callers, the sync client's
:class:`~coordinator.store.wire.PackedScript` and the event loop's
:class:`~coordinator.store.aio.AsyncCalls`, follow the same rules, written here once:

* a server without Functions (Redis 6.2 answers ``unknown command``) or a user whose
  ACL may not load or call them (``NOPERM``) sends EVALSHA from then on: correct
  everywhere, only slower;
* a function the server does not have (its first call, a restart without persistence,
  FUNCTION FLUSH, or another coordinator version's REPLACE of the library) is loaded
  and the call sent again, once; still missing (two versions replacing each other's
  library during a rolling upgrade), that one call goes by EVALSHA.

Any other error reply is the script's own and is raised as it would be from EVALSHA.
``AGENTDRAFT_LUA_FUNCTIONS=0`` keeps every call on EVALSHA.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import redis.exceptions as rex

FUNCTIONS_ENV = "AGENTDRAFT_LUA_FUNCTIONS"


@dataclass(frozen=True)
class FunctionLibrary:
    """A transition as a Redis Function library: FUNCTION LOAD ``source``, FCALL ``function``.

    The library's name is the transition's (``agentdraft_commit``), so loading a newer
    version REPLACEs the older one instead of piling up libraries in the server; the
    function's name carries the SHA-1 of the source, so a caller never runs another
    version's code by mistake: it finds its function missing and loads it again.
    """

    library: str
    function: str
    source: str


def functions_enabled() -> bool:
    """Whether this process tries FCALL for the transitions built as libraries."""
    return os.environ.get(FUNCTIONS_ENV, "1").lower() not in ("0", "off", "no", "false")


def is_missing(error: Exception) -> bool:
    """The server lacks the function (load it, then call again)."""
    return isinstance(error, rex.ResponseError) and str(error).startswith("Function not found")


#: How a server (Redis 6.2: no such command) or an ACL refuses FCALL or FUNCTION LOAD
#: themselves, as opposed to a command that a function's own ``redis.call`` issued.
_REFUSED = re.compile(
    r"no permissions to run the '(?:fcall|function\|load)' command"
    r"|unknown command [`'](?:fcall|function)[`']"
)


def is_unsupported(error: Exception) -> bool:
    """The server or the user cannot use Functions at all (fall back to EVALSHA).

    Only a refusal of FCALL or FUNCTION LOAD itself counts: an error a function's own
    ``redis.call`` met (an ACL refusing one of its writes, say) is the transition's
    answer, and sending the call again by EVALSHA would run it twice.
    """
    return isinstance(error, rex.ResponseError) and bool(_REFUSED.search(str(error).lower()))


def falls_back(error: Exception) -> bool:
    """After FCALL or FUNCTION LOAD failed with ``error``: True when Functions cannot be
    used here (EVALSHA from now on), False when the function is only missing. Raises
    ``error`` itself when it is the transition's own answer."""
    if is_unsupported(error):
        return True
    if is_missing(error):
        return False
    raise error


__all__ = [
    "FUNCTIONS_ENV",
    "FunctionLibrary",
    "falls_back",
    "functions_enabled",
    "is_missing",
    "is_unsupported",
]
