"""Connector records and reports: what an owner configures and what a sync observed.

``Connector`` is the public read model: it never carries a password or a token. The
stored record (``ConnectorRecord``) holds the same fields plus the encrypted secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from ..buckets import from_ms

Kind = Literal["caldav", "ics"]
Mode = Literal["two_way", "read_only", "write_only"]
Policy = Literal["evict", "keep"]
StalePolicy = Literal["allow", "refuse"]

KINDS: tuple[str, ...] = ("caldav", "ics")
MODES: tuple[str, ...] = ("two_way", "read_only", "write_only")
POLICIES: tuple[str, ...] = ("evict", "keep")
STALE_POLICIES: tuple[str, ...] = ("allow", "refuse")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Connector(_Model):
    """One calendar the coordinator sits in front of (credentials never included)."""

    connector_id: str
    user_id: str
    kind: Kind
    url: str
    username: str | None = None
    calendar: str | None = None
    mode: Mode = "two_way"
    #: What a pulled event does to a live booking it overlaps.
    policy: Policy = "evict"
    horizon_days: int = 60
    max_staleness_seconds: int = 300
    #: ``refuse``: commits get 503 calendar_unsynced while the view is older than allowed.
    stale: StalePolicy = "allow"
    #: Name the event's SUMMARY in a 409 (else only its UID).
    show_summary: bool = False
    owner_email: str | None = None
    verify_tls: bool = True
    created_at: datetime

    @property
    def pulls(self) -> bool:
        return self.mode != "write_only"

    @property
    def pushes(self) -> bool:
        return self.mode != "read_only" and self.kind == "caldav"

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> Connector:
        public = {k: v for k, v in rec.items() if k not in ("secret", "created_ms")}
        return cls(**public, created_at=from_ms(rec["created_ms"]))


class ConnectorStatus(_Model):
    """How a connector is doing: last successful pull and push, errors, backlog."""

    connector_id: str
    last_pull_at: datetime | None = None
    last_push_at: datetime | None = None
    last_error: str | None = None
    last_error_code: str | None = None
    last_error_at: datetime | None = None
    #: Bookings waiting to be pushed (or deleted) on this calendar.
    backlog: int = 0
    dead_letters: int = 0
    #: External busy blocks currently pulled from this calendar.
    blocks: int = 0
    #: Bookings kept over an external event (policy ``keep``), counted since added.
    conflicts: int = 0
    last_conflict: dict[str, Any] | None = None
    stale: bool = True


class ExternalBlock(_Model):
    """One busy instance pulled from the real calendar, as the bucket index holds it."""

    connector_id: str
    event_uid: str
    start: datetime
    end: datetime
    summary: str | None = None


class Freshness(_Model):
    """How fresh one connector's view of the real calendar is, as availability reports it."""

    connector_id: str
    last_pull_at: datetime | None
    stale: bool


@dataclass
class SyncReport:
    """What one pull changed."""

    connector_id: str
    full: bool
    objects: int = 0
    added: int = 0
    removed: int = 0
    evicted: list[str] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
