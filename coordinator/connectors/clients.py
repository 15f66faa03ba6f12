"""The HTTP clients connectors call calendar servers with, and what bounds them.

Both clients check every connection they open against the connectors' SSRF policy
(:mod:`coordinator.connectors.urls`). Both also record their sockets in the adapter's
:class:`~coordinator.deadlines.SocketSet`, so a deadline can cut off a server that
answers a byte at a time. The CalDAV session also reads each answer up to
``max_response_bytes`` and no further. caldav itself reads every response whole, and a
server that sends gigabytes would otherwise take the worker's memory with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from ..deadlines import Deadline, SocketSet, bounded
from ..outbound import guarded_client, read_at_most
from .errors import ConnectorUnreachable, FeedTooLarge
from .urls import connector_policy

#: The largest answer read from a calendar server (a feed, or one CalDAV response such as
#: a calendar-multiget of every changed event). A busy person's calendar with years of
#: history is a few MiB. Past it the pull is FeedTooLarge, and nothing of it is applied.
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
_CHUNK = 64 * 1024
#: The longest one adapter call (a pull with its discovery, a push write) may take in all
#: (Settings.connector_deadline_seconds); each connect and read has its own 20 s too.
DEFAULT_DEADLINE_SECONDS = 60.0


@contextmanager
def within(seconds: float, sockets: SocketSet, where: str) -> Iterator[None]:
    """Run one adapter call under a :class:`~coordinator.deadlines.Deadline`; whatever it
    fails with once the deadline has passed is ``ConnectorUnreachable`` saying so."""
    deadline = Deadline(seconds, sockets)
    try:
        with deadline:
            yield
    except Exception:
        if deadline.expired:
            raise ConnectorUnreachable(
                f"{where}: the server did not finish answering within {seconds:g} s"
            ) from None
        raise


def guarded_http(*, sockets: SocketSet | None = None, **kw: Any) -> httpx.Client:
    """An httpx client for feeds: every connection checked, redirects included."""
    return guarded_client(connector_policy, sockets=sockets, **kw)


def guarded_session(
    multiplexed: bool = False,
    *,
    sockets: SocketSet | None = None,
    max_response_bytes: int = MAX_RESPONSE_BYTES,
) -> Any:
    """A niquests session for the CalDAV client: every name lookup checked, every socket
    in ``sockets``, and no answer read past ``max_response_bytes`` (``FeedTooLarge``).

    Only ``http://`` and ``https://`` are mounted (niquests also speaks ``http+unix://``,
    which a server-supplied link could name), HTTP/3 is off (an ``Alt-Svc`` answer
    would send the client to another host and port) and the environment's proxies are
    not used (a proxy would look the name up where the guard cannot see)."""
    import niquests
    from niquests.packages.urllib3.contrib.resolver.system import SystemResolver

    class CheckedResolver(SystemResolver):  # type: ignore[misc]
        def getaddrinfo(
            self,
            host: bytes | str | None,
            port: str | int | None,
            family: Any,
            type: Any,  # the name the base class uses
            proto: int = 0,
            flags: int = 0,
            *,
            quic_upgrade_via_dns_rr: bool = False,
        ) -> Any:
            name = host.decode("ascii") if isinstance(host, bytes) else host
            infos = bounded(
                sockets,
                lambda: SystemResolver.getaddrinfo(self, host, port, family, type, proto, flags),
                f"the name lookup of {name}",
            )
            if name is not None:
                connector_policy().check_infos(name, infos)
            return infos

        def create_connection(self, *args: Any, **kw: Any) -> Any:
            sock = super().create_connection(*args, **kw)
            if sockets is not None:
                sockets.add(sock)
            return sock

    class CappedSession(niquests.Session):  # type: ignore[misc]
        def request(self, *args: Any, **kw: Any) -> Any:
            kw["stream"] = True
            response = super().request(*args, **kw)
            body = read_at_most(response.iter_content(_CHUNK), max_response_bytes)
            if body is None:
                response.close()
                raise FeedTooLarge(f"{response.url}: the answer is over {max_response_bytes} bytes")
            # What ``response.content`` returns from now on, as if read without stream.
            response._content = body
            response._content_consumed = True
            return response

    session = CappedSession(resolver=CheckedResolver(), multiplexed=multiplexed, disable_http3=True)
    session.trust_env = False
    for prefix in [p for p in session.adapters if p not in ("http://", "https://")]:
        del session.adapters[prefix]
    return session


__all__ = [
    "DEFAULT_DEADLINE_SECONDS",
    "MAX_RESPONSE_BYTES",
    "guarded_http",
    "guarded_session",
    "within",
]
