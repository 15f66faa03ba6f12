"""CalDAV (RFC 4791) through the ``caldav`` package: Radicale, Xandikos, Nextcloud, Fastmail,
iCloud, and Google's CalDAV endpoint with an OAuth bearer token.

Incremental pulls use RFC 6578 sync-collection; an invalidated token (Radicale 403,
Xandikos 412) starts a full listing, and a listing compares ETags so only changed objects
are fetched (one calendar-multiget REPORT). Writes are plain conditional PUTs we build
ourselves, so they are idempotent on every server: ``If-None-Match: *`` to create,
``If-Match`` to replace, DELETE by href.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

from ...deadlines import SocketSet
from ...outbound import UnsafeURL, unsafe_cause
from ..clients import DEFAULT_DEADLINE_SECONDS, guarded_session, within
from ..errors import (
    CalendarNotFound,
    ConnectorAuthFailed,
    ConnectorError,
    ConnectorTLSError,
    ConnectorUnreachable,
    ConnectorUnsafeURL,
    MissingExtra,
)
from .base import PullResult, RemoteObject, RemoteRef

TIMEOUT_SECONDS = 20
CTAG = "{http://calendarserver.org/ns/}getctag"
#: Prefix of the opaque token when the server has no sync tokens and the ctag stands in.
CTAG_TOKEN = "ctag:"


def _caldav() -> Any:
    try:
        import caldav
    except ImportError as exc:
        raise MissingExtra(exc) from None
    return caldav


def _bearer(provider: Callable[[], str]) -> Any:
    from niquests.auth import AuthBase

    class Bearer(AuthBase):  # type: ignore[misc]
        """Asks the provider for a token on every request, so a refreshed one is used."""

        def __call__(self, request: Any) -> Any:
            request.headers["Authorization"] = f"Bearer {provider()}"
            return request

    return Bearer()


@contextmanager
def dav_errors(where: str) -> Iterator[None]:
    """Map the client's and the transport's exceptions to typed connector errors."""
    caldav = _caldav()
    err = caldav.lib.error
    try:
        yield
    except ConnectorError:
        raise
    except UnsafeURL as exc:
        raise ConnectorUnsafeURL(f"{where}: {exc.detail}") from None
    except err.AuthorizationError as exc:
        raise ConnectorAuthFailed(
            f"{where}: the server refused the credentials ({exc.reason})"
        ) from None
    except err.NotFoundError:
        raise CalendarNotFound(f"{where}: no such calendar") from None
    except err.DAVError as exc:
        raise ConnectorError(f"{where}: {type(exc).__name__}: {exc.reason}") from None
    except ssl.SSLError as exc:
        raise ConnectorTLSError(f"{where}: TLS failed: {exc}") from None
    except OSError as exc:
        if "SSL" in type(exc).__name__ or "certificate" in str(exc).lower():
            raise ConnectorTLSError(f"{where}: TLS failed: {exc}") from None
        raise ConnectorUnreachable(f"{where}: {exc}") from None
    except Exception as exc:
        unsafe = unsafe_cause(exc)
        if unsafe is not None:
            raise ConnectorUnsafeURL(f"{where}: {unsafe.detail}") from None
        # niquests' exceptions subclass IOError/OSError mostly; anything else is surfaced.
        text = str(exc)
        if "SSL" in text or "certificate" in text.lower():
            raise ConnectorTLSError(f"{where}: TLS failed: {text}") from None
        raise ConnectorUnreachable(f"{where}: {type(exc).__name__}: {text}") from None


class CalDAVAdapter:
    """One calendar collection on a CalDAV server."""

    can_push = True

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        token_provider: Callable[[], str] | None = None,
        calendar: str | None = None,
        verify_tls: bool = True,
        deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
    ) -> None:
        caldav = _caldav()
        self.url, self.calendar_name = url, calendar
        self.deadline_seconds = deadline_seconds
        self.sockets = SocketSet()
        kw: dict[str, Any] = {"timeout": TIMEOUT_SECONDS, "ssl_verify_cert": verify_tls}
        if token_provider is not None:
            kw["auth"] = _bearer(token_provider)
        elif username is not None:
            kw.update(username=username, password=password or "", auth_type="basic")
        self.client = caldav.DAVClient(url=url, **kw)
        # Every name the client looks up is checked (connectors/urls.py): the server's
        # own links and redirects included. Every socket it opens is in self.sockets,
        # which each call's deadline shuts down once it passes (clients.within).
        multiplexed = bool(getattr(self.client.session, "multiplexed", False))
        self.client.session.close()
        self.client.session = guarded_session(multiplexed, sockets=self.sockets)
        self._cal: Any = None

    def close(self) -> None:
        self.client.close()

    # -- the collection -----------------------------------------------------------------

    @property
    def cal(self) -> Any:
        if self._cal is None:
            self._cal = self._find()
        return self._cal

    def _find(self) -> Any:
        with dav_errors(self.url):
            name = self.calendar_name
            if not name:
                cal = self.client.calendar(url=self.url)
                cal.get_properties()
                return cal
            for cal in self.client.get_principal().get_calendars():
                tail = str(cal.url).rstrip("/").rsplit("/", 1)[-1]
                if name in (tail, str(cal.url)) or name == cal.get_display_name():
                    return cal
        raise CalendarNotFound(f"{self.url}: no calendar {name!r} for this user")

    def _within(self, where: str) -> Any:
        """One call's deadline (Settings.connector_deadline_seconds)."""
        return within(self.deadline_seconds, self.sockets, where)

    def check(self) -> None:
        with self._within(self.url):
            _ = self.cal

    # -- pull ---------------------------------------------------------------------------

    def ctag(self) -> str | None:
        """The collection's CalendarServer ctag (changes whenever any object does)."""
        from caldav.elements.base import ValuedBaseElement

        class GetCTag(ValuedBaseElement):  # type: ignore[misc]
            tag = CTAG

        with dav_errors(self.url):
            value = self.cal.get_properties([GetCTag()]).get(CTAG)
        return str(value) if value else None

    def pull(self, token: str | None, known: Mapping[str, str | None]) -> PullResult:
        with self._within(self.url):
            return self._pull(token, known)

    def _pull(self, token: str | None, known: Mapping[str, str | None]) -> PullResult:
        if token is not None and token.startswith(CTAG_TOKEN):
            return self._pull_by_ctag(token, known)
        caldav = _caldav()
        err = caldav.lib.error
        cal = self.cal
        full = token is None
        with dav_errors(self.url):
            try:
                coll = cal.get_objects_by_sync_token(
                    sync_token=token, load_objects=False, disable_fallback=True
                )
            except (err.AuthorizationError, err.ReportError, err.DAVError):
                if token is None:
                    # No RFC 6578 on this server: compare the ctag, then ETags.
                    return self._pull_by_ctag(None, known)
                # An invalidated token (Radicale 403, Xandikos 412): start over.
                full = True
                coll = cal.get_objects_by_sync_token(
                    sync_token=None, load_objects=False, disable_fallback=True
                )
            gone = {str(u) for u in coll.deleted_urls}
            listed: dict[str, str | None] = {}
            for obj in coll.objects:
                href = str(obj.url)
                if href in gone:
                    continue
                listed[href] = (obj.props or {}).get("{DAV:}getetag")
            wanted = [h for h, etag in listed.items() if etag is None or known.get(h) != etag]
            changed: list[RemoteObject] = []
            if wanted:
                for obj in cal.multiget([cal.url.join(h) for h in wanted]):
                    href = str(obj.url)
                    etag = (obj.props or {}).get("{DAV:}getetag") or listed.get(href)
                    changed.append(RemoteObject(href, etag, str(obj.data)))
        deleted = sorted(gone)
        if full:
            deleted = sorted(set(known) - set(listed))
        return PullResult(
            changed,
            deleted,
            full,
            str(coll.sync_token) if coll.sync_token else None,
            frozenset(listed),
        )

    def _pull_by_ctag(self, token: str | None, known: Mapping[str, str | None]) -> PullResult:
        """For servers without sync tokens: nothing to do while the ctag stands still;
        else a full listing (PROPFIND of ETags), fetching only the objects that changed.
        The ctag rides in the opaque token as ``ctag:<value>``."""
        ctag = self.ctag()
        if token is not None and ctag is not None and token == CTAG_TOKEN + ctag:
            return PullResult([], [], False, token, frozenset(known))
        with dav_errors(self.url):
            listing = self.cal.get_objects_by_sync_token(sync_token=None, load_objects=False)
            listed = {str(o.url): (o.props or {}).get("{DAV:}getetag") for o in listing.objects}
            wanted = [h for h, etag in listed.items() if etag is None or known.get(h) != etag]
            changed = [
                RemoteObject(str(o.url), (o.props or {}).get("{DAV:}getetag"), str(o.data))
                for o in (
                    self.cal.multiget([self.cal.url.join(h) for h in wanted]) if wanted else []
                )
            ]
        next_token = CTAG_TOKEN + ctag if ctag else None
        return PullResult(changed, [], True, next_token, frozenset(listed))

    # -- push ---------------------------------------------------------------------------

    def href_for(self, uid: str) -> str:
        return str(self.cal.url.join(quote(uid, safe="") + ".ics"))

    def create(self, uid: str, ics: str) -> RemoteRef:
        with self._within(f"create {uid}"):
            href = self.href_for(uid)
            headers = {"Content-Type": "text/calendar; charset=utf-8", "If-None-Match": "*"}
            with dav_errors(f"create {uid}"):
                resp = self.client.put(href, ics, headers)
        if resp.status in (200, 201, 204):
            return RemoteRef(href, resp.headers.get("ETag"))
        if resp.status == 412:  # already there: this uid is ours, a retry found it
            return RemoteRef(href, None)
        raise ConnectorError(f"create {uid}: HTTP {resp.status}")

    def update(self, ref: RemoteRef, ics: str) -> RemoteRef:
        headers = {"Content-Type": "text/calendar; charset=utf-8"}
        if ref.etag:
            headers["If-Match"] = ref.etag
        with self._within(f"update {ref.href}"), dav_errors(f"update {ref.href}"):
            resp = self.client.put(ref.href, ics, headers)
        if resp.status in (200, 201, 204):
            return RemoteRef(ref.href, resp.headers.get("ETag"))
        raise ConnectorError(
            f"update {ref.href}: HTTP {resp.status}"
            + (" (changed on the calendar since we wrote it)" if resp.status == 412 else ""),
            error="connector_etag_mismatch" if resp.status == 412 else None,
        )

    def delete(self, ref: RemoteRef) -> None:
        with self._within(f"delete {ref.href}"), dav_errors(f"delete {ref.href}"):
            resp = self.client.delete(ref.href)
        if resp.status not in (200, 204, 404, 410):
            raise ConnectorError(f"delete {ref.href}: HTTP {resp.status}")
