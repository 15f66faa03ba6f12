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

from ..outbound import AddressPolicy

ALLOW_HOSTS_ENV = "AGENTDRAFT_CONNECTOR_ALLOW_HOSTS"
ERROR = "unsafe_connector_url"


def connector_policy() -> AddressPolicy:
    """The connectors' policy as the environment configures it now (read on each use)."""
    return AddressPolicy.from_env(ALLOW_HOSTS_ENV, error=ERROR, what="calendar connectors")


def check_connector_url(url: str) -> str:
    """``url`` if a connector may fetch it, else a ``ValidationError`` naming ``url``."""
    connector_policy().check_url(url, any_port=True)
    return url


__all__ = [
    "ALLOW_HOSTS_ENV",
    "check_connector_url",
    "connector_policy",
]
