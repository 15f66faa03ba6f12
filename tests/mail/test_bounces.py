"""Delivery status notifications and complaint reports, built the way MTAs send them."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

from hypothesis import given, settings
from hypothesis import strategies as st

from coordinator.mail.bounces import BounceReport, classify

AGENT = "sched@inbound.test"
DIAGNOSTIC = (
    "smtp; 550 5.1.1 <bob@remote.test>: Recipient address rejected: mailbox of Bob Smith, 12 Elm St"
)


def _original(to: str = "bob@remote.test") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = AGENT
    msg["To"] = to
    msg["Subject"] = "Two times for our call"
    msg["Message-ID"] = "<out-7@inbound.test>"
    msg.set_content("Would Tuesday 3pm or Wednesday 10am work?")
    return msg


def _fields(**fields: str) -> Message:
    block = Message()
    for name, value in fields.items():
        block[name.replace("_", "-")] = value
    return block


def _dsn(
    *recipients: Message, returned: Message | None = None, headers_only: bool = False
) -> bytes:
    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = "MAILER-DAEMON@mx.remote.test"
    report["To"] = AGENT
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report.attach(
        MIMEText("I'm sorry to have to inform you that your message could not be delivered.")
    )
    status = Message()
    status["Content-Type"] = "message/delivery-status"
    status.set_payload(
        [
            _fields(
                Reporting_MTA="dns; mx.remote.test", Arrival_Date="Fri, 4 Dec 2026 18:00:00 +0000"
            ),
            *recipients,
        ]
    )
    report.attach(status)
    original = returned or _original()
    if headers_only:
        part = MIMEText("", "rfc822-headers")
        part.set_payload(str(original).split("\n\n", 1)[0] + "\n")
        report.attach(part)
    else:
        report.attach(MIMEMessage(original))
    return report.as_bytes()


def _arf(feedback_type: str, *, rcpt: str | None = "bob@remote.test") -> bytes:
    report = MIMEMultipart("report", report_type="feedback-report")
    report["From"] = "abuse@isp.test"
    report["To"] = AGENT
    report["Subject"] = "FW: Two times for our call"
    report.attach(
        MIMEText("This is an email abuse report for an email message received from IP 192.0.2.10")
    )
    fields = {
        "Feedback_Type": feedback_type,
        "User_Agent": "ISP-FBL/1.0",
        "Version": "1",
        "Original_Mail_From": f"<{AGENT}>",
        "Reported_Domain": "inbound.test",
    }
    if rcpt:
        fields["Original_Rcpt_To"] = f"<{rcpt}>"
    report.attach(MIMEMessage(_fields(**fields), "feedback-report"))
    report.attach(MIMEMessage(_original("carol@isp.test")))
    return report.as_bytes()


def test_a_permanent_failure_is_a_hard_bounce_without_the_diagnostic() -> None:
    raw = _dsn(
        _fields(
            Final_Recipient="rfc822; Bob@Remote.test",
            Action="failed",
            Status="5.1.1",
            Diagnostic_Code=DIAGNOSTIC,
        )
    )
    report = classify(raw)
    assert report == BounceReport(kind="hard", recipients=("bob@remote.test",), code="5.1.1")
    assert report.suppresses
    assert "Elm" not in repr(report)


def test_a_delay_notice_is_a_soft_bounce() -> None:
    raw = _dsn(
        _fields(
            Final_Recipient="rfc822; bob@remote.test",
            Action="delayed",
            Status="4.4.7",
            Will_Retry_Until="Sat, 5 Dec 2026 18:00:00 +0000",
        )
    )
    report = classify(raw)
    assert report == BounceReport(kind="soft", recipients=("bob@remote.test",), code="4.4.7")
    assert not report.suppresses


def test_a_failure_with_a_temporary_status_is_soft() -> None:
    raw = _dsn(
        _fields(
            Final_Recipient="rfc822; bob@remote.test",
            Action="failed",
            Status="4.2.2 (mailbox full)",
        )
    )
    assert classify(raw) == BounceReport(kind="soft", recipients=("bob@remote.test",), code="4.2.2")


def test_only_the_failed_recipients_of_a_mixed_report_are_named() -> None:
    raw = _dsn(
        _fields(Final_Recipient="rfc822; ok@remote.test", Action="delivered", Status="2.0.0"),
        _fields(
            Original_Recipient="rfc822; gone@remote.test",
            Final_Recipient="rfc822; gone@remote.test",
            Action="failed",
            Status="5.2.1",
        ),
        _fields(Final_Recipient="rfc822; slow@remote.test", Action="delayed", Status="4.4.1"),
    )
    assert classify(raw) == BounceReport(
        kind="hard", recipients=("gone@remote.test",), code="5.2.1"
    )


def test_a_non_internet_final_recipient_falls_back_to_the_returned_headers() -> None:
    raw = _dsn(
        _fields(Final_Recipient="x400; /C=XX/ADMD=x/", Action="failed", Status="5.0.0"),
        returned=_original("dave@remote.test"),
        headers_only=True,
    )
    assert classify(raw) == BounceReport(
        kind="hard", recipients=("dave@remote.test",), code="5.0.0"
    )


def test_a_successful_delivery_report_is_not_a_bounce() -> None:
    raw = _dsn(_fields(Final_Recipient="rfc822; bob@remote.test", Action="relayed", Status="2.0.0"))
    assert classify(raw) is None


def test_an_abuse_report_is_a_complaint_about_the_original_recipient() -> None:
    report = classify(_arf("abuse"))
    assert report == BounceReport(kind="complaint", recipients=("bob@remote.test",), code="abuse")
    assert report.suppresses


def test_a_complaint_without_original_rcpt_to_names_the_returned_messages_recipient() -> None:
    assert classify(_arf("abuse", rcpt=None)) == BounceReport(
        kind="complaint", recipients=("carol@isp.test",), code="abuse"
    )


def test_a_not_spam_report_is_not_a_complaint() -> None:
    assert classify(_arf("not-spam")) is None


def test_a_parsed_message_is_accepted_too() -> None:
    parsed = message_from_bytes(_arf("fraud"), policy=policy.default)
    assert classify(parsed) == BounceReport(
        kind="complaint", recipients=("bob@remote.test",), code="fraud"
    )


def test_a_human_reply_is_not_a_report() -> None:
    assert classify(_original().as_bytes()) is None


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000))
def test_classify_never_raises_on_arbitrary_bytes(raw: bytes) -> None:
    header = (
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n--B\r\n"
    )
    assert classify(raw) is None or isinstance(classify(raw), BounceReport)
    assert classify(header + raw) is None or isinstance(classify(header + raw), BounceReport)
