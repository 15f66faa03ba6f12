"""Ids for everything the coordinator creates, and the one rule for idempotency keys.

An id is a short prefix naming the kind (``bkg``, ``hld``, ``apr``, ``spr``, ``agt``,
``usr``, ``whe``) and random hex. A create that carries an idempotency key gets an id
derived from the agent and the key instead, so a retry finds what the first attempt
made rather than making a second one.
"""

from __future__ import annotations

import hashlib
import os
import threading

from .errors import ValidationError

MAX_IDEMPOTENCY_KEY = 255


class _RandomBlock:
    """The operating system's random bytes (``os.urandom``), read a block at a time.

    Every booking gets a new id, and ``secrets.token_hex`` asks the kernel for each
    one: a ``getrandom`` system call that also lets go of the GIL, so on a busy server
    the event loop's thread gave it to a background thread and waited to get it back
    once per commit. The bytes are the same kernel randomness, handed out eight at a
    time under a lock (ids are made on the loop and in worker threads alike, and the
    GIL alone would not keep two of them apart on a build without one); a forked child
    forgets the block it inherited, so parent and child never hand out the same bytes.
    """

    SIZE = 4096

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._block = b""
        self._at = 0

    def forget(self) -> None:
        self._lock = threading.Lock()  # a lock held across fork stays held in the child
        self._block = b""
        self._at = 0

    def hex8(self) -> str:
        """Eight fresh random bytes as 16 hex digits."""
        with self._lock:
            at = self._at
            if at + 8 > len(self._block):
                self._block = os.urandom(self.SIZE)
                at = 0
            self._at = at + 8
            return self._block[at : at + 8].hex()


_RANDOM = _RandomBlock()
os.register_at_fork(after_in_child=_RANDOM.forget)


def new_id(prefix: str) -> str:
    """A fresh random id of the given kind, e.g. ``bkg_3f9a0c2e71b4d856``."""
    return f"{prefix}_{_RANDOM.hex8()}"


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
