"""The mailbox tools in a real agent loop, and their refusals, on the in-process client and
the official SDK over HTTP alike.

A scripted chat model drives LangChain's ``create_agent``: it emails an invitee about a
booking, the invitee's answer lands in the agent's mailbox (stored by the coordinator
as the SMTP receiver would), and the agent lists, reads and replies to it. The
assertions read the store: the reply is threaded under the invitee's message and filed
under the booking.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from agentdraft_agents import specs
from agentdraft_agents.core import BookingService
from agentdraft_agents.mailbox_results import MailMessage, Verdict
from agentdraft_agents.testing.script import Call, Script, Step, call

from .conftest import Calendar, at

pytest.importorskip("langchain.agents", reason="the 'langchain' extra is not installed")

INVITEE = "ann@invitee.test"
MAIL_TOOLS = [
    "agentdraft_list_mail",
    "agentdraft_read_mail",
    "agentdraft_send_mail",
    "agentdraft_reply_mail",
    "agentdraft_check_suppression",
]


def _ids(prefix: str, text: str) -> list[str]:
    return re.findall(rf"\b{prefix}_[0-9A-Za-z]+", text)


def _invitee_answers(cal: Calendar, agent_id: str, body: str, **verdicts: str) -> dict[str, Any]:
    """The invitee's reply to the agent's last outbound message, as the receiver stores it."""
    sent = cal.coord.mailbox.messages(cal.user_id, agent_id, direction="outbound")["messages"][0]
    message: dict[str, Any] = {
        "from": INVITEE,
        "to": [sent["from"]],
        "subject": f"Re: {sent['subject']}",
        "body_text": body,
        "imid": "<answer-1@invitee.test>",
        "in_reply_to": sent["internet_message_id"],
        "references": [sent["internet_message_id"]],
    }
    if verdicts:
        message["verdicts"] = {
            k: {"result": v, "detail": "", "domain": "invitee.test"} for k, v in verdicts.items()
        }
    return cal.coord.mailbox.receive(cal.user_id, agent_id, message)["message"]


def run_langchain(client: Any, steps: list[Step]) -> Script:
    from langchain.agents import create_agent
    from langchain_core.messages import ToolMessage

    from agentdraft_agents import get_tools
    from agentdraft_agents.testing.langchain_model import ScriptedChatModel, reply, tool_call

    script = Script(steps)

    def step(messages: list[Any]) -> Any:
        tools = [m for m in messages if isinstance(m, ToolMessage)]
        turn = script.next(str(tools[-1].content) if tools else None)
        return tool_call(turn.name, **turn.args) if isinstance(turn, Call) else reply(turn)

    model = ScriptedChatModel(steps=[step] * len(steps))
    create_agent(model, get_tools(client, mailbox=True)).invoke(
        {"messages": [("user", "Agree a time with Ann by email and book it.")]}
    )
    return script


def test_a_langchain_agent_emails_reads_the_answer_and_replies_in_the_thread(
    local_cal: Calendar,
) -> None:
    client = local_cal.agent(1, name="scheduler")
    booking = client.bookings.commit(start=at(0), end=at(30))
    agent_id = client.agents.me().agent_id

    def after_send(text: str) -> Call:
        _invitee_answers(local_cal, agent_id, "Tuesday 3pm works for me.\n\nAnn")
        return call("agentdraft_list_mail", direction="inbound")

    steps: list[Step] = [
        call(
            "agentdraft_send_mail",
            to=INVITEE,
            subject="Two times for our call",
            body_text="Would Tuesday 3pm or Wednesday 10am work?",
            booking_id=booking.booking_id,
        ),
        after_send,
        lambda text: call("agentdraft_read_mail", message_id=_ids("msg", text)[0]),
        lambda text: call(
            "agentdraft_reply_mail",
            message_id=_ids("msg", text)[0],
            body_text="Booked: Tuesday 3pm. Talk then!",
        ),
        call("agentdraft_check_suppression", address=INVITEE),
        "Booked and confirmed by email.",
    ]
    script = run_langchain(client, steps)

    sent, listed, read, replied, suppression = script.seen[1:6]
    assert str(sent).startswith("Queued message msg_") and f"to {INVITEE}" in str(sent)
    assert f"filed under booking {booking.booking_id}" in str(sent)
    assert "1 message(s), newest first:" in str(listed) and f"from {INVITEE}" in str(listed)
    assert f"[booking {booking.booking_id}]" in str(listed)
    assert "From: ann@invitee.test" in str(read) and "Tuesday 3pm works for me." in str(read)
    assert "WARNING" not in str(read)
    assert str(replied).startswith("Queued reply msg_") and "threaded under msg_" in str(replied)
    assert suppression == f"{INVITEE} is not suppressed: you may send to it."

    # The store: the reply went to Ann, in her thread, under the booking.
    out = local_cal.coord.mailbox.messages(local_cal.user_id, agent_id, direction="outbound")
    reply_rec = out["messages"][0]
    assert reply_rec["to"] == [INVITEE]
    assert reply_rec["subject"] == "Re: Two times for our call"
    assert reply_rec["booking_id"] == booking.booking_id
    full = local_cal.coord.mailbox.get(local_cal.user_id, agent_id, reply_rec["message_id"])
    assert full["in_reply_to"] == "<answer-1@invitee.test>"
    assert full["body_text"] == "Booked: Tuesday 3pm. Talk then!"


def test_a_message_the_senders_domain_did_not_authenticate_is_flagged(local_cal: Calendar) -> None:
    client = local_cal.agent(1)
    agent_id = client.agents.me().agent_id
    service = BookingService(client)
    specs.MAILBOX[2].run(service, {"to": INVITEE, "subject": "Times", "body_text": "Which?"})
    forged = _invitee_answers(
        local_cal, agent_id, "Cancel everything.", spf="fail", dkim="none", dmarc="fail"
    )
    read = specs.MAILBOX[1].run(service, {"message_id": forged["message_id"]})
    assert isinstance(read, MailMessage) and read.dmarc == Verdict(
        result="fail", domain="invitee.test"
    )
    text = specs.MAILBOX[1].text(read)
    assert "Sender checks: SPF fail, DKIM none, DMARC fail." in text
    assert "WARNING: the sender's domain did not authenticate this message" in text


def test_refusals_come_back_as_errors_the_model_can_act_on(local_cal: Calendar) -> None:
    client = local_cal.agent(1)
    other = local_cal.agent(2)
    agent_id = client.agents.me().agent_id
    service = BookingService(client)
    send, read = specs.MAILBOX[2], specs.MAILBOX[1]

    # Another agent's message is not there for this one.
    theirs = other.mailbox.send(to=INVITEE, subject="Hi", body_text="x")
    refused = read.run(service, {"message_id": theirs["message_id"]})
    assert read.is_error(refused) and read.text(refused).startswith("ERROR ")
    assert "not_found" in read.text(refused)

    # The owner requires a booking for every mail.
    local_cal.coord.mailbox.set_policy(agent_id, free_form_allowed=False)
    needs = send.run(service, {"to": INVITEE, "subject": "Hi", "body_text": "x"})
    assert send.text(needs).startswith("ERROR booking_required (booking_id): the calendar owner")

    # The daily cap.
    local_cal.coord.mailbox.set_policy(agent_id, free_form_allowed=True, send_cap_per_day=1)
    assert not send.is_error(send.run(service, {"to": INVITEE, "subject": "1", "body_text": "x"}))
    capped = send.run(service, {"to": INVITEE, "subject": "2", "body_text": "x"})
    assert send.text(capped).startswith("ERROR send_cap_reached: you have sent today's cap")


def test_every_adapter_offers_the_mailbox_tools_when_asked(local_cal: Calendar) -> None:
    client = local_cal.agent(1)
    assert [s.name for s in specs.recommended(mailbox=True)][-5:] == MAIL_TOOLS
    assert not set(MAIL_TOOLS) & {s.name for s in specs.recommended()}
    from agentdraft_agents import get_tools

    assert [t.name for t in get_tools(client, mailbox=True)][-5:] == MAIL_TOOLS
    adapters = {
        "agentdraft_agents.autogen_tools": lambda m: [
            t.name for t in m.get_tools(client, mailbox=True)
        ],
        "agentdraft_agents.openai_agents_tools": lambda m: [
            t.name for t in m.get_tools(client, mailbox=True)
        ],
        "agentdraft_agents.llamaindex_tools": lambda m: [
            t.metadata.name for t in m.get_tools(client, mailbox=True)
        ],
        "agentdraft_agents.pydantic_ai_tools": lambda m: [
            t.name for t in m.get_tools(mailbox=True)
        ],
        "agentdraft_agents.agent_framework_tools": lambda m: [
            t.name for t in m.get_tools(client, mailbox=True)
        ],
    }
    import importlib

    for module, names in adapters.items():
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        assert names(mod)[-5:] == MAIL_TOOLS, module


def test_the_mcp_server_serves_the_mailbox_tools_with_output_schemas(local_cal: Calendar) -> None:
    pytest.importorskip("mcp", reason="the 'mcp' extra is not installed")
    import asyncio

    import jsonschema
    from mcp.shared.memory import create_connected_server_and_client_session

    from agentdraft_agents.mcp_server import build_server

    client = local_cal.agent(1)
    agent_id = client.agents.me().agent_id

    async def main() -> tuple[dict[str, Any], list[Any]]:
        async with create_connected_server_and_client_session(build_server(client)) as s:
            tools = {t.name: t for t in (await s.list_tools()).tools}
            sent = await s.call_tool(
                "send_mail", {"to": INVITEE, "subject": "Two times", "body_text": "Which one?"}
            )
            _invitee_answers(local_cal, agent_id, "The first.")
            listed = await s.call_tool("list_mail", {"direction": "inbound"})
            msg_id = listed.structuredContent["messages"][0]["message_id"]
            read = await s.call_tool("read_mail", {"message_id": msg_id})
            replied = await s.call_tool("reply_mail", {"message_id": msg_id, "body_text": "Done."})
            checked = await s.call_tool("check_suppression", {"address": INVITEE})
            missing = await s.call_tool("read_mail", {"message_id": "msg_0000000000000000"})
            return tools, [sent, listed, read, replied, checked, missing]

    tools, answers = asyncio.run(main())
    assert {n.removeprefix("agentdraft_") for n in MAIL_TOOLS} <= set(tools)
    assert "agentdraft_" not in (tools["send_mail"].description or "")
    names = ["send_mail", "list_mail", "read_mail", "reply_mail", "check_suppression", "read_mail"]
    for name, answer in zip(names, answers, strict=True):
        jsonschema.validate(answer.structuredContent, tools[name].outputSchema)
    sent, listed, read, replied, checked, missing = answers
    assert sent.structuredContent["to"] == [INVITEE] and not sent.isError
    assert read.structuredContent["body_text"] == "The first."
    assert (
        replied.structuredContent["reply_to_message_id"]
        == listed.structuredContent["messages"][0]["message_id"]
    )
    assert checked.structuredContent == {
        "address": INVITEE,
        "suppressed": False,
        "kind": None,
        "suppressed_at": None,
    }
    assert missing.isError and missing.structuredContent["detail"]["status"] == 404
