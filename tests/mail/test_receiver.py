"""The SMTP receiver, driven by ``smtplib`` on loopback: mail for agents is judged
(SPF, DKIM, DMARC over a loopback DNS server), threaded, stored and audited; unknown
recipients get 550, oversized mail 552; a hard bounce makes the next send 422."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

import pytest

from coordinator import Coordinator, RecipientSuppressed
from coordinator.mail.config import MailConfig
from coordinator.mail.dkim_sign import DkimKeyPair, sign
from coordinator.mail.receiver import Receiver
from tests.mail.test_bounces import _dsn, _fields
from tests.support.dns_server import LoopbackDNS
from tests.support.servers import RedisServer, free_port, make_tls_files

INBOX = "inbox.test"
FRIEND = "friendly.test"


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture
def coord(redis_server: RedisServer) -> Iterator[Coordinator]:
    c = Coordinator.from_url(redis_server.url, mail_domain=INBOX)
    yield c
    c.close()


@pytest.fixture
def friend(dns_server: LoopbackDNS, rsa_key: DkimKeyPair) -> DkimKeyPair:
    """A sender domain whose mail really comes from 127.0.0.1, signed, DMARC p=reject."""
    dns_server.add_txt(FRIEND, "v=spf1 ip4:127.0.0.1 -all")
    dns_server.add_txt(f"s1._domainkey.{FRIEND}", rsa_key.dns_txt_value)
    dns_server.add_txt(f"_dmarc.{FRIEND}", "v=DMARC1; p=reject")
    dns_server.add_txt("agents.test", "v=spf1 ip4:192.0.2.10 -all")
    dns_server.add_txt("_dmarc.agents.test", "v=DMARC1; p=reject")
    return rsa_key


def _config(dns_server: LoopbackDNS, **kw: object) -> MailConfig:
    base: dict[str, object] = {
        "domain": INBOX,
        "listen_port": free_port(),
        "dns_host": "127.0.0.1",
        "dns_port": dns_server.port,
        "max_message_bytes": 64 * 1024,
    }
    return MailConfig(**{**base, **kw})  # type: ignore[arg-type]


@pytest.fixture
def receiver(coord: Coordinator, dns_server: LoopbackDNS) -> Iterator[Receiver]:
    r = Receiver(coord, _config(dns_server)).start()
    yield r
    r.stop()


def _send(port: int, raw: bytes, sender: str, to: str) -> None:
    """Over SMTP as an MTA would: CRLF line endings (smtplib sends bytes as they are)."""
    crlf = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    with smtplib.SMTP("127.0.0.1", port, local_hostname="mx.friendly.test", timeout=10) as s:
        s.sendmail(sender, [to], crlf)


def _mail(to: str, *, sender: str = f"ada@{FRIEND}", **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Ada <{sender}>"
    msg["To"] = to
    msg["Subject"] = headers.pop("Subject", "Re: Tuesday?")
    msg["Message-ID"] = headers.pop("Message_ID", "<ada-1@friendly.test>")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("Tuesday 3pm works for me.")
    return msg


def test_a_signed_reply_is_stored_with_pass_verdicts_on_the_agents_booking(
    coord: Coordinator, receiver: Receiver, friend: DkimKeyPair
) -> None:
    owner = coord.owners.create()
    agent = coord.agents.create(owner.user_id, name="mailer")
    client = coord.client(agent.api_key)
    booking = client.bookings.hold(start="2031-03-04T15:00:00Z", end="2031-03-04T16:00:00Z")
    asked = client.mailbox.send(
        to=f"ada@{FRIEND}", subject="Tuesday?", body_text="3pm?", booking_id=booking.booking_id
    )
    address = client.mailbox.info()["address"]
    raw = _mail(address, In_Reply_To=asked["internet_message_id"]).as_bytes(policy=policy.SMTP)
    signed = sign(raw, domain=FRIEND, selector="s1", private_key_pem=friend.private_key_pem)

    _send(receiver.port, signed, f"ada@{FRIEND}", address)

    [got] = client.mailbox.list_messages(direction="inbound")["messages"]
    full = client.mailbox.get_message(got["message_id"])
    assert full["body_text"].strip() == "Tuesday 3pm works for me."
    assert full["from"] == f"ada@{FRIEND}"
    assert {k: v["result"] for k, v in full["verdicts"].items()} == {
        "spf": "pass", "dkim": "pass", "dmarc": "pass"
    }  # fmt: skip
    assert full["booking_id"] == booking.booking_id
    assert full["thread_id"] == asked["thread_id"]
    answer = client.mailbox.reply(got["message_id"], body_text="Booked.")
    assert answer["to"] == [f"ada@{FRIEND}"] and answer["booking_id"] == booking.booking_id
    trail = [e.type for e in coord.audit.for_booking(owner.user_id, booking.booking_id)]
    assert trail.count("mail.received") == 1
    assert coord.audit.verify(owner.user_id).ok


def test_a_forged_sender_gets_fail_verdicts(
    coord: Coordinator, receiver: Receiver, friend: DkimKeyPair
) -> None:
    owner = coord.owners.create()
    agent = coord.agents.create(owner.user_id, name="mailer")
    client = coord.client(agent.api_key)
    address = client.mailbox.info()["address"]
    # Claims to be agents.test (SPF: only 192.0.2.10), signed with someone else's key
    raw = _mail(address, sender="ceo@agents.test", Message_ID="<forged@agents.test>").as_bytes(
        policy=policy.SMTP
    )
    forged = sign(raw, domain=FRIEND, selector="s1", private_key_pem=friend.private_key_pem)

    _send(receiver.port, forged, "ceo@agents.test", address)

    [got] = client.mailbox.list_messages()["messages"]
    v = client.mailbox.get_message(got["message_id"])["verdicts"]
    assert v["spf"]["result"] == "fail"
    assert v["dmarc"]["result"] == "fail"  # a valid signature, but not by the From domain
    assert v["dkim"]["domain"] == FRIEND


def test_unknown_or_revoked_recipients_are_refused_at_rcpt_and_big_mail_with_552(
    coord: Coordinator, receiver: Receiver
) -> None:
    owner = coord.owners.create()
    agent = coord.agents.create(owner.user_id, name="mailer")
    revoked = coord.agents.create(owner.user_id, name="gone")
    coord.agents.revoke(revoked.agent_id)
    address = coord.mailbox.address(agent.agent_id)
    for nobody in (
        f"agt_0000000000000000@{INBOX}",
        f"postmaster@{INBOX}",
        f"{agent.agent_id}@elsewhere.test",
        coord.mailbox.address(revoked.agent_id),
    ):
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            _send(
                receiver.port, _mail(nobody).as_bytes(policy=policy.SMTP), f"ada@{FRIEND}", nobody
            )
        assert refused.value.recipients[nobody][0] == 550
    big = _mail(address)
    big.set_content("x" * 100_000)
    with pytest.raises((smtplib.SMTPDataError, smtplib.SMTPSenderRefused)) as too_big:
        _send(receiver.port, big.as_bytes(policy=policy.SMTP), f"ada@{FRIEND}", address)
    assert too_big.value.smtp_code == 552
    assert coord.client(agent.api_key).mailbox.list_messages()["messages"] == []


def test_a_hard_bounce_to_an_agent_makes_the_next_send_to_that_address_422(
    coord: Coordinator, receiver: Receiver
) -> None:
    owner = coord.owners.create()
    agent = coord.agents.create(owner.user_id, name="mailer")
    client = coord.client(agent.api_key)
    address = client.mailbox.info()["address"]
    hard = _dsn(_fields(Final_Recipient="rfc822; Bob@Remote.test", Action="failed",
                        Status="5.1.1"))  # fmt: skip
    soft = _dsn(_fields(Final_Recipient="rfc822; slow@remote.test", Action="delayed",
                        Status="4.4.7"))  # fmt: skip

    _send(receiver.port, hard, "", address)
    _send(receiver.port, soft, "", address)

    with pytest.raises(RecipientSuppressed) as refused:
        client.mailbox.send(to="bob@remote.test", subject="again", body_text="b")
    assert refused.value.kind == "hard_bounce"
    assert client.mailbox.check_suppression("slow@remote.test")["suppressed"] is False
    client.mailbox.send(to="slow@remote.test", subject="again", body_text="b")
    bounces = [m["bounce"] for m in client.mailbox.list_messages(direction="inbound")["messages"]]
    assert sorted(b["kind"] for b in bounces) == ["hard", "soft"]


def test_the_plus_address_threads_to_a_booking_and_html_only_mail_becomes_text(
    coord: Coordinator, receiver: Receiver
) -> None:
    owner = coord.owners.create()
    agent = coord.agents.create(owner.user_id, name="mailer")
    client = coord.client(agent.api_key)
    booking = client.bookings.hold(start="2031-03-05T15:00:00Z", end="2031-03-05T16:00:00Z")
    tagged = f"{agent.agent_id}+{booking.booking_id}@{INBOX}"
    html = MIMEMultipart("alternative")
    html["From"] = f"ada@{FRIEND}"
    html["To"] = tagged
    html["Subject"] = "About our call"
    html.attach(MIMEText("<p>Wednesday <b>10am</b> is better.</p>", "html"))

    _send(receiver.port, html.as_bytes(policy=policy.SMTP), f"ada@{FRIEND}", tagged)

    [got] = client.mailbox.list_messages(booking_id=booking.booking_id)["messages"]
    full = client.mailbox.get_message(got["message_id"])
    assert "Wednesday 10am is better." in full["body_text"]
    assert full["internet_message_id"]  # made up when the sender sent none


def test_behind_an_mta_the_verdicts_come_from_its_authentication_results(
    coord: Coordinator, dns_server: LoopbackDNS
) -> None:
    r = Receiver(coord, _config(dns_server, verdicts="trust-mta", authserv_id="mx.inbox.test"))
    r.start()
    try:
        owner = coord.owners.create()
        agent = coord.agents.create(owner.user_id, name="mailer")
        address = coord.mailbox.address(agent.agent_id)
        msg = _mail(address, Message_ID="<via-mta@friendly.test>")
        msg["Authentication-Results"] = (
            "mx.inbox.test; spf=pass smtp.mailfrom=friendly.test; "
            "dkim=pass header.d=friendly.test; dmarc=pass header.from=friendly.test"
        )
        _send(r.port, msg.as_bytes(policy=policy.SMTP), f"ada@{FRIEND}", address)
    finally:
        r.stop()
    client = coord.client(agent.api_key)
    [got] = client.mailbox.list_messages()["messages"]
    v = client.mailbox.get_message(got["message_id"])["verdicts"]
    assert (v["spf"]["result"], v["dkim"]["result"], v["dmarc"]["result"]) == ("pass",) * 3
    assert not [q for q in dns_server.queries if FRIEND in q[0]]  # nothing looked up


def test_the_receiver_offers_starttls_with_the_operators_certificate(
    coord: Coordinator, dns_server: LoopbackDNS, tmp_path: Path
) -> None:
    files = make_tls_files(tmp_path / "tls")
    config = _config(dns_server, tls_cert_file=str(files.cert), tls_key_file=str(files.key))
    r = Receiver(coord, config).start()
    try:
        owner = coord.owners.create()
        agent = coord.agents.create(owner.user_id, name="mailer")
        address = coord.mailbox.address(agent.agent_id)
        raw = _mail(address, Message_ID="<tls-1@friendly.test>").as_bytes(policy=policy.SMTP)
        with smtplib.SMTP("127.0.0.1", r.port, timeout=10) as s:
            s.starttls(context=ssl.create_default_context(cafile=str(files.ca_cert)))
            assert isinstance(s.sock, ssl.SSLSocket)
            s.sendmail(f"ada@{FRIEND}", [address], raw)
    finally:
        r.stop()
    [got] = coord.client(agent.api_key).mailbox.list_messages()["messages"]
    assert got["internet_message_id"] == "<tls-1@friendly.test>"


def test_with_the_store_down_the_receiver_answers_451_so_the_sender_retries(
    dns_server: LoopbackDNS,
) -> None:
    with RedisServer() as lost:
        coord = Coordinator.from_url(lost.url, mail_domain=INBOX)
        owner = coord.owners.create()
        agent = coord.agents.create(owner.user_id, name="mailer")
        address = coord.mailbox.address(agent.agent_id)
        r = Receiver(coord, _config(dns_server)).start()
        try:
            lost.kill()
            raw = _mail(address).as_bytes(policy=policy.SMTP)
            with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
                _send(r.port, raw, f"ada@{FRIEND}", address)
            assert refused.value.recipients[address][0] == 451  # temporary, not a bounce
        finally:
            r.stop()
            coord.close()
