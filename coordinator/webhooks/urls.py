"""Which webhook URLs the coordinator may call: the SSRF guard, at registration and delivery.

A webhook URL is chosen by whoever holds an owner session, and the dispatcher
POSTs to it from inside the deployment, so without a guard it is a way to reach
Redis on ``localhost:6379``, a cloud metadata service on ``169.254.169.254`` or
anything on the private network. The guard refuses userinfo, control
characters, non-default ports (unless configured) and every host that is or
resolves to a loopback, link-local, private, multicast, reserved or unspecified
address. It runs twice: when an endpoint is registered and again on every
connection the dispatcher opens (:class:`GuardedBackend` resolves, checks and
connects to the checked address itself), so a name re-pointed at a private
address after registration (DNS rebinding) is still refused.

Local development needs loopback receivers: ``AGENTDRAFT_WEBHOOK_ALLOW_HOSTS``
(comma-separated host names, addresses or networks such as ``127.0.0.1``,
``::1``, ``10.0.0.0/8``) lets those through on any port; the tests set it.
``AGENTDRAFT_WEBHOOK_ALLOW_PORTS`` adds ports other than 80/443 for every host.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from ..errors import ValidationError

ALLOW_HOSTS_ENV = "AGENTDRAFT_WEBHOOK_ALLOW_HOSTS"
ALLOW_PORTS_ENV = "AGENTDRAFT_WEBHOOK_ALLOW_PORTS"
_DEFAULT_PORTS = {"http": 80, "https": 443}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class UnsafeWebhookURL(ValidationError):
    """A webhook URL that points inside the deployment (or cannot be called safely)."""

    def __init__(self, detail: str) -> None:
        super().__init__("url", detail, error="unsafe_webhook_url")


def _split(value: str) -> list[str]:
    return [p.strip() for p in value.split(",") if p.strip()]


@dataclass(frozen=True)
class UrlPolicy:
    """Hosts and networks let through despite being internal, and extra allowed ports."""

    allow_hosts: frozenset[str] = frozenset()
    allow_networks: tuple[IPNetwork, ...] = ()
    allow_ports: frozenset[int] = field(default_factory=frozenset)

    @classmethod
    def of(cls, hosts: Iterable[str] = (), ports: Iterable[int] = ()) -> UrlPolicy:
        names: set[str] = set()
        nets: list[IPNetwork] = []
        for h in hosts:
            try:
                nets.append(ipaddress.ip_network(h.strip("[]"), strict=False))
            except ValueError:
                names.add(h.lower().rstrip("."))
        return cls(frozenset(names), tuple(nets), frozenset(int(p) for p in ports))

    @classmethod
    def from_env(cls) -> UrlPolicy:
        """The policy configured in the environment (read on each use, so tests can opt in)."""
        try:
            ports = [int(p) for p in _split(os.environ.get(ALLOW_PORTS_ENV, ""))]
        except ValueError as exc:
            raise ValidationError(ALLOW_PORTS_ENV, "must be comma-separated ports") from exc
        return cls.of(_split(os.environ.get(ALLOW_HOSTS_ENV, "")), ports)

    def _allowed_ip(self, ip: IPAddress) -> bool:
        return any(ip in net for net in self.allow_networks)

    def check_address(self, host: str, ip: IPAddress) -> None:
        """Refuse an internal address unless its host or network is allow-listed."""
        if host.lower().rstrip(".") in self.allow_hosts or self._allowed_ip(ip):
            return
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if not ip.is_global or ip.is_multicast or ip.is_unspecified or ip.is_reserved:
            raise UnsafeWebhookURL(
                f"{host} is an internal address ({ip}); webhooks go to public hosts only "
                f"(set {ALLOW_HOSTS_ENV} to allow a local receiver)"
            )

    def host_allowed(self, host: str) -> bool:
        if host.lower().rstrip(".") in self.allow_hosts:
            return True
        try:
            return self._allowed_ip(ipaddress.ip_address(host))
        except ValueError:
            return False

    def resolve(self, host: str, port: int) -> list[str]:
        """Every address ``host`` resolves to, each checked; refused if any is internal.

        An unresolvable name yields ``[]``: it cannot be called, and is checked
        again when the dispatcher connects.
        """
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            return []
        out: list[str] = []
        for info in infos:
            addr = str(info[4][0]).split("%", 1)[0]
            self.check_address(host, ipaddress.ip_address(addr))
            out.append(addr)
        return out


def check_webhook_url(url: object, policy: UrlPolicy | None = None) -> str:
    """``url`` if it is an http(s) URL the dispatcher may call, else :class:`ValidationError`."""
    if not isinstance(url, str) or len(url) > 2000:
        raise ValidationError("url", "must be an http(s) URL")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise UnsafeWebhookURL("must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValidationError("url", f"must be an http(s) URL, got {url!r}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("url", f"must be an http(s) URL, got {url!r}")
    if parts.username is not None or "@" in parts.netloc:
        raise UnsafeWebhookURL("must not contain userinfo (user:password@)")
    policy = policy or UrlPolicy.from_env()
    host = parts.hostname
    port = port or _DEFAULT_PORTS[parts.scheme]
    allowed = policy.host_allowed(host)
    if not allowed and port not in (_DEFAULT_PORTS[parts.scheme], *policy.allow_ports):
        raise UnsafeWebhookURL(
            f"port {port} is not allowed (set {ALLOW_PORTS_ENV} to allow other ports)"
        )
    # Numeric forms (2130706433, 0x7f.1, 0177.0.0.1) are what the resolver makes of them.
    policy.resolve(host, port)
    return url


class GuardedBackend(httpcore.SyncBackend):
    """Connects only to addresses the policy allows, checked when the socket opens."""

    def __init__(self, policy: UrlPolicy | None = None) -> None:
        self._policy = policy

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        policy = self._policy or UrlPolicy.from_env()
        try:
            addresses = policy.resolve(host, port)
        except UnsafeWebhookURL as exc:
            raise httpcore.ConnectError(exc.detail) from exc
        if not addresses:
            raise httpcore.ConnectError(f"cannot resolve {host}")
        # Connect to an address just checked, never to a second lookup of the name.
        last: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in dict.fromkeys(addresses):
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last


def guarded_client(timeout: float, policy: UrlPolicy | None = None) -> httpx.Client:
    """An HTTP client for deliveries: guarded connections, no redirects, no env proxies."""
    transport = httpx.HTTPTransport()
    # httpx takes no network backend argument; its pool is rebuilt with one (TLS still
    # verifies the URL's host name: httpcore passes it as the server name).
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(), network_backend=GuardedBackend(policy)
    )
    return httpx.Client(
        transport=transport, timeout=timeout, follow_redirects=False, trust_env=False
    )
