"""Script calls in Redis's wire format (RESP), packed ahead of time where they repeat.

An agent's plain commits share all but five of their twenty-one KEYS and ARGV
(``calls.PlainCommit``). ``hiredis.pack_command`` packed all twenty-four entries of the
FCALL anew each time, formatting every length with ``sprintf``: ~26,000 instructions
of the server worker's ~320,000 per HTTP commit (callgrind), and 2.1 µs of the
in-process commit. A call that carries its KEYS and ARGV already packed
(``Call.wire``) is sent as a head kept per script and shape (:func:`command_head`)
followed by those bytes: the fixed entries packed once per template, the five that
change by :func:`bulk`. A test holds the result to ``hiredis.pack_command``'s.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

#: Bulk strings of the integers a call sends most (a day's bucket fields, flags), kept.
_SMALL = [b"$%d\r\n%d\r\n" % (len(b"%d" % i), i) for i in range(1024)]


def bulk(value: str | bytes | int | float) -> bytes:
    """One RESP bulk string: ``value`` as ``hiredis.pack_command`` writes it (text as
    UTF-8, an integer in decimal, a float as its ``repr``). Anything else (a bool, a
    bytearray, None) is refused: a call never carries one."""
    if type(value) is int:
        if 0 <= value < 1024:
            return _SMALL[value]
        value = b"%d" % value
    elif type(value) is float:
        value = repr(value).encode()
    elif type(value) is str:
        value = value.encode()
    elif type(value) is not bytes:
        raise TypeError(f"cannot pack {type(value).__name__} as a bulk string")
    return b"$%d\r\n%b\r\n" % (len(value), value)


def bulks(values: Sequence[str | bytes | int | float]) -> bytes:
    """The bulk strings of ``values``, one after the other."""
    return b"".join([bulk(v) for v in values])


@functools.lru_cache(maxsize=256)
def command_head(verb: str, target: str, numkeys: int, entries: int) -> bytes:
    """The start of ``verb target numkeys`` (FCALL or EVALSHA) with ``entries`` KEYS and
    ARGV to follow as bulk strings: the array's length and the first three entries."""
    return b"*%d\r\n" % (3 + entries) + bulk(verb) + bulk(target) + bulk(numkeys)


__all__ = ["bulk", "bulks", "command_head"]
