"""Bounces and complaints: which addresses the mailbox must stop writing to.

:func:`classify` reads a machine-readable report addressed to an agent:

* an RFC 3464 delivery status notification (``multipart/report;
  report-type=delivery-status``): a recipient whose ``Action`` is ``failed``
  with a ``5.x.x`` ``Status`` is a **hard** bounce; ``failed`` with ``4.x.x``
  (or no usable status), or ``delayed``, is **soft**. ``delivered``,
  ``relayed`` and ``expanded`` are not bounces.
* an ARF feedback report (RFC 5965, ``report-type=feedback-report``) of any
  ``Feedback-Type`` except ``not-spam`` is a **complaint**.

Recipients come from ``Final-Recipient`` (else ``Original-Recipient``) in a DSN,
``Original-Rcpt-To`` in an ARF report, and otherwise from the ``To`` of the
returned message (``message/rfc822`` or ``text/rfc822-headers``). The report
keeps only the short code (``5.1.1``, ``abuse``), never the remote server's
diagnostic text, which may quote personal data. Anything else (a human reply, a
free-text bounce from an old MTA) returns ``None``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import BytesParser, HeaderParser
from email.utils import getaddresses
from typing import Literal

BounceKind = Literal["hard", "soft", "complaint"]

_STATUS = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})\b")
_FEEDBACK_TYPE = re.compile(r"^[a-z0-9-]{1,32}$")


@dataclass(frozen=True)
class BounceReport:
    """What a report says: ``kind``, the addresses it is about, and a short ``code``."""

    kind: BounceKind
    recipients: tuple[str, ...]
    code: str | None = None

    @property
    def suppresses(self) -> bool:
        """Hard bounces and complaints put the recipients on the suppression list."""
        return self.kind in ("hard", "complaint")


def classify(message: bytes | Message) -> BounceReport | None:
    """The :class:`BounceReport` in ``message``, or ``None`` if it is not a DSN or ARF report."""
    msg = message if isinstance(message, Message) else _parse(message)
    if msg is None:
        return None
    try:
        if msg.get_content_type() != "multipart/report":
            return None
        report_type = str(msg.get_param("report-type", "") or "").lower()
    except Exception:
        return None
    if report_type == "delivery-status":
        return _dsn(msg)
    if report_type == "feedback-report":
        return _arf(msg)
    return None


def _parse(raw: bytes) -> Message | None:
    if not isinstance(raw, bytes | bytearray):
        return None
    try:
        return BytesParser(policy=policy.default).parsebytes(bytes(raw))
    except Exception:
        return None


def _parts(msg: Message) -> list[Message]:
    try:
        payload = msg.get_payload()
    except Exception:
        return []
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def _field_blocks(part: Message) -> list[Message]:
    """The header blocks of a report part (message/delivery-status, message/feedback-report).

    The email package parses these into a list of header-only messages; a
    report sent with another content type (or that the parser left as text) is
    split on blank lines here.
    """
    try:
        payload = part.get_payload()
    except Exception:
        return []
    if isinstance(payload, list) and all(isinstance(p, Message) for p in payload):
        return list(payload)
    try:
        text = payload if isinstance(payload, str) else ""
        data = part.get_payload(decode=True)
        if isinstance(data, bytes) and data:
            text = data.decode("utf-8", "replace")
    except Exception:
        return []
    blocks = re.split(r"\r?\n\s*\r?\n", text.strip())
    return [HeaderParser(policy=policy.compat32).parsestr(b) for b in blocks if b.strip()]


def _get(block: Message, name: str) -> str:
    try:
        values = block.get_all(name) or []
    except Exception:
        return ""
    return re.sub(r"\s+", " ", str(values[0])).strip() if values else ""


def _get_all(block: Message, name: str) -> list[str]:
    try:
        return [re.sub(r"\s+", " ", str(v)).strip() for v in block.get_all(name) or []]
    except Exception:
        return []


def _address(value: str) -> str | None:
    """The address in a typed field (``rfc822; user@example.org``) or a bare one."""
    if ";" in value:
        addr_type, _, value = value.partition(";")
        if addr_type.strip().lower() not in ("rfc822", ""):
            return None
    value = value.strip().strip("<>").strip()
    if "@" not in value or any(c.isspace() for c in value):
        return None
    return value.lower()


def _returned_recipients(msg: Message) -> tuple[str, ...]:
    """The To/Cc of the returned original (message/rfc822 or text/rfc822-headers)."""
    for part in _parts(msg):
        try:
            ctype = part.get_content_type()
        except Exception:
            continue
        headers: Message | None = None
        if ctype == "message/rfc822":
            inner = _parts(part)
            headers = inner[0] if inner else None
        elif ctype == "text/rfc822-headers":
            try:
                text = part.get_content() if hasattr(part, "get_content") else part.get_payload()
            except Exception:
                text = str(part.get_payload())
            headers = HeaderParser(policy=policy.compat32).parsestr(str(text))
        if headers is None:
            continue
        found = [
            addr.lower()
            for _, addr in getaddresses(_get_all(headers, "To") + _get_all(headers, "Cc"))
            if "@" in addr
        ]
        if found:
            return tuple(dict.fromkeys(found))
    return ()


def _report_part(msg: Message, ctype: str) -> Message | None:
    for part in _parts(msg):
        try:
            if part.get_content_type() == ctype:
                return part
        except Exception:
            continue
    return None


def _dsn(msg: Message) -> BounceReport | None:
    part = _report_part(msg, "message/delivery-status")
    if part is None:
        return None
    hard: list[tuple[str | None, str]] = []
    soft: list[tuple[str | None, str | None]] = []
    for block in _field_blocks(part)[1:]:  # the first block is per-message
        action = _get(block, "Action").lower().split(" ", 1)[0]
        match = _STATUS.match(_get(block, "Status"))
        code = ".".join(match.groups()) if match else None
        addr = _address(_get(block, "Final-Recipient")) or _address(
            _get(block, "Original-Recipient")
        )
        if action == "failed" and code and code.startswith("5"):
            hard.append((addr, code))
        elif action in ("failed", "delayed"):
            soft.append((addr, code))
    chosen: list[tuple[str | None, str | None]]
    kind: BounceKind
    if hard:
        kind, chosen = "hard", list(hard)
    elif soft:
        kind, chosen = "soft", soft
    else:
        return None
    recipients = tuple(dict.fromkeys(a for a, _ in chosen if a))
    if not recipients:
        recipients = _returned_recipients(msg)
    return BounceReport(kind=kind, recipients=recipients, code=chosen[0][1])


def _arf(msg: Message) -> BounceReport | None:
    part = _report_part(msg, "message/feedback-report")
    if part is None:
        return None
    blocks = _field_blocks(part)
    if not blocks:
        return None
    fields = blocks[0]
    feedback_type = _get(fields, "Feedback-Type").lower()
    if feedback_type == "not-spam":
        return None
    code = feedback_type if _FEEDBACK_TYPE.match(feedback_type) else "other"
    recipients = tuple(
        dict.fromkeys(a for a in (_address(v) for v in _get_all(fields, "Original-Rcpt-To")) if a)
    )
    if not recipients:
        recipients = _returned_recipients(msg)
    return BounceReport(kind="complaint", recipients=recipients, code=code)
