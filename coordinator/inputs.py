"""What the coordinator agrees to store: clean text and JSON-safe values, checked before Redis.

Why this exists: a value that cannot be encoded, or that changes on the way through,
must be refused while nothing has been written. The Lua scripts encode with cjson
(NaN and Infinity make it fail; integers beyond 2^53 become doubles and lose digits),
the HTTP layer and the audit stream encode text as UTF-8 (a lone surrogate such as
``"\\ud800"`` cannot be), and control characters or a 10,000-deep object are never
something a calendar needs. Every write path (bookings, approvals, proposals,
webhooks, rules, agents) calls these checks first, so the caller gets a
:class:`~coordinator.errors.ValidationError` naming the field (HTTP 422) instead of a
500 and a half-written store.

The policy, in one place:

* **Text** never holds a surrogate code point (U+D800..U+DFFF) nor a control
  character (Unicode category Cc: U+0000..U+001F, U+007F..U+009F, NUL included).
  *Free text* (notes, summaries, descriptions, messages, decision notes, and string
  values inside metadata/evidence) may also hold line breaks and tabs (``\\n``,
  ``\\r``, ``\\t``); *one-line text* (titles, names, emails, action types, ids,
  URLs, secrets, object keys) may not.
* **JSON values** (booking ``metadata``, approval ``evidence``) are objects, arrays,
  text, booleans, null and numbers; numbers are finite; integers lie within
  ±(10^14 - 1), which the scripts' cjson (14 significant digits) writes back exactly,
  so nothing beyond 2^53 either; other numbers are kept to 14 significant digits;
  object keys are one-line text; nesting is at most :data:`MAX_DEPTH` containers
  deep. A refusal names the top-level field (``metadata``) and says where inside it
  (``metadata.a[2]``) and why.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from .errors import ValidationError

#: Deepest nesting of objects/arrays accepted in a JSON value (the value itself is 1).
MAX_DEPTH = 16
#: Largest integer magnitude stored. The scripts' JSON encoder (Redis's cjson) writes
#: numbers with 14 significant digits, so a larger integer (even one below 2^53, which a
#: Lua double holds) would come back rounded and as a float: refused, send it as text.
MAX_SAFE_INTEGER = 10**14 - 1

#: Surrogates and every control character: never allowed in text.
_BAD_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
#: The same, but line breaks and tabs are allowed (free text).
_BAD_FREE_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def shown(value: str, limit: int = 40) -> str:
    """``value`` quoted for an error message: ASCII only, so the message always encodes."""
    cut = value if len(value) <= limit else value[:limit] + "…"
    return json.dumps(cut)


def _why(bad: str) -> str:
    code = ord(bad)
    if 0xD800 <= code <= 0xDFFF:
        return f"holds a lone surrogate (U+{code:04X}), which is not Unicode text"
    if code == 0:
        return "holds a NUL character (U+0000)"
    return f"holds a control character (U+{code:04X})"


def bad_chars(value: str, *, multiline: bool = False) -> str | None:
    """Why ``value`` is not storable text, or None if it is."""
    found = (_BAD_FREE_TEXT if multiline else _BAD_ONE_LINE).search(value)
    if found is None:
        return None
    allowed = " (line breaks and tabs are allowed)" if multiline else ""
    return _why(found.group()) + allowed


def check_chars(value: str, field: str, *, multiline: bool = False) -> str:
    """Refuse surrogates and control characters (``multiline`` allows ``\\n\\r\\t``)."""
    why = bad_chars(value, multiline=multiline)
    if why:
        raise ValidationError(field, why)
    return value


def text(
    value: object,
    field: str,
    *,
    max_len: int,
    min_len: int = 0,
    multiline: bool = False,
    optional: bool = True,
) -> str | None:
    """``value`` if it is clean text of ``min_len..max_len`` characters (None if optional)."""
    if value is None and optional:
        return None
    if not isinstance(value, str) or not min_len <= len(value) <= max_len:
        span = f"{min_len}..{max_len} characters" if min_len else f"at most {max_len} characters"
        raise ValidationError(field, f"must be text of {span}")
    return check_chars(value, field, multiline=multiline)


def required_text(
    value: object, field: str, *, max_len: int, min_len: int = 1, multiline: bool = False
) -> str:
    """Like :func:`text`, but None is refused too."""
    out = text(value, field, max_len=max_len, min_len=min_len, multiline=multiline, optional=False)
    assert out is not None
    return out


def _path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if _IDENTIFIER.match(key):
        return f"{parent}.{key}"
    return f"{parent}[{shown(key)}]"


def check_json(value: object, field: str, *, max_depth: int = MAX_DEPTH) -> None:
    """Refuse anything in ``value`` that cannot be stored and read back unchanged.

    Errors name ``field`` (the top-level input) and say where inside it.
    """
    _check_value(value, field, field, 1, max_depth)


def _check_value(value: object, field: str, where: str, depth: int, max_depth: int) -> None:
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, str):
        why = bad_chars(value, multiline=True)
        if why:
            raise ValidationError(field, f"at {where}: the text {why}")
    elif isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise ValidationError(
                field,
                f"at {where}: integers must lie within ±{MAX_SAFE_INTEGER:,} to be stored "
                "exactly; send larger numbers (and ids) as text",
            )
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(field, f"at {where}: NaN and Infinity cannot be stored")
    elif isinstance(value, dict | list | tuple):
        if depth > max_depth:
            raise ValidationError(field, f"at {where}: nested deeper than {max_depth} levels")
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise ValidationError(field, f"at {where}: object keys must be text")
                why = bad_chars(key)
                if why:
                    raise ValidationError(field, f"at {_path(where, key)}: the key {why}")
                _check_value(item, field, _path(where, key), depth + 1, max_depth)
        else:
            for i, item in enumerate(value):
                _check_value(item, field, _path(where, i), depth + 1, max_depth)
    else:
        raise ValidationError(
            field, f"at {where}: {type(value).__name__} is not a JSON value (not serialisable)"
        )


def json_object(value: object, field: str, *, max_bytes: int) -> str:
    """``value`` (a JSON object) checked and encoded, at most ``max_bytes`` once encoded."""
    if not isinstance(value, dict):
        raise ValidationError(field, "must be a JSON object")
    check_json(value, field)
    encoded = json.dumps(value, allow_nan=False)
    if len(encoded) > max_bytes:
        raise ValidationError(field, f"larger than {max_bytes} bytes")
    return encoded


def is_id(value: object, *, max_len: int = 64, prefix: str = "") -> bool:
    """Whether ``value`` is an id: ``1..max_len`` printable characters, no whitespace."""
    return (
        isinstance(value, str)
        and 1 <= len(value) <= max_len
        and value.startswith(prefix)
        and value.isprintable()
        and " " not in value  # the only whitespace character that is printable
        and bad_chars(value) is None
    )


def check_id(value: object, field: str, *, max_len: int = 64, prefix: str = "") -> str:
    """``value`` if :func:`is_id`, else a :class:`ValidationError` naming ``field``."""
    if not is_id(value, max_len=max_len, prefix=prefix):
        example = f" such as {prefix}…" if prefix else ""
        raise ValidationError(field, f"must be an id{example} (1..{max_len} characters)")
    assert isinstance(value, str)
    return value


def readable(value: Any) -> Any:
    """``value`` (decoded JSON) with every lone surrogate replaced by U+FFFD.

    For records stored before these checks existed: a read must still answer (a lone
    surrogate cannot be sent as UTF-8), so what cannot be encoded is shown as the
    replacement character instead of failing the whole listing.
    """
    if isinstance(value, str):
        if _SURROGATE.search(value) is None:
            return value
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, list):
        return [readable(v) for v in value]
    if isinstance(value, dict):
        return {readable(k): readable(v) for k, v in value.items()}
    return value


__all__ = [
    "MAX_DEPTH",
    "MAX_SAFE_INTEGER",
    "bad_chars",
    "check_chars",
    "check_id",
    "check_json",
    "is_id",
    "json_object",
    "readable",
    "required_text",
    "shown",
    "text",
]
