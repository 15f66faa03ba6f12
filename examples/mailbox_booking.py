"""An agent agrees a time with a person by email, over real SMTP, and books it.

Run:  python examples/mailbox_booking.py        (offline, a scripted model, a few seconds)
      python examples/mailbox_booking.py --model openai:gpt-4o-mini

The scheduler agent (a LangChain ``create_agent`` loop with
``get_tools(client, mailbox=True)``) holds two candidate times and emails Ann both.
Everything on the wire is real SMTP on loopback:

* the coordinator's dispatcher delivers the agent's mail, DKIM-signed, to a small
  aiosmtpd server that plays Ann's mail provider;
* Ann answers with ``smtplib`` to the coordinator's SMTP receiver, through her
  provider's MTA, which stamps an ``Authentication-Results`` header the receiver is
  configured to trust (``verdicts="trust-mta"``: no DNS needed offline);
* the receiver threads her reply to the agent's message and its booking.

A second run of the agent, woken by the new mail, reads the reply, commits the time
Ann accepted, releases the other hold and confirms by replying in the thread. Needs
the ``mail`` and ``langchain`` extras.
"""

from __future__ import annotations

import argparse
import re
import smtplib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

from agentdraft_agents import get_tools
from agentdraft_agents.testing.langchain_model import (
    ScriptedChatModel,
    last_tool_message,
    reply,
    tool_call,
)
from coordinator import Coordinator
from coordinator.mail.config import DkimKey, MailConfig, Smarthost
from coordinator.mail.dispatcher import MailDispatcher
from coordinator.mail.dkim_sign import generate_keypair
from coordinator.mail.receiver import Receiver
from coordinator.store.embedded import temporary_embedded

DOMAIN = "agents.example"  # the agents' inbound mail domain
ANN = "ann@invitee.example"
ANN_MTA = "mx.invitee.example"  # the authserv-id the receiver trusts
DAY = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
TIMES = {
    "10:00": (f"{DAY}T10:00:00Z", f"{DAY}T10:30:00Z"),
    "14:00": (f"{DAY}T14:00:00Z", f"{DAY}T14:30:00Z"),
}
SYSTEM = (
    "You schedule meetings for your owner. Hold candidate times, email the person with "
    "agentdraft_send_mail, and when they answer, read the mail, commit the time they "
    "accepted, release the other hold and confirm with agentdraft_reply_mail."
)
FIRST_TASK = (
    f"Ann ({ANN}) wants a 30 minute intro call tomorrow. Hold 10:00 and 14:00 UTC "
    f"({DAY}) for 15 minutes each and email her both times."
)
SECOND_TASK = "New mail arrived in your mailbox. Deal with it."


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- Ann's side: her provider's mail server, and her answer -------------------------------


class AnnsProvider:
    """An aiosmtpd server that accepts mail for Ann (the coordinator's smarthost here)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.arrived = threading.Condition()
        self.controller = Controller(self, hostname="127.0.0.1", port=_free_port())

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.original_content, policy=policy.default)
        with self.arrived:
            self.messages.append(msg)  # type: ignore[arg-type]
            self.arrived.notify_all()
        return "250 2.0.0 Delivered to Ann"

    def wait_for(self, count: int) -> EmailMessage:
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.messages) >= count, timeout=30):
                raise TimeoutError(f"Ann's provider got {len(self.messages)} of {count} messages")
            return self.messages[count - 1]


def anns_answer(invitation: EmailMessage, receiver_port: int) -> None:
    """Ann picks 14:00 and answers from her mail client, through her provider's MTA."""
    answer = EmailMessage()
    answer["From"] = f"Ann <{ANN}>"
    answer["To"] = str(invitation["From"])
    answer["Subject"] = f"Re: {invitation['Subject']}"
    answer["Message-ID"] = f"<answer-{DAY}@invitee.example>"
    answer["In-Reply-To"] = str(invitation["Message-ID"])
    answer["References"] = str(invitation["Message-ID"])
    quoted = "\n".join(f"> {line}" for line in _body(invitation).splitlines())
    answer.set_content(f"Hi! 14:00 works best for me, see you then.\n\nAnn\n\n{quoted}\n")
    # Her provider's MTA checked her own domain's SPF/DKIM/DMARC and says so on top.
    stamped = (
        f"Authentication-Results: {ANN_MTA}; spf=pass smtp.mailfrom={ANN}; "
        "dkim=pass header.d=invitee.example; dmarc=pass header.from=invitee.example\r\n"
    ).encode() + answer.as_bytes(policy=policy.SMTP)
    with smtplib.SMTP("127.0.0.1", receiver_port) as smtp:
        smtp.sendmail(ANN, [str(invitation["From"])], stamped)


def _body(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    return str(part.get_content()).strip() if part is not None else ""


# -- the agent's model ----------------------------------------------------------------------


def _last(messages: list[BaseMessage]) -> str:
    return str(last_tool_message(messages).content)


def first_run_model() -> ScriptedChatModel:
    """Hold both times, then email Ann both, filed under the first hold."""
    held: list[str] = []

    def remember(messages: list[BaseMessage]) -> str:
        held.append(re.findall(r"\bhld_\w+", _last(messages))[0])
        return held[-1]

    def hold_second(messages: list[BaseMessage]) -> AIMessage:
        remember(messages)
        start, end = TIMES["14:00"]
        return tool_call("agentdraft_create_hold", start=start, end=end, ttl_seconds=900)

    def email(messages: list[BaseMessage]) -> AIMessage:
        remember(messages)
        return tool_call(
            "agentdraft_send_mail",
            to=ANN,
            subject="Intro call: two times tomorrow",
            body_text=f"Hi Ann,\n\nwould tomorrow ({DAY}) at 10:00 or at 14:00 UTC suit "
            "you for a 30 minute intro call? Just reply with the time you prefer.\n\n"
            "Best, the scheduling assistant",
            booking_id=held[0],
        )

    start, end = TIMES["10:00"]
    return ScriptedChatModel(
        steps=[
            tool_call("agentdraft_create_hold", start=start, end=end, ttl_seconds=900),
            hold_second,
            email,
            reply("Held 10:00 and 14:00 and asked Ann which she prefers."),
        ]
    )


def second_run_model(holds: dict[str, str]) -> ScriptedChatModel:
    """List new mail, read Ann's answer, book the time she named, release the other."""
    chosen: dict[str, str] = {}

    def read(messages: list[BaseMessage]) -> AIMessage:
        message_id = re.findall(r"\bmsg_\w+", _last(messages))[0]
        chosen["message"] = message_id
        return tool_call("agentdraft_read_mail", message_id=message_id)

    def commit(messages: list[BaseMessage]) -> AIMessage:
        text = _last(messages)
        body = text.split("\n\n", 1)[1] if "\n\n" in text else text
        picked = next((t for t in TIMES if t in body.split(">", 1)[0]), None)
        if picked is None or "WARNING" in text:
            return reply("Ann's answer names no time I offered; I will ask again.")
        chosen["time"] = picked
        start, end = TIMES[picked]
        return tool_call(
            "agentdraft_commit_booking_safe", start=start, end=end, title="Intro call with Ann"
        )

    def release(messages: list[BaseMessage]) -> AIMessage:
        other = next(t for t in TIMES if t != chosen["time"])
        return tool_call("agentdraft_release_hold", hold_id=holds[other])

    def confirm(messages: list[BaseMessage]) -> AIMessage:
        return tool_call(
            "agentdraft_reply_mail",
            message_id=chosen["message"],
            body_text=f"Great, booked: tomorrow ({DAY}) at {chosen['time']} UTC. Talk then!",
        )

    return ScriptedChatModel(
        steps=[
            tool_call("agentdraft_list_mail", direction="inbound"),
            read,
            commit,
            release,
            confirm,
            lambda m: reply(f"Ann accepted {chosen['time']}: booked, and confirmed by email."),
        ]
    )


def model_for(name: str | None, scripted: ScriptedChatModel) -> Any:
    if name is None:
        return scripted
    from langchain.chat_models import init_chat_model

    return init_chat_model(name)


def transcript(who: str, state: dict[str, Any]) -> None:
    print(f"\n== {who}")
    for m in state["messages"]:
        if isinstance(m, AIMessage) and m.tool_calls:
            for c in m.tool_calls:
                args = ", ".join(f"{k}={v!r}" for k, v in c["args"].items())
                print(f"  -> {c['name']}({args})")
        elif isinstance(m, ToolMessage):
            print("  <- " + str(m.content).replace("\n", "\n     "))
        elif isinstance(m, AIMessage):
            print(f"  >> {m.content}")


# -- the run --------------------------------------------------------------------------------


@contextmanager
def mail_setup() -> Iterator[tuple[Any, AnnsProvider, Receiver, MailDispatcher]]:
    """An embedded coordinator with a mail domain, its receiver and dispatcher, and Ann's
    provider as the smarthost; all stopped afterwards."""
    key = generate_keypair("ed25519")
    provider = AnnsProvider()
    with temporary_embedded("agentdraft-mail-example-") as folder:
        with Coordinator.embedded(folder, mail_domain=DOMAIN) as coord:
            owner = coord.owners.create(timezone="UTC")
            agent = coord.agents.create(owner.user_id, name="scheduler", priority=1)
            config = MailConfig(
                domain=DOMAIN,
                listen_port=_free_port(),
                verdicts="trust-mta",
                authserv_id=ANN_MTA,
            )
            receiver = Receiver(coord, config).start()
            provider.controller.start()
            dispatcher = MailDispatcher(
                coord,
                Smarthost(host="127.0.0.1", port=provider.controller.port, tls="none"),
                dkim=DkimKey(DOMAIN, "mail2026", key.private_key_pem),
            )
            try:
                yield coord.client(agent.api_key), provider, receiver, dispatcher
            finally:
                provider.controller.stop()
                receiver.stop()


def main(model: str | None) -> None:
    with mail_setup() as (client, provider, receiver, dispatcher):
        address = client.mailbox.info()["address"]
        print(f"The scheduler's address: {address}; receiver on 127.0.0.1:{receiver.port}")

        first = create_agent(
            model_for(model, first_run_model()),
            get_tools(client, mailbox=True),
            system_prompt=SYSTEM,
        ).invoke({"messages": [("user", FIRST_TASK)]})
        transcript("scheduler, first run", first)

        dispatcher.run_once()  # deliver the outbox to Ann's provider
        invitation = provider.wait_for(1)
        signed = "DKIM-Signature" in invitation
        print(f"\n== Ann's inbox: from {invitation['From']}, DKIM-signed: {signed}")
        print(f"  Subject: {invitation['Subject']}\n  " + _body(invitation).replace("\n", "\n  "))

        anns_answer(invitation, receiver.port)
        print("\n== Ann answered over SMTP; the receiver stored and threaded it.")

        # The agent's notes from its first run: which hold is which time.
        holds = {
            time: hold
            for m in first["messages"]
            if isinstance(m, ToolMessage)
            for time, hold in re.findall(
                r"T(\d\d:\d\d):00\+00:00 to .* as (hld_\w+)", str(m.content)
            )
        }
        task = f"{SECOND_TASK} Your holds: " + ", ".join(f"{t} UTC = {h}" for t, h in holds.items())
        second = create_agent(
            model_for(model, second_run_model(holds)),
            get_tools(client, mailbox=True),
            system_prompt=SYSTEM,
        ).invoke({"messages": [("user", task)]})
        transcript("scheduler, woken by Ann's answer", second)

        dispatcher.run_once()
        confirmation = provider.wait_for(2)
        thread = confirmation["In-Reply-To"]
        print(f"\n== Ann's inbox: {confirmation['Subject']} (In-Reply-To {thread})")
        print("  " + _body(confirmation).replace("\n", "\n  "))

        print("\nCalendar:")
        for b in client.bookings.list(start=f"{DAY}T00:00:00Z", end=f"{DAY}T23:59:00Z").bookings:
            print(f"  {b.start:%H:%M}-{b.end:%H:%M} UTC  {b.status:<9} {b.booking_id}")
        print("\nMailbox (newest first):")
        for m in client.mailbox.list_messages()["messages"]:
            print(
                f"  {m['direction']:<8} {m['status'] or '':<9} booking={m['booking_id']}  "
                f"{m['subject']}"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        help="a real model for init_chat_model, e.g. openai:gpt-4o-mini (needs the provider's key)",
    )
    main(parser.parse_args().model)
