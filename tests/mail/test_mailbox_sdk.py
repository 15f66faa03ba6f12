"""The official SDK's ``client.mailbox`` end to end against a ``coordinator serve`` process.

Inbound mail is stored with ``coord.mailbox.receive`` here (the SMTP receiver has its
own tests in test_receiver.py); everything the agent does goes over real HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import agentdraft
import httpx
import pytest
from agentdraft.errors import AgentDraftError, AuthError, RateLimited, RuleViolation

from coordinator import Coordinator
from tests.server.conftest import HttpServer, start_server
from tests.support.servers import RedisServer

DOMAIN = "agents.test"


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="module")
def server(redis_server: RedisServer) -> Iterator[HttpServer]:
    s = start_server(redis_server.url, env={"AGENTDRAFT_MAIL_DOMAIN": DOMAIN})
    yield s
    s.stop()


@pytest.fixture
def coord(redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Coordinator]:
    monkeypatch.setenv("AGENTDRAFT_MAIL_DOMAIN", DOMAIN)
    c = Coordinator.from_url(redis_server.url)
    yield c
    c.close()


def _inbound(to: str, *, imid: str, in_reply_to: str | None = None, **extra: object) -> dict:
    msg = {
        "imid": imid,
        "from": "ada@example.com",
        "from_header": "Ada <ada@example.com>",
        "to": [to],
        "subject": "Re: Tuesday?",
        "body_text": "Tuesday 3pm works for me.",
        "in_reply_to": in_reply_to,
        "references": [in_reply_to] if in_reply_to else [],
        "verdicts": {"spf": {"result": "pass"}, "dkim": {"result": "pass"}},
        "attachments": [],
    }
    msg.update(extra)
    return msg


def _agent(coord: Coordinator, server: HttpServer, user_id: str, **kw: object):
    a = coord.agents.create(user_id, name="mailer", **kw)  # type: ignore[arg-type]
    return a, agentdraft.Client(api_key=a.api_key, base_url=server.url)


def test_an_agent_sends_lists_reads_and_replies_through_the_official_sdk(
    coord: Coordinator, server: HttpServer
) -> None:
    owner = coord.owners.create()
    a, sdk = _agent(coord, server, owner.user_id)
    # Given a booking to talk about
    start = datetime(2031, 3, 4, 15, tzinfo=UTC)
    booking = coord.client(a.api_key).bookings.commit(start=start, end=start + timedelta(hours=1))

    info = sdk.mailbox.info()
    assert info["address"] == f"{a.agent_id}@{DOMAIN}"
    assert info["free_form_allowed"] is True
    assert sdk.mailbox.quota() == {**info["quota"], "used_today": 0}

    # When the agent proposes a time about the booking
    sent = sdk.mailbox.send(
        to="Ada <ada@example.com>",
        subject="Tuesday?",
        body_text="Does Tuesday 3pm suit you?",
        booking_id=booking.booking_id,
    )
    assert sent["status"] == "queued" and sent["from"] == info["address"]
    assert sent["internet_message_id"].endswith(f"@{DOMAIN}>")
    assert sent["quota"]["used_today"] == 1

    # And the invitee answers it
    got = coord.mailbox.receive(
        owner.user_id,
        a.agent_id,
        _inbound(info["address"], imid="<r1@example.com>", in_reply_to=sent["internet_message_id"]),
    )["message"]
    # Then the answer threads to the booking the agent wrote about
    assert got["booking_id"] == booking.booking_id
    assert got["thread_id"] == sent["thread_id"]

    page = sdk.mailbox.list_messages(limit=1)
    assert [m["message_id"] for m in page["messages"]] == [got["message_id"]]
    assert "body_text" not in page["messages"][0] and page["messages"][0]["snippet"]
    rest = sdk.mailbox.list_messages(limit=5, cursor=page["next_cursor"])
    assert [m["message_id"] for m in rest["messages"]] == [sent["message_id"]]
    assert rest["next_cursor"] is None
    only_out = sdk.mailbox.list_messages(direction="outbound")
    assert [m["message_id"] for m in only_out["messages"]] == [sent["message_id"]]
    by_booking = sdk.mailbox.list_messages(booking_id=booking.booking_id)
    assert len(by_booking["messages"]) == 2
    later = sdk.mailbox.list_messages(since=datetime.now(UTC) + timedelta(hours=1))
    assert later["messages"] == []

    full = sdk.mailbox.get_message(got["message_id"])
    assert full["body_text"] == "Tuesday 3pm works for me."
    assert full["verdicts"]["spf"]["result"] == "pass"

    # The reply derives recipient, threading headers, booking and subject
    r = sdk.mailbox.reply(got["message_id"], body_text="Booked, see you then.")
    assert r["to"] == ["ada@example.com"]
    assert r["subject"] == "Re: Tuesday?"
    assert r["in_reply_to"] == "<r1@example.com>"
    assert r["references"] == [sent["internet_message_id"], "<r1@example.com>"]
    assert r["booking_id"] == booking.booking_id and r["thread_id"] == sent["thread_id"]
    assert coord.audit.verify(owner.user_id).ok
    types = [e.type for e in coord.audit.for_booking(owner.user_id, booking.booking_id)]
    assert types.count("mail.queued") == 2 and "mail.received" in types


def test_mailbox_scopes_are_enforced_and_another_agents_message_is_404(
    coord: Coordinator, server: HttpServer
) -> None:
    owner = coord.owners.create()
    _, sdk = _agent(coord, server, owner.user_id)
    _, reader = _agent(coord, server, owner.user_id, scopes=["mailbox:read"])
    _, none = _agent(coord, server, owner.user_id, scopes=["bookings:read"])
    mine = sdk.mailbox.send(to="ada@example.com", subject="s", body_text="b")

    with pytest.raises(AuthError) as no_read:
        none.mailbox.info()
    assert no_read.value.status == 403 and no_read.value.body["required_scope"] == "mailbox:read"
    with pytest.raises(AuthError) as no_write:
        reader.mailbox.send(to="ada@example.com", subject="s", body_text="b")
    assert no_write.value.body["required_scope"] == "mailbox:write"
    with pytest.raises(AuthError):
        reader.mailbox.reply(mine["message_id"], body_text="x")
    # The reader may read its own mailbox, but not another agent's message
    assert reader.mailbox.list_messages()["messages"] == []
    with pytest.raises(AgentDraftError) as other:
        reader.mailbox.get_message(mine["message_id"])
    assert other.value.status == 404 and other.value.body["error"] == "message_not_found"
    _, writer = _agent(coord, server, owner.user_id)
    with pytest.raises(AgentDraftError) as other_reply:
        writer.mailbox.reply(mine["message_id"], body_text="x")
    assert other_reply.value.status == 404
    with pytest.raises(AuthError) as bad_key:
        agentdraft.Client(api_key="avs_live_nope", base_url=server.url).mailbox.info()
    assert bad_key.value.status == 401


def test_policy_suppression_and_cap_refuse_a_send_with_402_422_and_429(
    coord: Coordinator, server: HttpServer
) -> None:
    owner = coord.owners.create()
    a, sdk = _agent(coord, server, owner.user_id)
    addr = sdk.mailbox.info()["address"]

    # A hard bounce addressed to the agent suppresses the recipient
    coord.mailbox.receive(
        owner.user_id,
        a.agent_id,
        _inbound(addr, imid="<dsn1@mx.example.com>", subject="Undelivered"),
        suppress=[{"address": "gone@example.com", "kind": "hard_bounce", "diagnostic": "5.1.1"}],
    )
    check = sdk.mailbox.check_suppression("Gone@Example.com")
    assert check["suppressed"] is True and check["kind"] == "hard_bounce"
    assert "diagnostic" not in check and check["suppressed_at"]
    assert sdk.mailbox.check_suppression("ada@example.com")["suppressed"] is False
    with pytest.raises(RuleViolation) as suppressed:
        sdk.mailbox.send(to="gone@example.com", subject="s", body_text="b")
    assert suppressed.value.status == 422
    assert suppressed.value.body["error"] == "recipient_suppressed"

    # Booking required: 402
    coord.mailbox.set_policy(a.agent_id, free_form_allowed=False, send_cap_per_day=1)
    assert sdk.mailbox.info()["free_form_allowed"] is False
    with pytest.raises(AgentDraftError) as required:
        sdk.mailbox.send(to="ada@example.com", subject="s", body_text="b")
    assert required.value.status == 402 and required.value.body["error"] == "booking_required"

    # The cap: the first send passes, the second is 429 with Retry-After
    coord.mailbox.set_policy(a.agent_id, free_form_allowed=True)
    sdk.mailbox.send(to="ada@example.com", subject="s", body_text="b")
    with pytest.raises(RateLimited) as capped:
        sdk.mailbox.send(to="ada@example.com", subject="s", body_text="b")
    assert capped.value.body["error"] == "send_cap_reached"
    assert 1 <= (capped.value.retry_after or 0) <= 86_400
    assert sdk.mailbox.quota() == {**sdk.mailbox.quota(), "cap": 1, "used_today": 1, "remaining": 0}

    # The owner takes the address off the list; the refusals wrote nothing
    coord.mailbox.unsuppress(owner.user_id, "gone@example.com")
    assert sdk.mailbox.check_suppression("gone@example.com")["suppressed"] is False
    outbound = sdk.mailbox.list_messages(direction="outbound")["messages"]
    assert len(outbound) == 1
    types = [e.type for e in coord.audit.range(owner.user_id) if e.type.startswith("mail.")]
    assert types == [
        "mail.received",
        "mail.suppressed",
        "mail.policy",
        "mail.policy",
        "mail.queued",
        "mail.unsuppressed",
    ]


def test_bad_mailbox_input_is_a_422_naming_the_field(
    coord: Coordinator, server: HttpServer
) -> None:
    owner = coord.owners.create()
    a, sdk = _agent(coord, server, owner.user_id)
    headers = {"Authorization": f"Bearer {a.api_key}"}
    ok = {"to": "a@example.com", "subject": "s", "body_text": "b"}
    cases = [
        ({"to": "not-an-address"}, "to"),
        ({"subject": "s\nBcc: x@y.z"}, "subject"),
        ({"booking_id": "x"}, "booking_id"),
        ({"booking_id": "bkg_00"}, "booking_id"),  # well-formed, but no such booking
        ({"in_reply_to": "<a b>"}, "in_reply_to"),
        ({"reply_to": "two@a.b, three@c.d"}, "reply_to"),
    ]
    for change, field in cases:
        body = {**ok, **change}
        r = httpx.post(f"{server.url}/v1/mailbox/send", json=body, headers=headers)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["field"] == field, r.text
    r = httpx.get(f"{server.url}/v1/mailbox/messages", params={"cursor": "junk"}, headers=headers)
    assert r.status_code == 422 and r.json()["field"] == "cursor"
    assert sdk.mailbox.list_messages()["messages"] == []
    assert sdk.mailbox.quota()["used_today"] == 0


def _owner_session(server: HttpServer, email: str) -> httpx.Client:
    web = httpx.Client(base_url=server.url)
    token = web.post("/v1/auth/magic-link", json={"email": email}).json()["dev_token"]
    assert web.post("/v1/auth/verify", json={"token": token}).status_code == 200
    return web


def test_the_owner_sees_an_agents_mailbox_sets_its_policy_and_lifts_suppressions(
    coord: Coordinator, server: HttpServer
) -> None:
    web = _owner_session(server, "mail-owner@example.com")
    made = web.post("/v1/dashboard/agents", json={"name": "mailer"}).json()
    agent_id, key = made["agent_id"], made["plaintext_key"]
    sdk = agentdraft.Client(api_key=key, base_url=server.url)
    sent = sdk.mailbox.send(to="ada@example.com", subject="Hi", body_text="Hello")

    view = web.get("/v1/dashboard/mailbox", params={"agent_id": agent_id})
    assert view.status_code == 200, view.text
    assert view.json()["mailbox"]["quota"]["used_today"] == 1
    assert [m["message_id"] for m in view.json()["page"]["messages"]] == [sent["message_id"]]
    one = web.get(f"/v1/dashboard/mailbox/messages/{sent['message_id']}")
    assert one.json()["body_text"] == "Hello"

    r = web.put(
        f"/v1/dashboard/mailbox/agents/{agent_id}/policy",
        json={"send_cap_per_day": 1, "free_form_allowed": False},
    )
    assert r.status_code == 200 and r.json()["quota"]["remaining"] == 0
    assert sdk.mailbox.info()["free_form_allowed"] is False
    r = web.put(f"/v1/dashboard/mailbox/agents/{agent_id}/policy", json={"send_cap_per_day": -2})
    assert r.status_code == 422

    user_id = coord.mailbox.owner_of(agent_id)
    assert user_id is not None
    coord.mailbox.receive(
        user_id,
        agent_id,
        _inbound("x@localhost", imid="<arf9@mx>"),
        suppress=[{"address": "angry@example.com", "kind": "complaint", "diagnostic": "x"}],
    )
    listed = web.get("/v1/dashboard/mailbox/suppressions").json()
    assert [(s["address"], s["kind"]) for s in listed] == [("angry@example.com", "complaint")]
    assert web.delete("/v1/dashboard/mailbox/suppressions/angry@example.com").status_code == 200
    gone = web.delete("/v1/dashboard/mailbox/suppressions/angry@example.com")
    assert gone.status_code == 404 and gone.json()["error"] == "not_suppressed"

    # Another owner sees none of it
    other = _owner_session(server, "someone-else@example.com")
    assert other.get("/v1/dashboard/mailbox", params={"agent_id": agent_id}).status_code == 404
    assert other.get(f"/v1/dashboard/mailbox/messages/{sent['message_id']}").status_code == 404
    r = other.put(f"/v1/dashboard/mailbox/agents/{agent_id}/policy", json={"send_cap_per_day": 9})
    assert r.status_code == 404
    assert sdk.mailbox.quota()["cap"] == 1
