"""DKIM signing of outbound mail, and the key an operator publishes in DNS.

:func:`sign` prepends a ``DKIM-Signature`` made by dkimpy with relaxed/relaxed
canonicalisation (survives the header re-folding and trailing-whitespace edits
relays make). The algorithm follows the key: an RSA key signs ``rsa-sha256``, an
Ed25519 key ``ed25519-sha256`` (RFC 8463; needs PyNaCl, in the ``mail`` extra).
Keys are PEM; dkimpy itself only reads PKCS#1 RSA PEM and raw Ed25519 seeds, so
PKCS#8 keys (what ``openssl genpkey`` writes) are converted here first.

:func:`generate_keypair` makes a key and :func:`dns_txt_value` the value of the
``<selector>._domainkey.<domain>`` TXT record (``coordinator mail dkim-keygen``).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ..errors import ValidationError

Algorithm = Literal["rsa", "ed25519"]

#: Headers signed by default: the ones a receiver shows or threads by. From is
#: listed twice so a second From added in transit breaks the signature
#: (over-signing, RFC 6376 section 8.15).
DEFAULT_SIGNED_HEADERS: tuple[str, ...] = (
    "From", "From", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To",
    "References", "Reply-To", "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
)  # fmt: skip


@dataclass(frozen=True)
class DkimKeyPair:
    """A fresh signing key: ``private_key_pem`` is the secret (show once, store encrypted)."""

    algorithm: Algorithm
    private_key_pem: bytes
    public_key_b64: str

    @property
    def dns_txt_value(self) -> str:
        return dns_txt_value(self.public_key_b64, algorithm=self.algorithm)


def generate_keypair(algorithm: Algorithm = "rsa", *, bits: int = 2048) -> DkimKeyPair:
    """A new DKIM key pair (RSA of ``bits`` bits, or Ed25519)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    if algorithm == "rsa":
        if bits < 1024:
            raise ValidationError("bits", "RSA DKIM keys must be at least 1024 bits (2048 advised)")
        rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        pem = rsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        public = rsa_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    elif algorithm == "ed25519":
        ed_key = ed25519.Ed25519PrivateKey.generate()
        pem = ed_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        public = ed_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
    else:
        raise ValidationError("algorithm", f"{algorithm!r} is not 'rsa' or 'ed25519'")
    return DkimKeyPair(algorithm, pem, base64.b64encode(public).decode("ascii"))


def dns_txt_value(public_key_b64: str, *, algorithm: Algorithm = "rsa") -> str:
    """The TXT record value for ``<selector>._domainkey.<domain>``."""
    return f"v=DKIM1; k={algorithm}; p={public_key_b64}"


def _signing_key(private_key_pem: bytes) -> tuple[bytes, bytes]:
    """(dkimpy-ready key bytes, signature algorithm) from any PEM private key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    try:
        key = serialization.load_pem_private_key(private_key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ValidationError("private_key_pem", "not an unencrypted PEM private key") from exc
    if isinstance(key, rsa.RSAPrivateKey):
        pkcs1 = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        return pkcs1, b"rsa-sha256"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        seed = key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return base64.b64encode(seed), b"ed25519-sha256"
    raise ValidationError("private_key_pem", "DKIM keys are RSA or Ed25519")


def sign(
    raw: bytes,
    *,
    domain: str,
    selector: str,
    private_key_pem: bytes,
    headers: Sequence[str] = DEFAULT_SIGNED_HEADERS,
) -> bytes:
    """``raw`` with a ``DKIM-Signature`` header prepended (d=``domain``, s=``selector``).

    Headers in ``headers`` that the message lacks are still listed in ``h=``,
    so adding one later breaks the signature. The line ending of the added header
    follows the message's (CRLF for SMTP-ready bytes).
    """
    import dkim

    if not domain or not selector:
        raise ValidationError("domain" if not domain else "selector", "must not be empty")
    key, algorithm = _signing_key(private_key_pem)
    linesep = b"\r\n" if b"\r\n" in raw[:4096] or not raw else b"\n"
    try:
        signature = dkim.sign(
            raw,
            selector.encode("ascii"),
            domain.encode("ascii"),
            key,
            canonicalize=(b"relaxed", b"relaxed"),
            signature_algorithm=algorithm,
            include_headers=[h.encode("ascii") for h in headers],
            linesep=linesep,
        )
    except dkim.DKIMException as exc:
        raise ValidationError("raw", f"cannot sign this message: {exc}") from exc
    return bytes(signature) + raw
