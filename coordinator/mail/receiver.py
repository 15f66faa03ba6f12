"""The SMTP receiver: mail for ``<agent_id>[+<booking_id>]@<domain>`` lands in that mailbox.

An aiosmtpd server. At RCPT time an address that is not an active agent's on the
configured domain is refused with 550 (so the sending MTA bounces it, and nothing is
stored for nobody); a message over the size limit is refused with 552 by aiosmtpd
itself. An accepted message is parsed (:mod:`.parse`), given SPF/DKIM/DMARC verdicts
(:mod:`.verdicts`: looked up in DNS, or read from a trusted MTA's
``Authentication-Results``), checked for being a bounce or complaint
(:mod:`.bounces`: a hard bounce or complaint suppresses its recipients) and stored
per recipient in one script each (``mail_receive.lua``: threading, audit). The 250
is sent only after every recipient's copy is stored; a store failure answers 451 so
the sending MTA tries again (a retried Message-ID is stored once).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..buckets import to_ms
from ..coordinator import Coordinator
from ..errors import AgentDraftError
from .addresses import recipient_agent
from .config import MailConfig
from .mailbox import MAX_BODY, MAX_SUBJECT
from .parse import Attachment, parse_inbound

log = logging.getLogger("coordinator.mail")
MAX_REFERENCES = 50
SUPPRESSING = {"hard": "hard_bounce", "complaint": "complaint"}
TRY_LATER = "451 4.3.0 Temporary failure, try again later"


@dataclass
class Delivery:
    """What one accepted message became: the stored copies and the suppressed addresses."""

    message_ids: list[str]
    suppressed: list[str]


def stored_attachments(
    attachments: Sequence[Attachment], max_total: int
) -> tuple[list[dict[str, Any]], list[bytes]]:
    """The attachments as listed (``stored`` each) and the bytes of those stored.

    The parser already dropped the content of each one over the per-attachment limit;
    here, in order, one whose bytes would take the message past ``max_total`` is listed
    only too, so one message never stores more than ``max_total`` bytes per recipient.
    """
    listed: list[dict[str, Any]] = []
    contents: list[bytes] = []
    total = 0
    for a in attachments:
        keep = a.content is not None and total + len(a.content) <= max_total
        if keep and a.content is not None:
            contents.append(a.content)
            total += len(a.content)
        listed.append(
            {"filename": a.filename, "content_type": a.content_type, "size": a.size, "stored": keep}
        )
    return listed, contents


class InboundHandler:
    """aiosmtpd handler: RCPT checks against the agents, DATA stores the message."""

    def __init__(self, coord: Coordinator, config: MailConfig) -> None:
        self.coord = coord
        self.config = config
        self.domain = config.domain

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        found = recipient_agent(address, self.domain)
        if found is None:
            return "550 5.1.1 No such mailbox here"
        try:
            owner = await asyncio.get_running_loop().run_in_executor(
                None, self.coord.mailbox.accepts, found[0]
            )
        except Exception as exc:  # the store is down: the sender must retry, not bounce
            log.warning("RCPT %s not checked: %s", address, exc)
            return TRY_LATER
        if owner is None:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        try:
            await asyncio.get_running_loop().run_in_executor(
                None,
                self.deliver,
                raw,
                peer,
                session.host_name or "",
                envelope.mail_from or "",
                list(envelope.rcpt_tos),
            )
        except Exception as exc:  # never a 5xx for our own failure: that would bounce it
            detail = exc.detail if isinstance(exc, AgentDraftError) else repr(exc)
            log.warning("inbound mail not stored: %s", detail)
            return TRY_LATER
        return "250 2.0.0 Message accepted"

    def verdicts(self, raw: bytes, client_ip: str, helo: str, mail_from: str) -> dict[str, Any]:
        """SPF, DKIM and DMARC as the configured mode finds them."""
        from . import verdicts as v

        c = self.config
        if c.verdicts == "trust-mta":
            return v.from_authentication_results(raw, authserv_id=c.authserv_id or "").to_dict()
        resolver = v.Resolver(host=c.dns_host, port=c.dns_port) if c.dns_host else v.Resolver()
        return v.check_dns(
            raw, client_ip=client_ip, helo=helo, mail_from=mail_from, resolver=resolver
        ).to_dict()

    def deliver(
        self, raw: bytes, client_ip: str, helo: str, mail_from: str, rcpt_tos: list[str]
    ) -> Delivery:
        """Parse, judge and store one message for each of its agent recipients."""
        from .bounces import classify

        parsed = parse_inbound(raw, max_attachment_bytes=self.config.max_attachment_bytes)
        verdicts = self.verdicts(raw, client_ip, helo, mail_from)
        report = classify(raw)
        suppress: list[dict[str, str]] = []
        bounce = None
        if report is not None:
            bounce = {"kind": report.kind, "recipients": list(report.recipients)}
            if report.suppresses:
                suppress = [
                    {
                        "address": a.lower(),
                        "kind": SUPPRESSING[report.kind],
                        "diagnostic": report.code or "",
                    }
                    for a in report.recipients
                ]
        listed, contents = stored_attachments(parsed.attachments, self.config.max_stored_bytes)
        imid = parsed.message_id or f"<generated.{uuid.uuid4().hex}@{self.domain}>"
        message: dict[str, Any] = {
            "imid": imid,
            "from": (parsed.from_addr or mail_from or "").lower(),
            "to": list(parsed.to_addrs),
            "reply_to": parsed.reply_to_addrs[0].lower() if parsed.reply_to_addrs else None,
            "subject": parsed.subject[:MAX_SUBJECT],
            "body_text": parsed.body_text[:MAX_BODY],
            "date_ms": to_ms(parsed.date) if parsed.date else None,
            "in_reply_to": parsed.in_reply_to,
            "references": list(parsed.references[-MAX_REFERENCES:]),
            "verdicts": verdicts,
            "attachments": listed,
            "size": len(raw),
            "bounce": bounce,
            "envelope_from": mail_from,
        }
        out = Delivery([], [])
        for address in dict.fromkeys(a.lower() for a in rcpt_tos):
            found = recipient_agent(address, self.domain)
            owner = self.coord.mailbox.accepts(found[0]) if found else None
            if found is None or owner is None:
                continue  # revoked between RCPT and DATA: nobody to store it for
            stored = self.coord.mailbox.receive(
                owner,
                found[0],
                {**message, "plus_booking": found[1]},
                suppress=suppress,
                contents=contents,
            )
            out.message_ids.append(stored["message"]["message_id"])
            out.suppressed += stored["suppressed"]
        return out


class Receiver:
    """The receiver on its own thread (aiosmtpd's Controller): ``start`` / ``stop``."""

    def __init__(self, coord: Coordinator, config: MailConfig) -> None:
        from aiosmtpd.controller import Controller

        self.handler = InboundHandler(coord, config)
        tls: dict[str, Any] = {}
        if config.tls_cert_file:
            # Offered, not required: a sending MTA without TLS still delivers (as MX do).
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(config.tls_cert_file, config.tls_key_file)
            tls["tls_context"] = ctx
        self.controller = Controller(
            self.handler,
            hostname=config.listen_host,
            port=config.listen_port,
            server_hostname=config.domain,
            data_size_limit=config.max_message_bytes,
            ready_timeout=10.0,
            **tls,
        )

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def start(self) -> Receiver:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
