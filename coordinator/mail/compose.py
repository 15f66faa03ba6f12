"""The RFC 5322 bytes of an outbound message, built from its stored record.

Everything comes from the record the send stored, the ``Date`` too (its creation
time), so a retried delivery carries the same message with the same ``Message-ID``:
a receiver that sees it twice can tell it is one message. Line endings are CRLF,
as SMTP and the DKIM signature expect.
"""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from ..buckets import from_ms


def compose(rec: dict[str, Any]) -> bytes:
    """The message a stored outbound record describes, ready to sign and send."""
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = rec["from"]
    msg["To"] = ", ".join(rec["to"]) if isinstance(rec.get("to"), list) else rec["to"]
    if rec.get("reply_to"):
        msg["Reply-To"] = rec["reply_to"]
    msg["Subject"] = rec.get("subject") or ""
    msg["Date"] = format_datetime(from_ms(int(rec["created_ms"])))
    msg["Message-ID"] = rec["imid"]
    if rec.get("in_reply_to"):
        msg["In-Reply-To"] = rec["in_reply_to"]
    refs = rec.get("references")
    if isinstance(refs, list) and refs:
        msg["References"] = " ".join(refs)
    msg.set_content(rec.get("body_text") or "", cte="quoted-printable")
    return msg.as_bytes()
