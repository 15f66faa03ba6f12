"""Availability etags: a token that says which rules an availability answer used.

An etag names the owner's ``rules_version`` and is bound to the calendar by a
short digest, so a write can present it and be refused (410) if the owner changed
any rule since, instead of booking against rules that no longer hold. Bookings
themselves do not make it stale: a slot another agent took since is an ordinary
:class:`~coordinator.Conflict`, with the winner named.
"""

from __future__ import annotations

import hashlib

from .errors import ValidationError

_PREFIX = "av1"


def _digest(user_id: str, version: int) -> str:
    return hashlib.sha256(f"{user_id}:{version}".encode()).hexdigest()[:12]


def make_etag(user_id: str, rules_version: int) -> str:
    return f"{_PREFIX}.{rules_version}.{_digest(user_id, rules_version)}"


def etag_version(etag: object, user_id: str) -> int:
    """The rules version an etag was issued for; ValidationError if it is not this calendar's."""
    parts = etag.split(".") if isinstance(etag, str) else []
    if len(parts) != 3 or parts[0] != _PREFIX or not parts[1].isdigit():
        raise ValidationError("availability_etag", "not an etag from availability.list")
    version = int(parts[1])
    if parts[2] != _digest(user_id, version):
        raise ValidationError("availability_etag", "this etag belongs to another calendar")
    return version
