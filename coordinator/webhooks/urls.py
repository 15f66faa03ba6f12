"""Which webhook URLs the coordinator may call: the SSRF guard, at registration and delivery.

A webhook URL is chosen by whoever holds an owner session, and the dispatcher POSTs
to it from inside the deployment. :mod:`coordinator.outbound` holds the guard (shared
with the calendar connectors): it refuses userinfo, control characters, non-default
ports (unless configured) and every host that is or resolves to a loopback,
link-local, private, multicast, reserved or unspecified address. It runs twice: when
an endpoint is registered and again on every connection the dispatcher opens
(:class:`~coordinator.outbound.GuardedBackend` resolves, checks and connects to the
checked address itself), so a name re-pointed at a private address after
registration (DNS rebinding) is still refused.

Local development needs loopback receivers: ``AGENTDRAFT_WEBHOOK_ALLOW_HOSTS``
(comma-separated host names, addresses or networks such as ``127.0.0.1``,
``::1``, ``10.0.0.0/8``) lets those through on any port; the tests set it.
``AGENTDRAFT_WEBHOOK_ALLOW_PORTS`` adds ports other than 80/443 for every host.
"""

from __future__ import annotations

import httpx

from ..deadlines import SocketSet
from ..outbound import AddressPolicy
from ..outbound import guarded_client as _guarded_client

ALLOW_HOSTS_ENV = "AGENTDRAFT_WEBHOOK_ALLOW_HOSTS"
ALLOW_PORTS_ENV = "AGENTDRAFT_WEBHOOK_ALLOW_PORTS"
ERROR = "unsafe_webhook_url"


def webhook_policy() -> AddressPolicy:
    """The webhook policy the environment configures now (read on each use)."""
    return AddressPolicy.from_env(ALLOW_HOSTS_ENV, ALLOW_PORTS_ENV, error=ERROR, what="webhooks")


def check_webhook_url(url: object, policy: AddressPolicy | None = None) -> str:
    """``url`` if it is an http(s) URL the dispatcher may call, else a ``ValidationError``
    (``unsafe_webhook_url`` when it points inside the deployment)."""
    (policy or webhook_policy()).check_url(url)
    assert isinstance(url, str)  # check_url refuses anything else
    return url


def guarded_client(
    timeout: float, policy: AddressPolicy | None = None, sockets: SocketSet | None = None
) -> httpx.Client:
    """An HTTP client for deliveries: guarded connections, no redirects, no env proxies;
    its sockets in ``sockets`` for a delivery's :class:`~coordinator.deadlines.Deadline`."""
    fixed = policy
    current = webhook_policy if fixed is None else (lambda: fixed)
    return _guarded_client(current, timeout=timeout, follow_redirects=False, sockets=sockets)


__all__ = [
    "ALLOW_HOSTS_ENV",
    "ALLOW_PORTS_ENV",
    "check_webhook_url",
    "guarded_client",
    "webhook_policy",
]
