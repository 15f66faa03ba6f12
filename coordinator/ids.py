"""Ids for everything the coordinator creates, and the one rule for idempotency keys.

An id is a short prefix naming the kind (``bkg``, ``hld``, ``apr``, ``spr``, ``agt``,
``usr``, ``whe``) and random hex. A create that carries an idempotency key gets an id
derived from the agent and the key instead, so a retry finds what the first attempt
made rather than making a second one.
"""

from __future__ import annotations

import hashlib
import secrets

from .errors import ValidationError

MAX_IDEMPOTENCY_KEY = 255


def new_id(prefix: str) -> str:
    """A fresh random id of the given kind, e.g. ``bkg_3f9a0c2e71b4d856``."""
    return f"{prefix}_{secrets.token_hex(8)}"


def keyed_id(prefix: str, agent_id: str, idempotency_key: str | None) -> str:
    """A new id, or one derived from the caller's idempotency key, so a retried create
    finds what the first attempt made instead of making a second one."""
    if idempotency_key is None:
        return new_id(prefix)
    check_idempotency_key(idempotency_key)
    digest = hashlib.sha256(f"{agent_id}\n{idempotency_key}".encode()).hexdigest()
    return f"{prefix}_{digest[:16]}"


def check_idempotency_key(key: str | None) -> None:
    """Refuse a key that is not 1..255 printable characters without whitespace."""
    if key is None:
        return
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY:
        raise ValidationError("idempotency_key", f"must be 1..{MAX_IDEMPOTENCY_KEY} characters")
    if not key.isprintable() or " " in key:  # the only printable whitespace character
        raise ValidationError("idempotency_key", "must be printable with no whitespace")


__all__ = ["MAX_IDEMPOTENCY_KEY", "check_idempotency_key", "keyed_id", "new_id"]
