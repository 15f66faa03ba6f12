"""SPF, DKIM and DMARC verdicts, looked up over the wire in a loopback DNS server."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP

import dns.resolver
import pytest

from coordinator.errors import ValidationError
from coordinator.mail.dkim_sign import generate_keypair, sign
from coordinator.mail.verdicts import (
    Resolver,
    Verdict,
    Verdicts,
    check_dns,
    from_authentication_results,
)
from tests.mail.conftest import SendingDomain
from tests.support.dns_server import LoopbackDNS


def _message(from_addr: str, body: str = "Tuesday 3pm works for me.\n") -> bytes:
    msg = EmailMessage()
    msg["From"] = from_addr
    msg["To"] = "scheduler@inbound.test"
    msg["Subject"] = "Re: two times for our call"
    msg["Date"] = "Fri, 04 Dec 2026 18:00:00 +0000"
    msg["Message-ID"] = "<reply-1@agents.test>"
    msg.set_content(body)
    return msg.as_bytes(policy=SMTP)


def _signed(domain: SendingDomain, from_addr: str | None = None) -> bytes:
    return sign(
        _message(from_addr or f"ann@{domain.domain}"),
        domain=domain.domain,
        selector=domain.selector,
        private_key_pem=domain.key.private_key_pem,
    )


def test_the_loopback_dns_server_answers_the_records_it_holds(dns_server: LoopbackDNS) -> None:
    dns_server.add_a("host.example.test", "192.0.2.7")
    dns_server.add_mx("example.test", "host.example.test", 5)
    res = dns.resolver.Resolver(configure=False)
    res.nameservers, res.port = ["127.0.0.1"], dns_server.port
    assert [r.address for r in res.resolve("host.example.test", "A")] == ["192.0.2.7"]
    mx = res.resolve("example.test", "MX", tcp=True)
    assert [(r.preference, str(r.exchange)) for r in mx] == [(5, "host.example.test.")]
    with pytest.raises(dns.resolver.NXDOMAIN):
        res.resolve("missing.example.test", "A")


def test_a_message_signed_by_dkim_sign_verifies_and_aligns(
    sending_domain: SendingDomain, dns_server: LoopbackDNS
) -> None:
    verdicts = check_dns(
        _signed(sending_domain),
        client_ip=sending_domain.allowed_ip,
        helo=f"mx.{sending_domain.domain}",
        mail_from=f"bounces@{sending_domain.domain}",
        resolver=dns_server.resolver(),
    )
    assert verdicts.spf.result == "pass"
    assert verdicts.dkim == Verdict("pass", "d=agents.test", "agents.test")
    assert verdicts.dmarc.result == "pass" and verdicts.dmarc.policy == "reject"
    assert (f"{sending_domain.selector}._domainkey.agents.test", "TXT") in dns_server.queries


def test_dkim_alone_aligns_dmarc_when_spf_fails(
    sending_domain: SendingDomain, dns_server: LoopbackDNS
) -> None:
    # Forwarded mail: the relay's IP is not in SPF, the signature survives.
    verdicts = check_dns(
        _signed(sending_domain),
        client_ip="198.51.100.9",
        helo="forwarder.example",
        mail_from=f"bounces@{sending_domain.domain}",
        resolver=dns_server.resolver(),
    )
    assert (verdicts.spf.result, verdicts.dkim.result, verdicts.dmarc.result) == (
        "fail",
        "pass",
        "pass",
    )


def test_an_ed25519_signature_verifies(
    sending_domain: SendingDomain, dns_server: LoopbackDNS
) -> None:
    key = generate_keypair("ed25519")
    dns_server.add_txt(f"ed._domainkey.{sending_domain.domain}", key.dns_txt_value)
    raw = sign(
        _message("ann@agents.test"),
        domain="agents.test",
        selector="ed",
        private_key_pem=key.private_key_pem,
    )
    assert b"a=ed25519-sha256" in raw.split(b"\r\n\r\n")[0].replace(b"\r\n ", b"").replace(
        b" ", b""
    )
    verdicts = check_dns(
        raw, client_ip="198.51.100.9", helo="h", mail_from="", resolver=dns_server.resolver()
    )
    assert verdicts.dkim.result == "pass"


def test_a_tampered_body_fails_dkim(sending_domain: SendingDomain, dns_server: LoopbackDNS) -> None:
    raw = _signed(sending_domain).replace(b"Tuesday 3pm", b"Friday 9am")
    verdicts = check_dns(
        raw,
        client_ip=sending_domain.allowed_ip,
        helo="mx.agents.test",
        mail_from="bounces@agents.test",
        resolver=dns_server.resolver(),
    )
    assert verdicts.dkim.result == "fail"
    assert verdicts.dkim.detail == "body hash mismatch"
    assert verdicts.dmarc.result == "pass"  # SPF still passes and aligns


def test_a_forged_from_fails_spf_and_dmarc(
    sending_domain: SendingDomain, dns_server: LoopbackDNS
) -> None:
    # Unsigned, From the protected domain, sent from an address outside its SPF.
    verdicts = check_dns(
        _message("ceo@agents.test"),
        client_ip="203.0.113.66",
        helo="spammer.example",
        mail_from="ceo@agents.test",
        resolver=dns_server.resolver(),
    )
    assert verdicts.spf.result == "fail" and verdicts.spf.domain == "agents.test"
    assert verdicts.dkim.result == "none"
    assert verdicts.dmarc.result == "fail" and verdicts.dmarc.policy == "reject"


def test_a_signature_by_another_domain_does_not_align(
    sending_domain: SendingDomain, dns_server: LoopbackDNS
) -> None:
    # The attacker signs with their own domain's key and puts ours in From.
    other = generate_keypair("rsa", bits=1024)
    dns_server.add_txt("k._domainkey.attacker.test", other.dns_txt_value)
    raw = sign(
        _message("ceo@agents.test"),
        domain="attacker.test",
        selector="k",
        private_key_pem=other.private_key_pem,
    )
    verdicts = check_dns(
        raw,
        client_ip="203.0.113.66",
        helo="a",
        mail_from="x@attacker.test",
        resolver=dns_server.resolver(),
    )
    assert verdicts.dkim == Verdict("pass", "d=attacker.test", "attacker.test")
    assert verdicts.spf.result == "none"  # attacker.test publishes no SPF
    assert verdicts.dmarc.result == "fail"


def test_the_organisational_domains_dmarc_record_covers_a_subdomain(
    sending_domain: SendingDomain, dns_server: LoopbackDNS
) -> None:
    verdicts = check_dns(
        _message("alerts@mail.agents.test"),
        client_ip="203.0.113.66",
        helo="spammer.example",
        mail_from="alerts@mail.agents.test",
        resolver=dns_server.resolver(),
    )
    assert verdicts.dmarc.result == "fail"
    assert verdicts.dmarc.domain == "mail.agents.test" and verdicts.dmarc.policy == "reject"


def test_a_domain_without_records_gets_none(dns_server: LoopbackDNS) -> None:
    verdicts = check_dns(
        _message("someone@plain.test"),
        client_ip="203.0.113.5",
        helo="h",
        mail_from="someone@plain.test",
        resolver=dns_server.resolver(),
    )
    assert (verdicts.spf.result, verdicts.dkim.result, verdicts.dmarc.result) == (
        "none",
        "none",
        "none",
    )


def test_an_unreachable_resolver_gives_temperror_not_an_exception(
    sending_domain: SendingDomain, dns_server: LoopbackDNS
) -> None:
    port = dns_server.port
    raw = _signed(sending_domain)
    dns_server.stop()
    dead = Resolver(host="127.0.0.1", port=port, timeout=0.3)
    verdicts = check_dns(
        raw, client_ip="192.0.2.10", helo="h", mail_from="a@agents.test", resolver=dead
    )
    assert (verdicts.spf.result, verdicts.dkim.result, verdicts.dmarc.result) == (
        "temperror",
        "temperror",
        "temperror",
    )


def test_garbage_gets_verdicts_not_exceptions(dns_server: LoopbackDNS) -> None:
    verdicts = check_dns(
        b"\x00\xff not mail",
        client_ip="not-an-ip",
        helo="",
        mail_from="",
        resolver=dns_server.resolver(),
    )
    assert verdicts.spf.result == "permerror"
    assert verdicts.dkim.result == "permerror"  # dkimpy cannot read it as a message
    assert verdicts.dmarc.result == "permerror" and verdicts.dmarc.detail == "no From domain"


def test_verdicts_round_trip_through_a_dict() -> None:
    v = Verdicts(spf=Verdict("pass", "x", "a.test"), dmarc=Verdict("fail", "y", "b.test", "reject"))
    assert Verdicts.from_dict(v.to_dict()) == v
    with pytest.raises(ValidationError, match="result"):
        Verdict("maybe")  # type: ignore[arg-type]


_AR_TRUSTED = (
    "Authentication-Results: mx.inbound.test;\r\n"
    " spf=pass smtp.mailfrom=ann@agents.test;\r\n"
    " dkim=fail header.d=other.test;\r\n"
    " dkim=pass header.d=agents.test header.s=mail2026;\r\n"
    " dmarc=pass policy.dmarc=reject header.from=agents.test\r\n"
)
_AR_FORGED = (
    "Authentication-Results: mx.inbound.test; spf=pass smtp.mailfrom=x@evil.test;"
    " dkim=pass header.d=evil.test; dmarc=pass header.from=evil.test\r\n"
)
_AR_OTHER = (
    "Authentication-Results: relay.elsewhere.test; spf=pass smtp.mailfrom=ceo@agents.test;"
    " dkim=pass header.d=agents.test; dmarc=pass header.from=agents.test\r\n"
)


def test_authentication_results_from_the_trusted_mta_are_used() -> None:
    # The MTA prepends its header above whatever the message carried.
    raw = (_AR_TRUSTED + _AR_FORGED).encode() + _message("ann@agents.test")
    v = from_authentication_results(raw, authserv_id="MX.inbound.test")
    assert v.spf == Verdict("pass", "from mx.inbound.test", "agents.test")
    assert v.dkim == Verdict("pass", "from mx.inbound.test", "agents.test")
    assert v.dmarc == Verdict("pass", "from mx.inbound.test", "agents.test", "reject")


def test_authentication_results_from_another_authserv_id_are_ignored() -> None:
    raw = _AR_OTHER.encode() + _message("ceo@agents.test")
    v = from_authentication_results(raw, authserv_id="mx.inbound.test")
    assert (v.spf.result, v.dkim.result, v.dmarc.result) == ("none", "none", "none")
    assert v.spf.detail == "no Authentication-Results from mx.inbound.test"
    # ... and the same header is honoured when that relay is the trusted one.
    assert (
        from_authentication_results(raw, authserv_id="relay.elsewhere.test").dmarc.result == "pass"
    )


def test_an_unparsable_trusted_header_is_skipped() -> None:
    raw = (
        b"Authentication-Results: mx.inbound.test; spf=(((\r\n"
        + _AR_FORGED.encode()
        + _message("x@evil.test")
    )
    v = from_authentication_results(raw, authserv_id="mx.inbound.test")
    assert v.spf.domain == "evil.test"  # the next header from that id
    with pytest.raises(ValidationError, match="authserv_id"):
        from_authentication_results(raw, authserv_id=" ")


def test_concurrent_checks_each_use_their_own_resolver(
    sending_domain: SendingDomain, dns_server: LoopbackDNS
) -> None:
    # pyspf looks DNS up through one module-level function; our router picks the
    # resolver per call (a context variable), so threads checking at once never
    # send one check's lookups to another's server.
    import threading

    from tests.support.servers import free_port

    live = dns_server.resolver()
    dead = Resolver(host="127.0.0.1", port=free_port(), timeout=0.2)
    start = threading.Barrier(2)
    results: dict[str, list[str]] = {"live": [], "dead": []}

    def check(name: str, resolver: Resolver, rounds: int) -> None:
        start.wait()
        for _ in range(rounds):
            v = check_dns(
                _message("ann@agents.test"),
                client_ip=sending_domain.allowed_ip,
                helo="mx.agents.test",
                mail_from="bounces@agents.test",
                resolver=resolver,
            )
            results[name].append(v.spf.result)

    threads = [
        threading.Thread(target=check, args=("live", live, 20)),
        threading.Thread(target=check, args=("dead", dead, 3)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {"live": ["pass"] * 20, "dead": ["temperror"] * 3}
