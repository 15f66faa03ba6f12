"""Inbound mail, from the bytes an SMTP receiver accepted to a plain record.

Mail arriving from the open internet is often malformed, so
:func:`parse_inbound` never raises on bad bytes: it returns whatever it could
read (an empty subject, no addresses, an empty body) and leaves the decision to
the caller. Only input that is not bytes at all is refused, with
:class:`UnusableMessage`. Parsing uses the standard library's ``email`` package
with ``policy.default``; HTML-only mail becomes text with a small
``html.parser``-based converter (no heavy dependency); attachments are listed
with their size, and their content kept only up to ``max_attachment_bytes``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from html import unescape
from html.parser import HTMLParser
from typing import Any, cast

from ..errors import ValidationError

#: Attachments larger than this (decoded bytes) are listed but their content is dropped.
DEFAULT_MAX_ATTACHMENT_BYTES = 1_048_576
#: A message with more MIME parts than this is read up to this many (a defence
#: against pathological nesting; real mail has a handful).
MAX_PARTS = 200
#: Longest filename kept for an attachment.
MAX_FILENAME = 255

_MSGID = re.compile(r"<[^<>\s]+>")
_SPACE = re.compile(r"[ \t\r\f\v]+")
_BLANKS = re.compile(r"\n{3,}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class UnusableMessage(ValidationError):
    """The input cannot be a message at all (it is not bytes)."""

    def __init__(self, detail: str) -> None:
        super().__init__("raw", detail, error="unusable_message")


@dataclass(frozen=True)
class Attachment:
    """One attachment: always listed, its content kept only when ``stored``."""

    filename: str | None
    content_type: str
    size: int
    stored: bool
    content: bytes | None


@dataclass(frozen=True)
class InboundMessage:
    """What the mailbox keeps of one received message.

    Message ids keep their angle brackets (``<abc@host>``) so ``In-Reply-To`` and
    ``References`` compare equal to a stored ``message_id`` without rewriting.
    Addresses are bare ``local@domain`` strings, display names dropped.
    """

    message_id: str | None
    subject: str
    from_addr: str | None
    to_addrs: tuple[str, ...]
    cc_addrs: tuple[str, ...]
    date: datetime | None
    in_reply_to: str | None
    references: tuple[str, ...]
    body_text: str
    attachments: tuple[Attachment, ...]
    reply_to_addrs: tuple[str, ...] = ()


def parse_inbound(
    raw: bytes, *, max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES
) -> InboundMessage:
    """Parse ``raw`` (RFC 5322 bytes) into an :class:`InboundMessage`; never raises on garbage."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise UnusableMessage(f"expected the message as bytes, got {type(raw).__name__}")
    if max_attachment_bytes < 0:
        raise ValidationError("max_attachment_bytes", "must be zero or more")
    msg = BytesParser(policy=policy.default).parsebytes(bytes(raw))
    from_addrs = _addresses(msg, "From")
    body_part, attachment_parts = _split_parts(msg)
    return InboundMessage(
        message_id=_first_msgid(_header(msg, "Message-ID")),
        subject=_one_line(_header(msg, "Subject")),
        from_addr=from_addrs[0] if from_addrs else None,
        to_addrs=_addresses(msg, "To"),
        cc_addrs=_addresses(msg, "Cc"),
        date=_date(msg),
        in_reply_to=_first_msgid(_header(msg, "In-Reply-To")),
        references=tuple(_MSGID.findall(_header(msg, "References"))),
        body_text=_body_text(body_part),
        attachments=tuple(_attachment(p, max_attachment_bytes) for p in attachment_parts),
        reply_to_addrs=_addresses(msg, "Reply-To"),
    )


def html_to_text(html: str) -> str:
    """Readable plain text from an HTML body: blocks become lines, links keep their target."""
    converter = _HtmlText()
    try:
        converter.feed(html)
        converter.close()
    except (AssertionError, ValueError):  # html.parser gives up on some broken markup
        return _tidy(unescape(re.sub(r"<[^>]*>", " ", html)))
    return converter.text()


# -- headers ---------------------------------------------------------------------------


def _header(msg: Message, name: str) -> str:
    """One header's decoded text, or "" when absent or undecodable."""
    try:
        value = msg.get(name)
    except Exception:  # policy.default's header parser can fail on hostile input
        value = None
    if value is None:
        try:  # the unparsed text, when the structured parse failed
            raws = [v for k, v in msg.raw_items() if k.lower() == name.lower()]  # type: ignore[attr-defined]
        except Exception:
            return ""
        value = raws[0] if raws else ""
    try:
        return str(value)
    except Exception:
        return ""


def _addresses(msg: Message, name: str) -> tuple[str, ...]:
    """Bare addresses from every ``name`` header, in order, without duplicates."""
    found: list[str] = []
    try:
        values = msg.get_all(name) or []
    except Exception:
        values = []
    for value in values:
        try:
            specs = [a.addr_spec for a in cast(Any, value).addresses]
        except Exception:
            try:
                specs = [addr for _, addr in getaddresses([str(value)])]
            except Exception:
                specs = []
        for spec in specs:
            spec = _CONTROL.sub("", spec).strip()
            if "@" in spec and spec not in found:
                found.append(spec)
    return tuple(found)


def _first_msgid(value: str) -> str | None:
    ids = _MSGID.findall(value)
    if ids:
        return str(ids[0])
    value = _CONTROL.sub("", value).strip()
    return f"<{value}>" if value and " " not in value and "@" in value else None


def _one_line(value: str) -> str:
    return _SPACE.sub(" ", _CONTROL.sub(" ", value)).strip()


def _date(msg: Message) -> datetime | None:
    text = _header(msg, "Date")
    if not text:
        return None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


# -- parts ------------------------------------------------------------------------------


def _leaves(msg: Message, depth: int = 0) -> Iterator[Message]:
    """Leaf parts in order; an embedded message (message/rfc822) counts as one leaf."""
    if depth > 20:
        return
    try:
        multipart = msg.is_multipart() and msg.get_content_maintype() == "multipart"
        payload = msg.get_payload() if multipart else None
    except Exception:
        return
    if multipart and isinstance(payload, list):
        for sub in payload:
            if isinstance(sub, Message):
                yield from _leaves(sub, depth + 1)
    else:
        yield msg


def _disposition(part: Message) -> str | None:
    try:
        return part.get_content_disposition()
    except Exception:
        return None


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        return None
    if not name:
        return None
    name = _CONTROL.sub("", str(name)).replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[:MAX_FILENAME] or None


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "application/octet-stream"


def _is_body_candidate(part: Message) -> bool:
    return (
        _content_type(part) in ("text/plain", "text/html")
        and _disposition(part) != "attachment"
        and _filename(part) is None
    )


def _split_parts(msg: Message) -> tuple[Message | None, list[Message]]:
    """The part the body text comes from, and the parts listed as attachments.

    The body is the first text/plain candidate, else the first text/html one;
    every other text/plain or text/html candidate (the HTML twin of a
    multipart/alternative, a second inline text) is neither body nor attachment.
    """
    leaves: list[Message] = []
    for i, leaf in enumerate(_leaves(msg)):
        if i >= MAX_PARTS:
            break
        leaves.append(leaf)
    candidates = [p for p in leaves if _is_body_candidate(p)]
    plain = [p for p in candidates if _content_type(p) == "text/plain"]
    body = plain[0] if plain else (candidates[0] if candidates else None)
    return body, [p for p in leaves if not _is_body_candidate(p)]


def _decoded(part: Message) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if isinstance(payload, bytes):
        return payload
    if _content_type(part) == "message/rfc822":
        try:
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                return inner[0].as_bytes(policy=policy.SMTP)
        except Exception:
            return b""
    return b""


def _text_of(part: Message) -> str:
    if isinstance(part, EmailMessage):
        try:
            content = part.get_content()
            if isinstance(content, str):
                return content
        except Exception:  # unknown charset, broken transfer encoding
            pass
    data = _decoded(part)
    try:
        charset = part.get_content_charset() or "utf-8"
        return data.decode(charset, errors="replace")
    except (LookupError, Exception):
        return data.decode("utf-8", errors="replace")


def _body_text(part: Message | None) -> str:
    if part is None:
        return ""
    text = _text_of(part)
    if _content_type(part) == "text/html":
        return html_to_text(text)
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").strip("\n")


def _attachment(part: Message, limit: int) -> Attachment:
    content = _decoded(part)
    stored = len(content) <= limit
    return Attachment(
        filename=_filename(part),
        content_type=_content_type(part),
        size=len(content),
        stored=stored,
        content=content if stored else None,
    )


# -- HTML to text ---------------------------------------------------------------------------

_BLOCK = frozenset(
    "p div section article header footer aside nav main table tr ul ol dl dt dd pre "
    "blockquote h1 h2 h3 h4 h5 h6 hr form fieldset address figure".split()
)
_SKIP = frozenset({"script", "style", "head", "title", "template", "noscript"})


class _HtmlText(HTMLParser):
    """Collects the visible text of an HTML document, with line breaks at blocks.

    Whitespace in the source is collapsed as a browser does (except in ``pre``);
    line breaks come only from tags, so block boundaries never stack up.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._out: list[str] = []
        self._trailing = 0  # newlines at the end of the output so far
        self._skip = 0
        self._pre = 0
        self._links: list[tuple[str | None, int]] = []

    def _break(self, lines: int) -> None:
        if self._out and self._trailing < lines:
            self._out.append("\n" * (lines - self._trailing))
            self._trailing = lines

    def _emit(self, text: str) -> None:
        if text:
            self._out.append(text)
            stripped = text.rstrip(" ")
            if stripped:
                self._trailing = len(stripped) - len(stripped.rstrip("\n"))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip += 1
        elif tag == "br":
            self._out.append("\n")
            self._trailing += 1
        elif tag == "li":
            self._break(1)
            self._emit("- ")
        elif tag in _BLOCK:
            self._break(2 if tag in _PARAGRAPH else 1)
            self._pre += tag == "pre"
        elif tag in ("td", "th"):
            self._emit(" ")
        elif tag == "a":
            self._links.append((dict(attrs).get("href"), len(self._out)))

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK:
            self._break(2 if tag in _PARAGRAPH else 1)
            self._pre = max(0, self._pre - (tag == "pre"))
        elif tag == "a" and self._links:
            href, start = self._links.pop()
            shown = "".join(self._out[start:]).strip()
            if href and href.startswith(("http://", "https://", "mailto:")):
                target = href.removeprefix("mailto:")
                if target != shown:
                    self._emit(f" <{target}>")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._emit(data if self._pre else re.sub(r"\s+", " ", data))

    def text(self) -> str:
        return _tidy("".join(self._out))


_PARAGRAPH = frozenset({"p", "table", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6"})


def _tidy(text: str) -> str:
    lines = [_SPACE.sub(" ", line).strip() for line in text.replace("\xa0", " ").split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()
