"""The adapter interface every calendar protocol implements (CalDAV, ICS; Google, Graph).

It is shaped after what every serious calendar API offers: an incremental listing
resumed from an opaque token (RFC 6578 sync tokens, Google ``syncToken``, Graph
``deltaLink``) that says when it had to start over, objects addressed by a remote id
with a version (ETag) for conditional writes, and delete by remote id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class RemoteObject:
    """One calendar object (an event with its overrides) as the server holds it."""

    href: str
    etag: str | None
    ics: str


@dataclass(frozen=True)
class RemoteRef:
    """Where a pushed event lives and which version we last wrote."""

    href: str
    etag: str | None = None


@dataclass(frozen=True)
class PullResult:
    """What changed since ``token``: objects to (re)read, hrefs gone, and the next token.

    ``full``: the listing is complete (first pull, invalidated token, no token support),
    so every known href missing from ``listed`` was deleted.
    """

    changed: list[RemoteObject]
    deleted: list[str]
    full: bool
    token: str | None
    listed: frozenset[str] = field(default_factory=frozenset)


class CalendarAdapter(Protocol):
    """One remote calendar. Methods raise :mod:`coordinator.connectors.errors` types."""

    #: Whether bookings can be written to it (an ICS feed cannot).
    can_push: bool

    def check(self) -> None:
        """Reach the calendar with the credentials, or raise a typed error."""

    def pull(self, token: str | None, known: Mapping[str, str | None]) -> PullResult:
        """Changes since ``token``; ``known`` maps href -> ETag as last seen (skip those)."""

    def create(self, uid: str, ics: str) -> RemoteRef:
        """Create the event once (``If-None-Match: *``); an existing one is returned as is."""

    def update(self, ref: RemoteRef, ics: str) -> RemoteRef:
        """Replace our event if it is still the version we wrote (``If-Match``)."""

    def delete(self, ref: RemoteRef) -> None:
        """Remove the event by remote id; a missing one is already deleted."""

    def close(self) -> None: ...
