"""parse_inbound: real-shaped mail in, a plain record out; garbage never raises."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coordinator.mail.parse import InboundMessage, UnusableMessage, html_to_text, parse_inbound


def _reply() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = '"Ann Invitee" <ann@invitee.test>'
    msg["To"] = "Scheduler <sched+bkg_01J@inbound.test>, other@inbound.test"
    msg["Cc"] = "boss@invitee.test"
    msg["Reply-To"] = "ann.private@invitee.test"
    msg["Subject"] = "=?utf-8?q?Re=3A_two_times_=E2=80=94_call?="
    msg["Date"] = "Fri, 04 Dec 2026 19:05:00 +0100"
    msg["Message-ID"] = "<reply-1@invitee.test>"
    msg["In-Reply-To"] = "<out-7@inbound.test>"
    msg["References"] = "<first@inbound.test>  <out-7@inbound.test>"
    return msg


def test_a_plain_reply_is_read_field_by_field() -> None:
    msg = _reply()
    msg.set_content("Tuesday 3pm works.\n\n> On Friday you wrote:\n> two times\n")
    got = parse_inbound(msg.as_bytes(policy=SMTP))
    assert got == InboundMessage(
        message_id="<reply-1@invitee.test>",
        subject="Re: two times — call",
        from_addr="ann@invitee.test",
        to_addrs=("sched+bkg_01J@inbound.test", "other@inbound.test"),
        cc_addrs=("boss@invitee.test",),
        date=datetime(2026, 12, 4, 18, 5, tzinfo=UTC),
        in_reply_to="<out-7@inbound.test>",
        references=("<first@inbound.test>", "<out-7@inbound.test>"),
        body_text="Tuesday 3pm works.\n\n> On Friday you wrote:\n> two times",
        attachments=(),
        reply_to_addrs=("ann.private@invitee.test",),
    )


def test_html_only_mail_becomes_text() -> None:
    msg = _reply()
    msg.set_content(
        "<html><head><title>t</title><style>p{color:red}</style><script>alert(1)</script></head>"
        "<body><p>Tuesday&nbsp;<b>3pm</b> works &amp; thanks.</p><ul><li>one</li><li>two</li></ul>"
        "<div>See <a href='https://cal.invitee.test/x'>my calendar</a></div><br>Ann</body></html>",
        subtype="html",
    )
    body = parse_inbound(msg.as_bytes()).body_text
    assert (
        body
        == "Tuesday 3pm works & thanks.\n\n- one\n- two\nSee my calendar <https://cal.invitee.test/x>\n\nAnn"
    )


def test_alternative_mail_prefers_the_plain_part_and_lists_no_attachment() -> None:
    msg = _reply()
    msg.set_content("plain words")
    msg.add_alternative("<p>html words</p>", subtype="html")
    got = parse_inbound(msg.as_bytes())
    assert got.body_text == "plain words" and got.attachments == ()


def test_oversized_attachments_are_listed_but_not_stored() -> None:
    msg = _reply()
    msg.set_content("see attached")
    msg.add_attachment(
        b"%PDF" + b"x" * 5000, maintype="application", subtype="pdf", filename="../../agenda.pdf"
    )
    msg.add_attachment(
        b"BEGIN:VCALENDAR\r\n", maintype="text", subtype="calendar", filename="invite.ics"
    )
    got = parse_inbound(msg.as_bytes(), max_attachment_bytes=1000)
    big, small = got.attachments
    assert (big.filename, big.content_type, big.size, big.stored, big.content) == (
        "agenda.pdf",
        "application/pdf",
        5004,
        False,
        None,
    )
    assert (small.filename, small.size, small.stored, small.content) == (
        "invite.ics",
        17,
        True,
        b"BEGIN:VCALENDAR\r\n",
    )
    assert got.body_text == "see attached"


def test_an_unknown_charset_and_broken_headers_still_give_a_message() -> None:
    raw = (
        b"From: <<<@@>>>\r\nTo: ann@invitee.test, ,,, \r\nSubject: =?x-unknown?q?abc?=\r\n"
        b"Date: yesterday-ish\r\nMessage-ID: no-brackets@host.test\r\n"
        b"Content-Type: text/plain; charset=x-made-up\r\n\r\nbody \xe9\xff\r\n"
    )
    got = parse_inbound(raw)
    assert got.to_addrs == ("ann@invitee.test",)
    assert got.date is None and got.message_id == "<no-brackets@host.test>"
    assert got.body_text.startswith("body ")


def test_input_that_is_not_bytes_is_refused_with_a_typed_error() -> None:
    with pytest.raises(UnusableMessage) as err:
        parse_inbound("From: a@b.test\r\n\r\nhi")  # type: ignore[arg-type]
    assert err.value.field == "raw" and err.value.error == "unusable_message"


def test_html_to_text_survives_unbalanced_markup() -> None:
    assert html_to_text("<p>a<b>b<i>c</p></div></a><a href='x'>d") == "abc\n\nd"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4000))
def test_parse_inbound_never_raises_on_arbitrary_bytes(raw: bytes) -> None:
    got = parse_inbound(raw, max_attachment_bytes=100)
    assert isinstance(got.body_text, str)
    assert all(a.stored == (a.content is not None) for a in got.attachments)


_MIME_PIECES = st.sampled_from(
    [
        b"From: a@b.test\r\n",
        b'To: "x" <c@d.test>, bad@@\r\n',
        b"Subject: =?utf-8?b?w6k=?=\r\n",
        b"MIME-Version: 1.0\r\n",
        b"Content-Type: multipart/mixed; boundary=XX\r\n",
        b"Content-Type: text/html; charset=utf-8\r\n",
        b"Content-Transfer-Encoding: base64\r\n",
        b"Content-Disposition: attachment; filename*=utf-8''%E2%82%AC.txt\r\n",
        b"\r\n",
        b"--XX\r\n",
        b"--XX--\r\n",
        b"<p>hi &amp; <b>there",
        b"aGVsbG8=\r\n",
        b"Content-Type: message/rfc822\r\n",
        b"References: <a@b> <c@d\r\n",
        b"Date: Mon, 99 Foo 2026 25:61:00 +9999\r\n",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_MIME_PIECES, max_size=30))
def test_parse_inbound_never_raises_on_mime_shaped_garbage(pieces: list[bytes]) -> None:
    got = parse_inbound(b"".join(pieces), max_attachment_bytes=4)
    assert all(a.size >= 0 for a in got.attachments)
