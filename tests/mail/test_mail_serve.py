"""``coordinator serve`` with ``AGENTDRAFT_MAIL_SERVE=1``: one process answers the SDK,
receives mail over SMTP and delivers the outbox to the smarthost."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage

import agentdraft
import pytest

from coordinator import Coordinator
from tests.server.conftest import start_server
from tests.support.servers import RedisServer, free_port
from tests.support.smtp import CaptureServer


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


def test_an_agent_emails_an_invitee_and_reads_the_answer_through_one_server(
    redis_server: RedisServer,
) -> None:
    smtp_in = free_port()
    with CaptureServer() as smarthost:
        server = start_server(
            redis_server.url,
            env={
                "AGENTDRAFT_MAIL_SERVE": "1",
                "AGENTDRAFT_MAIL_DOMAIN": "inbox.test",
                "AGENTDRAFT_MAIL_LISTEN": f"127.0.0.1:{smtp_in}",
                "AGENTDRAFT_MAIL_SMARTHOST": f"127.0.0.1:{smarthost.port}",
                "AGENTDRAFT_MAIL_SMARTHOST_TLS": "none",
                "AGENTDRAFT_MAIL_VERDICTS": "trust-mta",
                "AGENTDRAFT_MAIL_AUTHSERV_ID": "mx.inbox.test",
            },
        )
        try:
            coord = Coordinator.from_url(redis_server.url)
            owner = coord.owners.create()
            a = coord.agents.create(owner.user_id, name="scheduler")
            sdk = agentdraft.Client(api_key=a.api_key, base_url=server.url)

            # The agent writes to the invitee; the server's dispatcher hands it over
            asked = sdk.mailbox.send(to="ada@example.com", subject="Two times", body_text="?")
            smarthost.wait_for("messages", 1)
            [out] = smarthost.messages
            assert out.message_id == asked["internet_message_id"]
            assert out.mail_from == sdk.mailbox.info()["address"] == f"{a.agent_id}@inbox.test"

            # The invitee answers over SMTP to the server's receiver
            answer = EmailMessage()
            answer["From"] = "ada@example.com"
            answer["To"] = out.mail_from
            answer["Subject"] = "Re: Two times"
            answer["Message-ID"] = "<ada-answer@example.com>"
            answer["In-Reply-To"] = asked["internet_message_id"]
            answer.set_content("The first one works.")
            with smtplib.SMTP("127.0.0.1", smtp_in, timeout=10) as s:
                s.send_message(answer)

            got = sdk.mailbox.list_messages(direction="inbound")["messages"]
            assert [m["thread_id"] for m in got] == [asked["thread_id"]]
            deadline = time.monotonic() + 10
            while sdk.mailbox.get_message(asked["message_id"])["status"] != "sent":
                assert time.monotonic() < deadline
                time.sleep(0.05)  # polling the record the server's dispatcher updates
            reply = sdk.mailbox.reply(got[0]["message_id"], body_text="Booked.")
            smarthost.wait_for("messages", 2)
            second = message_from_bytes(smarthost.messages[1].raw, policy=policy.default)
            assert second["In-Reply-To"] == "<ada-answer@example.com>"
            assert second["Message-ID"] == reply["internet_message_id"]
            coord.close()
        finally:
            server.stop()
