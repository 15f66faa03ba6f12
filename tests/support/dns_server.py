"""A real DNS server on loopback for the mail tests: SPF, DKIM and DMARC records live here.

``LoopbackDNS`` runs dnslib's ``DNSServer`` over UDP and TCP on one free port of
127.0.0.1, answering from an in-memory zone the test fills (``add_txt``,
``add_mx``, ``add_a``). The code under test reaches it through
:class:`coordinator.mail.verdicts.Resolver`, exactly as it would reach a real
recursive resolver, so dkimpy, pyspf and the DMARC lookup all go over the wire.
Names not in the zone answer NXDOMAIN; a name with records of another type
answers NOERROR with no data, as an authoritative server does.

``SilentDNS`` takes queries and never answers, for the outbound deadlines' name lookups.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from dnslib import AAAA, MX, QTYPE, RCODE, RR, TXT, A, DNSLabel, DNSRecord
from dnslib.server import BaseResolver, DNSLogger, DNSServer

from coordinator.mail.verdicts import Resolver

#: TXT character-strings are at most 255 bytes; longer values (DKIM keys) are split.
_TXT_CHUNK = 255


class _Quiet(DNSLogger):
    def __init__(self) -> None:
        super().__init__(log="-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)


class _Zone(BaseResolver):  # type: ignore[misc]
    def __init__(self) -> None:
        self.records: dict[str, list[RR]] = defaultdict(list)
        self.lock = threading.Lock()
        self.queries: list[tuple[str, str]] = []

    def resolve(self, request: DNSRecord, handler: Any) -> DNSRecord:
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        qtype = QTYPE[request.q.qtype]
        with self.lock:
            self.queries.append((name, qtype))
            rrs = list(self.records.get(name, []))
        if not rrs:
            reply.header.rcode = RCODE.NXDOMAIN
        for rr in rrs:
            if QTYPE[rr.rtype] == qtype or qtype == "ANY":
                reply.add_answer(rr)
        return reply


class LoopbackDNS:
    """An authoritative-style DNS server on 127.0.0.1 (UDP and TCP, same port)."""

    def __init__(self, ttl: int = 60) -> None:
        self.ttl = ttl
        self._zone = _Zone()
        self._servers: list[DNSServer] = []
        self.port = 0

    def start(self) -> LoopbackDNS:
        for _ in range(20):
            udp = DNSServer(self._zone, address="127.0.0.1", port=0, logger=_Quiet())
            port = int(udp.server.server_address[1])
            try:
                tcp = DNSServer(
                    self._zone, address="127.0.0.1", port=port, tcp=True, logger=_Quiet()
                )
            except OSError:  # the TCP side of that port is taken: pick another
                udp.server.server_close()
                continue
            self._servers = [udp, tcp]
            self.port = port
            for server in self._servers:
                server.start_thread()
            return self
        raise RuntimeError("no free UDP+TCP port pair on 127.0.0.1")

    def stop(self) -> None:
        for server in self._servers:
            server.stop()
            server.server.server_close()
        self._servers = []

    def __enter__(self) -> LoopbackDNS:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def resolver(self, timeout: float = 2.0) -> Resolver:
        """Where the code under test should send its DNS queries."""
        return Resolver(host="127.0.0.1", port=self.port, timeout=timeout)

    @property
    def queries(self) -> list[tuple[str, str]]:
        """Every (name, type) asked so far, for tests that assert a lookup happened."""
        with self._zone.lock:
            return list(self._zone.queries)

    def _add(self, name: str, rtype: str, rdata: Any) -> None:
        label = DNSLabel(name)
        rr = RR(label, getattr(QTYPE, rtype), rdata=rdata, ttl=self.ttl)
        with self._zone.lock:
            self._zone.records[name.rstrip(".").lower()].append(rr)

    def add_txt(self, name: str, value: str) -> None:
        data = value.encode()
        chunks = [data[i : i + _TXT_CHUNK] for i in range(0, len(data), _TXT_CHUNK)] or [b""]
        self._add(name, "TXT", TXT(chunks))

    def add_a(self, name: str, address: str) -> None:
        self._add(
            name, "AAAA" if ":" in address else "A", AAAA(address) if ":" in address else A(address)
        )

    def add_mx(self, name: str, exchange: str, preference: int = 10) -> None:
        self._add(name, "MX", MX(exchange, preference))

    def remove(self, name: str) -> None:
        with self._zone.lock:
            self._zone.records.pop(name.rstrip(".").lower(), None)


@contextlib.contextmanager
def loopback_dns() -> Iterator[LoopbackDNS]:
    """A started :class:`LoopbackDNS`, stopped on exit."""
    server = LoopbackDNS().start()
    try:
        yield server
    finally:
        server.stop()


class SilentDNS:
    """A nameserver on 127.0.0.1 that takes every query and never answers, as one behind
    a dropped route does. :meth:`getaddrinfo` stands in for the system's resolver
    pointed at it: a real query over UDP that waits out ``lifetime`` seconds, then fails
    as glibc does (``EAI_AGAIN``)."""

    def __init__(self, lifetime: float = 20.0) -> None:
        self.lifetime = lifetime
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        #: Set once a query has arrived (the lookup really went to the nameserver).
        self.asked = threading.Event()
        threading.Thread(target=self._swallow, daemon=True).start()

    def _swallow(self) -> None:
        while True:
            try:
                self.sock.recvfrom(4096)
            except OSError:
                return
            self.asked.set()

    def getaddrinfo(self, host: Any, port: Any, *args: Any, **kw: Any) -> list[Any]:
        import dns.exception
        import dns.resolver

        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = ["127.0.0.1"]
        resolver.port = self.port
        resolver.lifetime = self.lifetime
        name = host.decode() if isinstance(host, bytes) else str(host)
        try:
            answer = resolver.resolve(name, "A")
        except dns.exception.DNSException:
            raise socket.gaierror(
                socket.EAI_AGAIN, "Temporary failure in name resolution"
            ) from None
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", (r.address, int(port or 0))) for r in answer
        ]

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> SilentDNS:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
