"""The mail component's configuration: receiver, verdicts, smarthost, DKIM, from the environment.

``coordinator mail serve`` and ``coordinator serve`` (with ``AGENTDRAFT_MAIL_SERVE=1``)
read the same variables (README "Mailbox" lists them); secrets (the smarthost
password, the DKIM key) are read from files, never from the command line, and never
logged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..errors import ValidationError
from .addresses import mail_domain
from .parse import DEFAULT_MAX_ATTACHMENT_BYTES  # 1 MiB: the largest attachment stored

TlsMode = Literal["none", "starttls", "implicit"]
VerdictMode = Literal["dns", "trust-mta"]

#: Most attachment bytes stored for one message (per recipient agent): 4 MiB.
DEFAULT_MAX_STORED_BYTES = 4 * 1024 * 1024

#: (variable, meaning) for every setting; README "Mailbox" follows it.
VARIABLES: tuple[tuple[str, str], ...] = (
    ("AGENTDRAFT_MAIL_DOMAIN", "the agents' mail domain (address <agent_id>@<domain>)"),
    ("AGENTDRAFT_MAIL_SERVE", "1: coordinator serve also runs the receiver and dispatcher"),
    ("AGENTDRAFT_MAIL_LISTEN", "receiver address host:port (127.0.0.1:2525)"),
    ("AGENTDRAFT_MAIL_TLS_CERT_FILE", "receiver: offer STARTTLS with this PEM certificate chain"),
    ("AGENTDRAFT_MAIL_TLS_KEY_FILE", "receiver: the certificate's private key (PEM)"),
    ("AGENTDRAFT_MAIL_MAX_BYTES", "largest inbound message, bytes (10485760; then 552)"),
    ("AGENTDRAFT_MAIL_MAX_ATTACHMENT_BYTES", "attachments above this are listed only (1048576)"),
    (
        "AGENTDRAFT_MAIL_MAX_STORED_BYTES",
        "attachment bytes kept per message; later ones are listed only (4194304)",
    ),
    (
        "AGENTDRAFT_MAIL_VERDICTS",
        "dns (check SPF/DKIM/DMARC) or trust-mta (read Authentication-Results)",
    ),
    ("AGENTDRAFT_MAIL_AUTHSERV_ID", "trust-mta: the authserv-id of your MTA's header"),
    ("AGENTDRAFT_MAIL_DNS", "dns: resolver host[:port] (default: the system's)"),
    ("AGENTDRAFT_MAIL_SMARTHOST", "outbound relay host[:port] (no dispatcher without it)"),
    ("AGENTDRAFT_MAIL_SMARTHOST_TLS", "starttls (default), implicit or none"),
    ("AGENTDRAFT_MAIL_SMARTHOST_USER", "SMTP AUTH user"),
    ("AGENTDRAFT_MAIL_SMARTHOST_PASSWORD_FILE", "file holding the SMTP AUTH password"),
    ("AGENTDRAFT_MAIL_SMARTHOST_CA_FILE", "CA bundle to verify the smarthost (default: system)"),
    ("AGENTDRAFT_MAIL_DKIM_KEY_FILE", "PEM private key (RSA or Ed25519) signing outbound mail"),
    ("AGENTDRAFT_MAIL_DKIM_SELECTOR", "the DKIM selector its public key is published under"),
    ("AGENTDRAFT_MAIL_VISIBILITY_MS", "reclaim a message a dead dispatcher held after (180000)"),
    ("AGENTDRAFT_MAIL_BACKOFF_MS", "first retry delay; doubles per attempt (5000)"),
)


def _host_port(value: str, default_port: int, name: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep:
        return value, default_port
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValidationError(name, "must be host or host:port")
    return host.strip("[]"), int(port)


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    if not raw.isdigit():
        raise ValidationError(name, "must be a whole number")
    return int(raw)


@dataclass(frozen=True)
class Smarthost:
    """Where outbound mail goes: a relay that accepts the operator's mail."""

    host: str
    port: int = 587
    tls: TlsMode = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    timeout: float = 30.0


@dataclass(frozen=True)
class DkimKey:
    """The operator's signing key; its public half is published at
    ``<selector>._domainkey.<domain>``."""

    domain: str
    selector: str
    private_key_pem: bytes = field(repr=False)


@dataclass(frozen=True)
class MailConfig:
    domain: str
    listen_host: str = "127.0.0.1"
    listen_port: int = 2525
    max_message_bytes: int = 10 * 1024 * 1024
    #: An attachment is stored (fetchable at /v1/mailbox/messages/{id}/attachments/{i})
    #: only if its decoded size is at most this; larger ones are listed, not stored.
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES
    #: At most this many attachment bytes are stored per message copy (in order; one that
    #: would pass the total is listed only). With max_message_bytes this bounds the
    #: memory one accepted message can take per recipient agent.
    max_stored_bytes: int = DEFAULT_MAX_STORED_BYTES
    verdicts: VerdictMode = "dns"
    authserv_id: str | None = None
    dns_host: str | None = None
    dns_port: int = 53
    smarthost: Smarthost | None = None
    dkim: DkimKey | None = None
    serve: bool = False
    visibility_ms: int = 180_000
    backoff_ms: int = 5_000
    #: The receiver offers STARTTLS with this certificate and key (PEM files).
    tls_cert_file: str | None = None
    tls_key_file: str | None = None

    @classmethod
    def from_env(cls) -> MailConfig:
        env = os.environ.get
        domain = mail_domain()
        host, port = _host_port(env("AGENTDRAFT_MAIL_LISTEN") or "127.0.0.1:2525", 2525,
                                "AGENTDRAFT_MAIL_LISTEN")  # fmt: skip
        mode = env("AGENTDRAFT_MAIL_VERDICTS") or "dns"
        if mode not in ("dns", "trust-mta"):
            raise ValidationError("AGENTDRAFT_MAIL_VERDICTS", "must be dns or trust-mta")
        authserv = env("AGENTDRAFT_MAIL_AUTHSERV_ID") or None
        if mode == "trust-mta" and not authserv:
            raise ValidationError("AGENTDRAFT_MAIL_AUTHSERV_ID", "is needed with trust-mta")
        dns_host, dns_port = (None, 53)
        if env("AGENTDRAFT_MAIL_DNS"):
            dns_host, dns_port = _host_port(env("AGENTDRAFT_MAIL_DNS") or "", 53,
                                            "AGENTDRAFT_MAIL_DNS")  # fmt: skip
        return cls(
            domain=domain,
            listen_host=host,
            listen_port=port,
            max_message_bytes=_int("AGENTDRAFT_MAIL_MAX_BYTES", 10 * 1024 * 1024),
            max_attachment_bytes=_int(
                "AGENTDRAFT_MAIL_MAX_ATTACHMENT_BYTES", DEFAULT_MAX_ATTACHMENT_BYTES
            ),
            max_stored_bytes=_int("AGENTDRAFT_MAIL_MAX_STORED_BYTES", DEFAULT_MAX_STORED_BYTES),
            verdicts=mode,  # type: ignore[arg-type]
            authserv_id=authserv,
            dns_host=dns_host,
            dns_port=dns_port,
            smarthost=_smarthost(),
            dkim=_dkim(domain),
            serve=env("AGENTDRAFT_MAIL_SERVE") == "1",
            visibility_ms=_int("AGENTDRAFT_MAIL_VISIBILITY_MS", 180_000),
            backoff_ms=_int("AGENTDRAFT_MAIL_BACKOFF_MS", 5_000),
            tls_cert_file=env("AGENTDRAFT_MAIL_TLS_CERT_FILE") or None,
            tls_key_file=env("AGENTDRAFT_MAIL_TLS_KEY_FILE") or None,
        )


def _smarthost() -> Smarthost | None:
    env = os.environ.get
    raw = env("AGENTDRAFT_MAIL_SMARTHOST")
    if not raw:
        return None
    tls = env("AGENTDRAFT_MAIL_SMARTHOST_TLS") or "starttls"
    if tls not in ("none", "starttls", "implicit"):
        raise ValidationError("AGENTDRAFT_MAIL_SMARTHOST_TLS", "must be starttls, implicit or none")
    host, port = _host_port(raw, 465 if tls == "implicit" else 587, "AGENTDRAFT_MAIL_SMARTHOST")
    password = None
    pw_file = env("AGENTDRAFT_MAIL_SMARTHOST_PASSWORD_FILE")
    if pw_file:
        password = Path(pw_file).read_text(encoding="utf-8").strip()
    return Smarthost(
        host=host,
        port=port,
        tls=tls,  # type: ignore[arg-type]
        username=env("AGENTDRAFT_MAIL_SMARTHOST_USER") or None,
        password=password,
        ca_file=env("AGENTDRAFT_MAIL_SMARTHOST_CA_FILE") or None,
    )


def _dkim(domain: str) -> DkimKey | None:
    env = os.environ.get
    key_file = env("AGENTDRAFT_MAIL_DKIM_KEY_FILE")
    if not key_file:
        return None
    selector = env("AGENTDRAFT_MAIL_DKIM_SELECTOR")
    if not selector:
        raise ValidationError("AGENTDRAFT_MAIL_DKIM_SELECTOR", "is needed with a DKIM key")
    return DkimKey(domain=domain, selector=selector, private_key_pem=Path(key_file).read_bytes())
