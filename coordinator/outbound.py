"""Which addresses the coordinator's own HTTP requests may reach: the SSRF guard that
webhooks and calendar connectors share.

Both call a URL an owner chose (a webhook receiver, a CalDAV server or an ICS feed),
from inside the deployment. Without a guard that is a way to reach Redis on
``localhost:6379``, a cloud metadata service on ``169.254.169.254`` or anything on the
private network, and a connector would even hand back what it read there as busy time
or in an error. :class:`AddressPolicy` refuses every host that is, or resolves to, a
loopback, link-local, private, multicast, reserved or unspecified address, unless an
allow-list names it. A caller checks twice: when the URL is accepted, and again on every
connection it opens (:class:`GuardedBackend` for httpx, the connectors' resolver for
niquests), connecting to the address it just checked, so a name re-pointed at a private
address afterwards (DNS rebinding), a redirect or a server-supplied link to an internal
host is still refused.

Each caller names its own settings (``AGENTDRAFT_WEBHOOK_ALLOW_HOSTS``,
``AGENTDRAFT_CONNECTOR_ALLOW_HOSTS``, ...), read on each use so tests can opt in.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, urlsplit

import httpcore
import httpx

from .deadlines import DeadlinePassed, SocketSet, bounded
from .errors import ValidationError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
DEFAULT_PORTS = {"http": 80, "https": 443}


class UnsafeURL(ValidationError):
    """A URL that points inside the deployment (or cannot be called safely)."""

    def __init__(self, detail: str, *, error: str = "unsafe_url") -> None:
        super().__init__("url", detail, error=error)


def split_setting(value: str) -> list[str]:
    """The items of a comma-separated setting, stripped, empty ones left out."""
    return [p.strip() for p in value.split(",") if p.strip()]


@dataclass(frozen=True)
class AddressPolicy:
    """Hosts and networks let through despite being internal, and extra allowed ports.

    ``hosts_env`` is the setting a refusal tells the reader to use, and ``error`` the
    machine code refusals carry (``unsafe_webhook_url``, ``unsafe_connector_url``).
    """

    allow_hosts: frozenset[str] = frozenset()
    allow_networks: tuple[IPNetwork, ...] = ()
    allow_ports: frozenset[int] = field(default_factory=frozenset)
    hosts_env: str = ""
    ports_env: str = ""
    error: str = "unsafe_url"
    #: What is called there, for refusals ("webhooks", "calendar connectors").
    what: str = "outbound requests"

    @classmethod
    def of(
        cls, hosts: Iterable[str] = (), ports: Iterable[int] = (), **labels: str
    ) -> AddressPolicy:
        names: set[str] = set()
        nets: list[IPNetwork] = []
        for h in hosts:
            try:
                nets.append(ipaddress.ip_network(h.strip("[]"), strict=False))
            except ValueError:
                names.add(h.lower().rstrip("."))
        return cls(frozenset(names), tuple(nets), frozenset(int(p) for p in ports), **labels)

    @classmethod
    def from_env(cls, hosts_env: str, ports_env: str | None = None, **labels: str) -> AddressPolicy:
        """The policy the environment configures now (``ports_env`` None: no setting)."""
        try:
            raw_ports = os.environ.get(ports_env, "") if ports_env else ""
            ports = [int(p) for p in split_setting(raw_ports)]
        except ValueError as exc:
            raise ValidationError(str(ports_env), "must be comma-separated ports") from exc
        hosts = split_setting(os.environ.get(hosts_env, ""))
        return cls.of(hosts, ports, hosts_env=hosts_env, ports_env=ports_env or "", **labels)

    def refuse(self, detail: str) -> UnsafeURL:
        return UnsafeURL(detail, error=self.error)

    def _allowed_ip(self, ip: IPAddress) -> bool:
        return any(ip in net for net in self.allow_networks)

    def check_address(self, host: str, ip: IPAddress) -> None:
        """Refuse an internal address unless its host or network is allow-listed."""
        if host.lower().rstrip(".") in self.allow_hosts or self._allowed_ip(ip):
            return
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if not ip.is_global or ip.is_multicast or ip.is_unspecified or ip.is_reserved:
            raise self.refuse(
                f"{host} is an internal address ({ip}); {self.what} reach public hosts only "
                f"(set {self.hosts_env} to allow a local one)"
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
        again when a connection is opened.
        """
        return [str(info[4][0]).split("%", 1)[0] for info in self.checked_infos(host, port)]

    def checked_infos(self, host: str, port: int | str | None) -> list[Any]:
        """``socket.getaddrinfo``'s answer for ``host`` (TCP), every address checked."""
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            return []
        self.check_infos(host, infos)
        return infos

    def check_infos(self, host: str, infos: Iterable[Any]) -> None:
        """Refuse if any address of a ``getaddrinfo`` answer for ``host`` is internal."""
        for info in infos:
            addr = str(info[4][0]).split("%", 1)[0]
            self.check_address(host, ipaddress.ip_address(addr))

    def check_url(self, url: object, *, any_port: bool = False) -> SplitResult:
        """``url`` split, if it is an http(s) URL this policy lets a request reach.

        Refused: a non-string or over-long URL, spaces or control characters, another
        scheme, no host, userinfo (``user:password@``), an internal host, and, unless
        ``any_port``, a port other than the scheme's or the allowed ones.
        """
        if not isinstance(url, str) or len(url) > 2000:
            raise ValidationError("url", "must be an http(s) URL")
        if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
            raise self.refuse("must not contain spaces or control characters")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise ValidationError("url", f"must be an http(s) URL, got {url!r}") from exc
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValidationError("url", f"must be an http(s) URL, got {url!r}")
        if parts.username is not None or "@" in parts.netloc:
            raise self.refuse("must not contain userinfo (user:password@)")
        host = parts.hostname
        port = port or DEFAULT_PORTS[parts.scheme]
        ports = (DEFAULT_PORTS[parts.scheme], *self.allow_ports)
        if not (any_port or self.host_allowed(host)) and port not in ports:
            how = f" (set {self.ports_env} to allow other ports)" if self.ports_env else ""
            raise self.refuse(f"port {port} is not allowed{how}")
        # Numeric forms (2130706433, 0x7f.1, 0177.0.0.1) are what the resolver makes of them.
        self.resolve(host, port)
        return parts


def unsafe_cause(exc: BaseException) -> UnsafeURL | None:
    """The :class:`UnsafeURL` refusal behind a client library's exception, if any."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, UnsafeURL):
            return cur
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return None


class GuardedBackend(httpcore.SyncBackend):
    """Connects only to addresses the policy allows, checked when the socket opens.

    Each socket it opens goes into ``sockets`` when given, so a
    :class:`~coordinator.deadlines.Deadline` can cut a whole exchange short."""

    def __init__(
        self, policy: Callable[[], AddressPolicy], sockets: SocketSet | None = None
    ) -> None:
        self._policy = policy
        self._sockets = sockets

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = bounded(
                self._sockets,
                lambda: self._policy().resolve(host, port),
                f"the name lookup of {host}",
            )
        except UnsafeURL as exc:
            raise httpcore.ConnectError(exc.detail) from exc
        except DeadlinePassed as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        if not addresses:
            raise httpcore.ConnectError(f"cannot resolve {host}")
        # Connect to an address just checked, never to a second lookup of the name.
        last: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in dict.fromkeys(addresses):
            try:
                stream = super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
                continue
            if self._sockets is not None:
                self._sockets.add(stream.get_extra_info("socket"))
            return stream
        assert last is not None
        raise last


def read_at_most(chunks: Iterable[bytes], limit: int) -> bytes | None:
    """A streamed response's body from its chunks (httpx's ``iter_bytes()``, niquests'
    ``iter_content()``), or None once it passes ``limit`` bytes (the rest is never
    read): an answer from a host the caller does not control may be endless."""
    body = bytearray()
    for chunk in chunks:
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def guarded_client(
    policy: Callable[[], AddressPolicy],
    *,
    verify: bool = True,
    sockets: SocketSet | None = None,
    **kw: Any,
) -> httpx.Client:
    """An httpx client whose every connection (redirects included) ``policy`` allows; no
    proxies from the environment (a proxy would do the lookup the guard must do). Its
    sockets go into ``sockets`` for a :class:`~coordinator.deadlines.Deadline`."""
    transport = httpx.HTTPTransport()
    # httpx takes no network backend argument; its pool is rebuilt with one (TLS still
    # verifies the URL's host name: httpcore passes it as the server name).
    ssl_context = httpx.create_ssl_context(verify=verify)
    transport._pool = httpcore.ConnectionPool(
        ssl_context=ssl_context, network_backend=GuardedBackend(policy, sockets)
    )
    return httpx.Client(transport=transport, trust_env=False, **kw)


__all__ = [
    "AddressPolicy",
    "GuardedBackend",
    "UnsafeURL",
    "guarded_client",
    "read_at_most",
    "split_setting",
    "unsafe_cause",
]
