"""A read-only iCalendar feed over HTTP(S): what Outlook/Microsoft 365, Google and most
providers publish as a "secret address".

A feed has no sync token: each pull is a conditional GET (``If-None-Match`` with the
last ETag); a 304 changes nothing, anything else is the whole calendar as one object.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from ...deadlines import SocketSet
from ...outbound import read_at_most, unsafe_cause
from ..clients import DEFAULT_DEADLINE_SECONDS, MAX_RESPONSE_BYTES, guarded_http, within
from ..errors import (
    CalendarNotFound,
    ConnectorAuthFailed,
    ConnectorError,
    ConnectorTLSError,
    ConnectorUnreachable,
    ConnectorUnsafeURL,
    FeedTooLarge,
)
from ..ical import parse_calendar
from .base import PullResult, RemoteObject, RemoteRef

TIMEOUT_SECONDS = 20
#: The largest feed read; past it the pull is FeedTooLarge and nothing of it is applied.
MAX_FEED_BYTES = MAX_RESPONSE_BYTES


@dataclass(frozen=True)
class _Fetched:
    """One answer of the feed's server, its body read up to MAX_FEED_BYTES."""

    status: int
    etag: str | None
    body: bytes
    encoding: str


class ICSFeedAdapter:
    """One feed URL; the whole feed is one remote object whose href is the URL."""

    can_push = False

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        verify_tls: bool = True,
        deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
    ) -> None:
        auth = (username, password or "") if username else None
        self.url = url
        self.deadline_seconds = deadline_seconds
        self.sockets = SocketSet()
        # Every connection checked (connectors/urls.py), each redirect's included.
        self.http = guarded_http(
            timeout=TIMEOUT_SECONDS,
            verify=verify_tls,
            auth=auth,
            follow_redirects=True,
            sockets=self.sockets,
        )

    def close(self) -> None:
        self.http.close()

    def _get(self, etag: str | None) -> _Fetched:
        headers = {"If-None-Match": etag} if etag else {}
        with within(self.deadline_seconds, self.sockets, self.url):
            return self._fetch(headers)

    def _fetch(self, headers: dict[str, str]) -> _Fetched:
        try:
            with self.http.stream("GET", self.url, headers=headers) as resp:
                self._check_status(resp.status_code)
                body = read_at_most(resp.iter_bytes(), MAX_FEED_BYTES)
                if body is None:
                    raise FeedTooLarge(f"{self.url}: the feed is over {MAX_FEED_BYTES} bytes")
                encoding = resp.encoding or "utf-8"
                return _Fetched(resp.status_code, resp.headers.get("ETag"), body, encoding)
        except httpx.ConnectError as exc:
            unsafe = unsafe_cause(exc)
            if unsafe is not None:
                raise ConnectorUnsafeURL(f"{self.url}: {unsafe.detail}") from None
            if "SSL" in str(exc) or "certificate" in str(exc).lower():
                raise ConnectorTLSError(f"{self.url}: TLS failed: {exc}") from None
            raise ConnectorUnreachable(f"{self.url}: {exc}") from None
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            raise ConnectorUnreachable(f"{self.url}: {exc}") from None

    def _check_status(self, status: int) -> None:
        if status in (401, 403):
            raise ConnectorAuthFailed(f"{self.url}: HTTP {status}")
        if status in (404, 410):
            raise CalendarNotFound(f"{self.url}: no feed here (HTTP {status})")
        if status not in (200, 304):
            raise ConnectorError(f"{self.url}: HTTP {status}")

    def check(self) -> None:
        parse_calendar(self._get(None).body, self.url)

    def pull(self, token: str | None, known: Mapping[str, str | None]) -> PullResult:
        got = self._get(known.get(self.url))
        if got.status == 304:
            return PullResult([], [], False, None, frozenset({self.url}))
        text = got.body.decode(got.encoding, errors="replace")
        parse_calendar(text, self.url)  # refuse a broken feed before it replaces a good one
        obj = RemoteObject(self.url, got.etag, text)
        return PullResult([obj], [], True, None, frozenset({self.url}))

    def create(self, uid: str, ics: str) -> RemoteRef:
        raise ConnectorError("an ICS feed is read-only", error="connector_read_only")

    def update(self, ref: RemoteRef, ics: str) -> RemoteRef:
        raise ConnectorError("an ICS feed is read-only", error="connector_read_only")

    def delete(self, ref: RemoteRef) -> None:
        raise ConnectorError("an ICS feed is read-only", error="connector_read_only")
