"""Fixtures for the mail tests: a real DNS server on loopback holding the test domains."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from coordinator.mail.dkim_sign import DkimKeyPair, generate_keypair
from tests.support.dns_server import LoopbackDNS, loopback_dns


@pytest.fixture
def dns_server() -> Iterator[LoopbackDNS]:
    with loopback_dns() as server:
        yield server


@dataclass(frozen=True)
class SendingDomain:
    """A domain that publishes SPF (-all), a DKIM key and DMARC p=reject."""

    domain: str
    selector: str
    key: DkimKeyPair
    allowed_ip: str


@pytest.fixture(scope="session")
def rsa_key() -> DkimKeyPair:
    return generate_keypair("rsa", bits=2048)


@pytest.fixture
def sending_domain(dns_server: LoopbackDNS, rsa_key: DkimKeyPair) -> SendingDomain:
    domain = SendingDomain("agents.test", "mail2026", rsa_key, "192.0.2.10")
    dns_server.add_txt(domain.domain, f"v=spf1 ip4:{domain.allowed_ip} -all")
    dns_server.add_txt(f"{domain.selector}._domainkey.{domain.domain}", rsa_key.dns_txt_value)
    dns_server.add_txt(f"_dmarc.{domain.domain}", "v=DMARC1; p=reject; adkim=r; aspf=r")
    dns_server.add_mx(domain.domain, f"mx.{domain.domain}")
    dns_server.add_a(f"mx.{domain.domain}", domain.allowed_ip)
    return domain
