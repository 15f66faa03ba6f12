"""Calendar connectors: the coordinator in front of the owner's real calendar.

Pull: events of a CalDAV calendar or an ICS feed become external busy blocks in the
bucket index the claim script reads, so no agent books over them (409
``external_event``). Push: a settled commit is written to the calendar as one VEVENT
whose UID derives from the booking id, from a per-calendar outbox the booking's own
script fills; a cancelled or evicted booking's event is deleted. The sync worker
(:mod:`.worker`) does both, standalone (``coordinator connectors sync``) or inside
``coordinator serve``. Needs the ``connectors`` extra (caldav, icalendar,
recurring-ical-events, cryptography).
"""

from .crypto import SecretBox
from .errors import (
    CalendarNotFound,
    ConnectorAuthFailed,
    ConnectorError,
    ConnectorTLSError,
    ConnectorUnreachable,
    ConnectorUnsafeURL,
    FeedMalformed,
    FeedTooLarge,
    MissingExtra,
)
from .models import Connector, ConnectorStatus, Freshness, SyncReport
from .registry import Connectors

# The worker and the pusher import redis-py's stream API and the adapters lazily; the
# registry above is all ``Coordinator`` needs.

__all__ = [
    "CalendarNotFound",
    "Connector",
    "ConnectorAuthFailed",
    "ConnectorError",
    "ConnectorStatus",
    "ConnectorTLSError",
    "ConnectorUnreachable",
    "ConnectorUnsafeURL",
    "Connectors",
    "FeedMalformed",
    "FeedTooLarge",
    "Freshness",
    "MissingExtra",
    "SecretBox",
    "SyncReport",
]
