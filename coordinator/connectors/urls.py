"""Which calendar servers a connector may reach: the SSRF guard of :mod:`coordinator.outbound`.

An owner chooses a connector's URL and the coordinator fetches it from inside the
deployment, then stores what it read as busy time and puts the server's answers in its
errors. So a URL whose host is, or resolves to, a loopback, link-local, private,
multicast, reserved or unspecified address is refused when the connector is added, and
every connection the CalDAV client or the feed client opens later is checked again
when its name is resolved: a name re-pointed at a private address (DNS rebinding), a
redirect, or a calendar link a CalDAV server hands out that points inside is refused
too, as ``unsafe_connector_url``.

Any port is allowed (CalDAV servers often listen on their own, such as Radicale's 5232).
A calendar server on the local machine or network (a self-hosted Radicale, the
offline example, the tests) needs ``AGENTDRAFT_CONNECTOR_ALLOW_HOSTS``: comma-separated
host names, addresses or networks (``127.0.0.1``, ``::1``, ``192.168.0.0/16``).
"""

from __future__ import annotations

from typing import Any

import httpx

from ..outbound import AddressPolicy
from ..outbound import guarded_client as _guarded_client

ALLOW_HOSTS_ENV = "AGENTDRAFT_CONNECTOR_ALLOW_HOSTS"
ERROR = "unsafe_connector_url"


def connector_policy() -> AddressPolicy:
    """The connectors' policy as the environment configures it now (read on each use)."""
    return AddressPolicy.from_env(ALLOW_HOSTS_ENV, error=ERROR, what="calendar connectors")


def check_connector_url(url: str) -> str:
    """``url`` if a connector may fetch it, else a ``ValidationError`` naming ``url``."""
    connector_policy().check_url(url, any_port=True)
    return url


def guarded_http(**kw: Any) -> httpx.Client:
    """An httpx client for feeds: every connection checked, redirects included."""
    return _guarded_client(connector_policy, **kw)


def guarded_session(multiplexed: bool = False) -> Any:
    """A niquests session for the CalDAV client whose every name lookup is checked.

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
            infos = super().getaddrinfo(host, port, family, type, proto, flags)
            if host is not None:
                name = host.decode("ascii") if isinstance(host, bytes) else host
                connector_policy().check_infos(name, infos)
            return infos

    session = niquests.Session(
        resolver=CheckedResolver(), multiplexed=multiplexed, disable_http3=True
    )
    session.trust_env = False
    for prefix in [p for p in session.adapters if p not in ("http://", "https://")]:
        del session.adapters[prefix]
    return session


__all__ = [
    "ALLOW_HOSTS_ENV",
    "check_connector_url",
    "connector_policy",
    "guarded_http",
    "guarded_session",
]
