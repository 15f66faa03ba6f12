"""Typed connector failures: what ``add`` raises and what ``status`` reports later.

Each names the connector's field at fault where there is one, so an owner (or a
dashboard) can fix it; nothing is stored when ``add`` raises one.
"""

from __future__ import annotations

from ..errors import AgentDraftError

EXTRA_HINT = "pip install 'agentdraft-agents[connectors]'"


class ConnectorError(AgentDraftError):
    """Root of connector failures (422: the owner's input cannot work as given)."""

    error = "connector_error"
    status = 422


class ConnectorAuthFailed(ConnectorError):
    """The calendar server refused the credentials (401/403)."""

    error = "connector_auth_failed"


class CalendarNotFound(ConnectorError):
    """The URL answers, but the named calendar (or the feed) is not there (404)."""

    error = "connector_calendar_not_found"


class FeedMalformed(ConnectorError):
    """The server sent something that is not iCalendar."""

    error = "connector_feed_malformed"


class FeedTooLarge(ConnectorError):
    """The calendar is bigger than a pull reads: a feed over ``MAX_FEED_BYTES``, or more
    busy instances in the horizon than ``MAX_BUSY_INSTANCES`` (an event repeating every
    second, say). Nothing of that pull is applied; the last good one stays."""

    error = "connector_feed_too_large"


class ConnectorTLSError(ConnectorError):
    """The TLS handshake failed (bad certificate, wrong host, self-signed)."""

    error = "connector_tls_error"


class ConnectorUnsafeURL(ConnectorError):
    """A connection the connector was about to open points inside the deployment (see
    :mod:`coordinator.connectors.urls`): a re-pointed name, a redirect or a link."""

    error = "unsafe_connector_url"


class ConnectorUnreachable(ConnectorError):
    """No answer from the server (refused, timed out, DNS)."""

    error = "connector_unreachable"


class MissingExtra(ConnectorError, ImportError):
    """The connector libraries are not installed."""

    error = "connector_extra_missing"
    status = 500

    def __init__(self, exc: ImportError) -> None:
        super().__init__(f"calendar connectors need {exc.name}: {EXTRA_HINT}")
