"""DKIM signing: keys an operator makes, signatures dkimpy verifies over loopback DNS."""

from __future__ import annotations

import argparse
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from coordinator.cli.mail_dkim import register_keygen, zone_line
from coordinator.errors import ValidationError
from coordinator.mail.dkim_sign import dns_txt_value, generate_keypair, sign
from coordinator.mail.verdicts import check_dkim
from tests.support.dns_server import LoopbackDNS

LF_MESSAGE = (
    b"From: bot@agents.test\nTo: ann@invitee.test\nSubject: hello\n\nTwo times:\n  Tuesday 3pm\n"
)


def _publish(dns_server: LoopbackDNS, selector: str, value: str) -> None:
    dns_server.add_txt(f"{selector}._domainkey.agents.test", value)


def test_a_pkcs8_rsa_key_from_openssl_genpkey_signs(dns_server: LoopbackDNS) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    import base64

    _publish(dns_server, "p8", dns_txt_value(base64.b64encode(spki).decode()))
    raw = sign(LF_MESSAGE, domain="agents.test", selector="p8", private_key_pem=pem)
    assert (
        raw.endswith(LF_MESSAGE) and b"\r\n" not in raw
    )  # the added header follows the message's line ending
    verdict, domains = check_dkim(raw, resolver=dns_server.resolver())
    assert (verdict.result, domains) == ("pass", ("agents.test",))


def test_relaxed_canonicalisation_survives_refolding_and_trailing_space(
    dns_server: LoopbackDNS,
) -> None:
    pair = generate_keypair("rsa", bits=1024)
    _publish(dns_server, "k", pair.dns_txt_value)
    raw = sign(LF_MESSAGE, domain="agents.test", selector="k", private_key_pem=pair.private_key_pem)
    relayed = raw.replace(b"Subject: hello", b"Subject:   hello  ").replace(
        b"Tuesday 3pm\n", b"Tuesday 3pm   \n"
    )
    assert check_dkim(relayed, resolver=dns_server.resolver())[0].result == "pass"


def test_a_header_added_after_signing_breaks_the_signature(dns_server: LoopbackDNS) -> None:
    pair = generate_keypair("ed25519")
    _publish(dns_server, "ed", pair.dns_txt_value)
    raw = sign(
        LF_MESSAGE, domain="agents.test", selector="ed", private_key_pem=pair.private_key_pem
    )
    assert check_dkim(raw, resolver=dns_server.resolver())[0].result == "pass"
    # Reply-To is signed though absent, so an injected one invalidates the signature.
    tampered = raw.replace(b"Subject: hello\n", b"Subject: hello\nReply-To: thief@evil.test\n")
    assert check_dkim(tampered, resolver=dns_server.resolver())[0].result == "fail"


def test_keys_and_records_have_the_published_shape() -> None:
    rsa_pair = generate_keypair("rsa", bits=2048)
    assert rsa_pair.private_key_pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert rsa_pair.dns_txt_value.startswith("v=DKIM1; k=rsa; p=MIIBIjAN")
    ed_pair = generate_keypair("ed25519")
    assert (
        ed_pair.dns_txt_value.startswith("v=DKIM1; k=ed25519; p=")
        and len(ed_pair.public_key_b64) == 44
    )


def test_unusable_keys_and_names_are_refused_by_field() -> None:
    ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    for pem in (b"not a key", ec_pem):
        with pytest.raises(ValidationError) as err:
            sign(LF_MESSAGE, domain="agents.test", selector="k", private_key_pem=pem)
        assert err.value.field == "private_key_pem"
    with pytest.raises(ValidationError, match="selector"):
        sign(LF_MESSAGE, domain="agents.test", selector="", private_key_pem=ec_pem)
    with pytest.raises(ValidationError, match="bits"):
        generate_keypair("rsa", bits=512)


def test_dkim_keygen_writes_the_key_privately_and_prints_only_the_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dns_server: LoopbackDNS
) -> None:
    parser = argparse.ArgumentParser()
    register_keygen(parser.add_subparsers(dest="cmd"))
    out = tmp_path / "dkim.pem"
    args = parser.parse_args(
        ["dkim-keygen", "--domain", "agents.test", "--selector", "s1", "--out", str(out)]
    )
    assert args.func(args) == 0
    printed = capsys.readouterr().out.strip()
    assert printed.startswith('s1._domainkey.agents.test. IN TXT "v=DKIM1; k=rsa; p=')
    assert "PRIVATE" not in printed
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    # The printed record, published, verifies what the written key signs.
    value = "".join(part for part in printed.split(" IN TXT ", 1)[1].split('"')[1::2])
    _publish(dns_server, "s1", value)
    raw = sign(LF_MESSAGE, domain="agents.test", selector="s1", private_key_pem=out.read_bytes())
    assert check_dkim(raw, resolver=dns_server.resolver())[0].result == "pass"
    # A second run never overwrites the key.
    assert args.func(args) == 1


def test_zone_line_splits_long_values_into_strings() -> None:
    line = zone_line("agents.test.", "s", "x" * 300)
    assert line == f's._domainkey.agents.test. IN TXT "{"x" * 255}" "{"x" * 45}"'
