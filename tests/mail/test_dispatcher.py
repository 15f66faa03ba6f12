"""The mail dispatcher against a real SMTP server (aiosmtpd capturing on loopback):
DKIM-signed delivery verified over a loopback DNS server, permanent and temporary
refusals, and a dispatcher SIGKILLed mid-delivery that loses and duplicates nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from coordinator import Coordinator
from coordinator.mail.config import DkimKey, Smarthost
from coordinator.mail.dispatcher import MailDispatcher
from coordinator.mail.verdicts import check_dkim
from coordinator.outbox import RetryPolicy
from tests.mail.conftest import SendingDomain
from tests.support.dns_server import LoopbackDNS
from tests.support.servers import RedisServer, make_tls_files
from tests.support.smtp import CaptureServer

#: Retries are due at once (no wait at all, so a second pass within the same
#: millisecond still finds them).
FAST = RetryPolicy(visibility_ms=0, backoff_base_ms=0, backoff_cap_ms=0, max_attempts=3)


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    """Its own Redis: a dispatcher visits every owner's outbox."""
    with RedisServer() as server:
        yield server


@pytest.fixture
def coord(redis_server: RedisServer) -> Iterator[Coordinator]:
    redis_server.client().flushall()
    c = Coordinator.from_url(redis_server.url, mail_domain="agents.test")
    yield c
    c.close()


@pytest.fixture
def smtp() -> Iterator[CaptureServer]:
    with CaptureServer() as server:
        yield server


def _dkim(domain: SendingDomain) -> DkimKey:
    return DkimKey(domain.domain, domain.selector, domain.key.private_key_pem)


def _status(coord: Coordinator, user_id: str, message_id: str) -> str:
    rec = coord.mailbox.record(user_id, message_id)
    assert rec is not None
    return str(rec["status"])


def test_queued_mail_reaches_the_smarthost_dkim_signed_once(
    coord: Coordinator,
    smtp: CaptureServer,
    sending_domain: SendingDomain,
    dns_server: LoopbackDNS,
) -> None:
    owner = coord.owners.create()
    agent = coord.agents.create(owner.user_id, name="mailer")
    client = coord.client(agent.api_key)
    first = client.mailbox.send(to="ada@example.com", subject="Tuesday?", body_text="3pm? ünïcode")
    second = client.mailbox.send(
        to="bob@example.com",
        subject="Re: hi",
        body_text="yes",
        in_reply_to="<x1@example.com>",
        reply_to="desk@agents.test",
    )
    d = MailDispatcher(
        coord, Smarthost("127.0.0.1", smtp.port, tls="none"), dkim=_dkim(sending_domain)
    )

    assert d.run_once() == 2
    assert d.run_once() == 0  # nothing left: no second copy
    assert len(smtp.messages) == 2
    by_id = {m.message_id: m for m in smtp.messages}
    got = by_id[first["internet_message_id"]]
    assert got.mail_from == f"{agent.agent_id}@agents.test"
    assert got.rcpt_tos == ["ada@example.com"]
    msg = message_from_bytes(got.raw, policy=policy.default)
    assert msg["From"] == f"{agent.agent_id}@agents.test" and msg["Subject"] == "Tuesday?"
    assert msg.get_content().strip() == "3pm? ünïcode"
    reply = message_from_bytes(by_id[second["internet_message_id"]].raw, policy=policy.default)
    assert reply["In-Reply-To"] == "<x1@example.com>"
    assert reply["Reply-To"] == "desk@agents.test"
    # The signature verifies with dkimpy against the published key, over real DNS
    for m in smtp.messages:
        verdict, domains = check_dkim(m.raw, resolver=dns_server.resolver())
        assert (verdict.result, domains) == ("pass", ("agents.test",))
    assert _status(coord, owner.user_id, first["message_id"]) == "sent"
    assert client.mailbox.get_message(first["message_id"])["sent_at"]
    assert coord.redis.xlen(coord.store.keys.mail_outbox(owner.user_id)) == 0
    types = [e.type for e in coord.audit.range(owner.user_id)]
    assert types.count("mail.sent") == 2
    assert coord.audit.verify(owner.user_id).ok


def test_a_5xx_fails_the_message_and_a_4xx_is_retried_until_it_passes(
    coord: Coordinator, smtp: CaptureServer
) -> None:
    owner = coord.owners.create()
    client = coord.client(coord.agents.create(owner.user_id, name="mailer").api_key)
    gone = client.mailbox.send(to="gone@example.com", subject="s", body_text="b")
    later = client.mailbox.send(to="later@example.com", subject="s", body_text="b")
    smtp.refuse = {
        "gone@example.com": "550 5.1.1 no such user",
        "later@example.com": "451 4.3.0 try later",
    }
    d = MailDispatcher(coord, Smarthost("127.0.0.1", smtp.port, tls="none"), policy=FAST)

    assert d.run_once() == 1  # the 550 settles as failed; the 451 waits
    assert _status(coord, owner.user_id, gone["message_id"]) == "failed"
    assert _status(coord, owner.user_id, later["message_id"]) == "queued"
    smtp.refuse = {}
    assert d.run_once() == 1
    assert _status(coord, owner.user_id, later["message_id"]) == "sent"
    assert [m.rcpt_tos for m in smtp.messages] == [["later@example.com"]]
    failed = [e for e in coord.audit.range(owner.user_id) if e.type == "mail.failed"]
    assert len(failed) == 1 and "550" in failed[0].fields["reply"]


def _dispatcher_process(redis_url: str, smtp_port: int, key_file: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "AGENTDRAFT_MAIL_DOMAIN": "agents.test",
        "AGENTDRAFT_MAIL_SMARTHOST_TLS": "none",
        "AGENTDRAFT_MAIL_DKIM_KEY_FILE": str(key_file),
        "AGENTDRAFT_MAIL_DKIM_SELECTOR": "mail2026",
        "AGENTDRAFT_MAIL_VISIBILITY_MS": "300",
        "AGENTDRAFT_MAIL_BACKOFF_MS": "50",
    }
    cmd = [sys.executable, "-m", "coordinator", "mail", "serve", "--no-receive",
           "--redis-url", redis_url, "--smarthost", f"127.0.0.1:{smtp_port}"]  # fmt: skip
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_until(condition: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        time.sleep(0.02)  # polling Redis for a state another process writes


def test_a_dispatcher_sigkilled_mid_delivery_loses_nothing_and_duplicates_nothing(
    coord: Coordinator,
    redis_server: RedisServer,
    smtp: CaptureServer,
    sending_domain: SendingDomain,
    dns_server: LoopbackDNS,
    tmp_path: Path,
) -> None:
    key_file = tmp_path / "dkim.pem"
    key_file.write_bytes(sending_domain.key.private_key_pem)
    owner = coord.owners.create()
    client = coord.client(coord.agents.create(owner.user_id, name="mailer").api_key)
    queued = [
        client.mailbox.send(to=f"p{i}@example.com", subject=f"m{i}", body_text="b")
        for i in range(6)
    ]
    ids = [m["message_id"] for m in queued]

    # Given a dispatcher that delivered three messages and is inside the fourth's DATA
    smtp.hold(after=3)
    first = _dispatcher_process(redis_server.url, smtp.port, key_file)
    try:
        smtp.wait_for("in_data", 4)
        _wait_until(lambda: sum(_status(coord, owner.user_id, i) == "sent" for i in ids) == 3)
        # When it is killed without warning
        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=10) == -signal.SIGKILL
    finally:
        first.kill()
    assert len(smtp.messages) == 3
    # Then a new dispatcher delivers the rest, and the three never go out again
    smtp.release()
    second = _dispatcher_process(redis_server.url, smtp.port, key_file)
    try:
        _wait_until(lambda: all(_status(coord, owner.user_id, i) == "sent" for i in ids))
        smtp.wait_for("messages", 6)
    finally:
        second.terminate()
        second.wait(timeout=15)
    sent_ids = sorted(m.message_id for m in smtp.messages)
    assert sent_ids == sorted(m["internet_message_id"] for m in queued)  # each exactly once
    assert all(check_dkim(m.raw, resolver=dns_server.resolver())[0].result == "pass"
               for m in smtp.messages)  # fmt: skip
    assert coord.redis.xpending(coord.store.keys.mail_outbox(owner.user_id), "mail")["pending"] == 0
    assert [e.type for e in coord.audit.range(owner.user_id)].count("mail.sent") == 6
    assert coord.audit.verify(owner.user_id).ok


def test_delivery_over_starttls_with_auth_and_over_implicit_tls(
    coord: Coordinator, tmp_path: Path
) -> None:
    files = make_tls_files(tmp_path / "tls")
    ca = str(files.ca_cert)
    owner = coord.owners.create()
    client = coord.client(coord.agents.create(owner.user_id, name="mailer").api_key)
    first = client.mailbox.send(to="ada@example.com", subject="one", body_text="b")

    with CaptureServer(tls=files, login=("agents", "s3cret")) as smtp:
        # A wrong password defers the message; it is not lost (smtplib then tries the
        # next mechanism, which this server leaves waiting: hence the short timeout)
        bad = Smarthost(
            "127.0.0.1", smtp.port, "starttls", "agents", "nope", ca_file=ca, timeout=2.0
        )
        assert MailDispatcher(coord, bad, policy=FAST).run_once() == 0
        assert _status(coord, owner.user_id, first["message_id"]) == "queued"
        good = Smarthost("127.0.0.1", smtp.port, "starttls", "agents", "s3cret", ca_file=ca)
        assert MailDispatcher(coord, good, policy=FAST).run_once() == 1
        assert smtp.logins == ["agents"]
        assert [m.message_id for m in smtp.messages] == [first["internet_message_id"]]

    second = client.mailbox.send(to="ada@example.com", subject="two", body_text="b")
    with CaptureServer(tls=files, implicit=True) as smtp:
        # A smarthost whose certificate this host does not trust gets nothing
        untrusted = Smarthost("127.0.0.1", smtp.port, "implicit")
        assert MailDispatcher(coord, untrusted, policy=FAST).run_once() == 0
        assert smtp.messages == []
        trusted = Smarthost("127.0.0.1", smtp.port, "implicit", ca_file=ca)
        assert MailDispatcher(coord, trusted, policy=FAST).run_once() == 1
        assert [m.message_id for m in smtp.messages] == [second["internet_message_id"]]
    assert _status(coord, owner.user_id, second["message_id"]) == "sent"
