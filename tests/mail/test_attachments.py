"""Inbound attachments: mail arrives over SMTP (``smtplib`` to the receiver on loopback),
small attachments are stored with the message and served byte-exact by a ``coordinator
serve`` process; big ones are listed only; another agent and a hostile filename get
nothing they should not."""

from __future__ import annotations

from collections.abc import Iterator
from email import policy
from email.message import EmailMessage

import httpx
import pytest

from coordinator import Coordinator, NotFound
from coordinator.mail.disposition import content_disposition, safe_content_type, safe_filename
from coordinator.mail.receiver import Receiver
from tests.mail import test_receiver as rx
from tests.mail.test_receiver import INBOX, _config, _send
from tests.server.conftest import HttpServer, start_server
from tests.support.dns_server import LoopbackDNS
from tests.support.servers import RedisServer

# The receiver tests' fixtures: a Redis per module, a coordinator on INBOX.
redis_server, coord = rx.redis_server, rx.coord

#: Per-attachment and per-message limits the receiver runs with here.
LIMIT, TOTAL = 4096, 6000
SMALL = bytes(range(256)) * 8  # 2048 bytes, every byte value (not UTF-8)


@pytest.fixture(scope="module")
def server(redis_server: RedisServer) -> Iterator[HttpServer]:
    s = start_server(redis_server.url, env={"AGENTDRAFT_MAIL_DOMAIN": INBOX})
    yield s
    s.stop()


@pytest.fixture
def receiver(coord: Coordinator, dns_server: LoopbackDNS) -> Iterator[Receiver]:
    config = _config(dns_server, max_attachment_bytes=LIMIT, max_stored_bytes=TOTAL)
    r = Receiver(coord, config).start()
    yield r
    r.stop()


def _mail_with(to: str, parts: list[tuple[bytes, str, str]], mid: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Ada <ada@friendly.test>"
    msg["To"] = to
    msg["Subject"] = "the agenda"
    msg["Message-ID"] = mid
    msg.set_content("Attached.")
    for data, ctype, name in parts:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes(policy=policy.SMTP)


def _agent(coord: Coordinator, user_id: str, **kw: object) -> tuple[str, str, object]:
    a = coord.agents.create(user_id, name="mailer", **kw)  # type: ignore[arg-type]
    client = coord.client(a.api_key)
    return a.api_key, client.mailbox.info()["address"], client


def _only_inbound(client: object) -> dict:
    [msg] = client.mailbox.list_messages(direction="inbound")["messages"]  # type: ignore[attr-defined]
    return msg


def test_a_small_attachment_round_trips_byte_exact_and_a_big_one_is_listed_only(
    coord: Coordinator, receiver: Receiver, server: HttpServer
) -> None:
    owner = coord.owners.create()
    key, address, client = _agent(coord, owner.user_id)
    big = b"x" * (LIMIT + 1)
    raw = _mail_with(
        address,
        [(SMALL, "application/pdf", "agenda.pdf"), (big, "application/zip", "big.zip")],
        "<att-1@friendly.test>",
    )

    _send(receiver.port, raw, "ada@friendly.test", address)

    listed = _only_inbound(client)["attachments"]
    assert [(a["filename"], a["size"], a["stored"]) for a in listed] == [
        ("agenda.pdf", len(SMALL), True),
        ("big.zip", len(big), False),
    ]
    msg_id = _only_inbound(client)["message_id"]
    auth = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=server.url, headers=auth) as web:
        got = web.get(f"/v1/mailbox/messages/{msg_id}/attachments/0")
        assert got.status_code == 200, got.text
        assert got.content == SMALL
        assert got.headers["content-type"] == "application/pdf"
        assert got.headers["content-disposition"] == 'attachment; filename="agenda.pdf"'
        assert got.headers["x-content-type-options"] == "nosniff"
        assert web.get(f"/v1/mailbox/messages/{msg_id}").json()["attachments"][1]["stored"] is False
        over = web.get(f"/v1/mailbox/messages/{msg_id}/attachments/1")
        assert over.status_code == 404 and over.json()["error"] == "attachment_not_stored"
        missing = web.get(f"/v1/mailbox/messages/{msg_id}/attachments/2")
        assert missing.status_code == 404 and missing.json()["error"] == "attachment_not_found"
    # In process, the same bytes and the same refusals.
    assert client.mailbox.get_attachment(msg_id, 0) == SMALL  # type: ignore[attr-defined]
    with pytest.raises(NotFound) as refused:
        client.mailbox.get_attachment(msg_id, 1)  # type: ignore[attr-defined]
    assert refused.value.error == "attachment_not_stored"


def test_attachments_past_the_per_message_total_are_listed_only(
    coord: Coordinator, receiver: Receiver
) -> None:
    owner = coord.owners.create()
    _, address, client = _agent(coord, owner.user_id)
    parts = [(bytes([n]) * 2500, "application/octet-stream", f"p{n}.bin") for n in (1, 2, 3)]

    _send(receiver.port, _mail_with(address, parts, "<att-2@friendly.test>"), "a@b.test", address)

    msg = _only_inbound(client)
    # 2500 + 2500 fit in 6000; the third would pass it.
    assert [a["stored"] for a in msg["attachments"]] == [True, True, False]
    assert client.mailbox.get_attachment(msg["message_id"], 1) == bytes([2]) * 2500  # type: ignore[attr-defined]
    stored = coord.redis.hkeys(coord.store.keys.mail_attachments(owner.user_id))
    assert sorted(stored) == [f"{msg['message_id']}:0", f"{msg['message_id']}:1"]


def test_another_agent_and_an_agent_without_mailbox_read_get_nothing(
    coord: Coordinator, receiver: Receiver, server: HttpServer
) -> None:
    owner = coord.owners.create()
    _, address, client = _agent(coord, owner.user_id)
    other_key, _, other = _agent(coord, owner.user_id)
    blind_key = coord.agents.create(owner.user_id, name="blind", scopes=["bookings:read"]).api_key
    raw = _mail_with(address, [(SMALL, "application/pdf", "a.pdf")], "<att-3@friendly.test>")
    _send(receiver.port, raw, "ada@friendly.test", address)
    msg_id = _only_inbound(client)["message_id"]
    path = f"/v1/mailbox/messages/{msg_id}/attachments/0"

    with httpx.Client(base_url=server.url) as web:
        theirs = web.get(path, headers={"Authorization": f"Bearer {other_key}"})
        blind = web.get(path, headers={"Authorization": f"Bearer {blind_key}"})
    assert theirs.status_code == 404 and theirs.json()["error"] == "message_not_found"
    assert SMALL not in theirs.content
    assert blind.status_code == 403
    with pytest.raises(NotFound):
        other.mailbox.get_attachment(msg_id, 0)  # type: ignore[attr-defined]


def test_a_hostile_filename_gives_a_safe_content_disposition(
    coord: Coordinator, receiver: Receiver, server: HttpServer
) -> None:
    owner = coord.owners.create()
    key, address, client = _agent(coord, owner.user_id)
    boundary = "b0undary"
    raw = (
        f"From: ada@friendly.test\r\nTo: {address}\r\nSubject: x\r\n"
        "Message-ID: <att-4@friendly.test>\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        f"--{boundary}\r\nContent-Type: text/html\r\n"
        'Content-Disposition: attachment; filename="../../etc/passwd"\r\n\r\n'
        "<script>alert(1)</script>\r\n"
        f"--{boundary}\r\nContent-Type: application/octet-stream\r\n"
        "Content-Disposition: attachment; "
        "filename*=utf-8''evil%0D%0AX-Injected%3A%20yes%0D%0A%0D%0A%C3%A9t%C3%A9.txt\r\n\r\n"
        f"payload\r\n--{boundary}--\r\n"
    ).encode()

    _send(receiver.port, raw, "ada@friendly.test", address)

    msg_id = _only_inbound(client)["message_id"]
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as web:
        passwd = web.get(f"/v1/mailbox/messages/{msg_id}/attachments/0")
        evil = web.get(f"/v1/mailbox/messages/{msg_id}/attachments/1")
    assert passwd.status_code == 200 and evil.status_code == 200
    assert passwd.headers["content-disposition"] == 'attachment; filename="passwd"'
    assert passwd.headers["content-security-policy"] == "sandbox"
    disposition = evil.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=")
    assert "\r" not in disposition and "\n" not in disposition and "/" not in disposition
    assert "x-injected" not in evil.headers
    assert "filename*=UTF-8''evilX-Injected%3A%20yes%C3%A9t%C3%A9.txt" in disposition
    assert evil.content == b"payload"


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("../../etc/passwd", 'attachment; filename="passwd"'),
        ("..\\..\\boot.ini", 'attachment; filename="boot.ini"'),
        ('a"b\r\nSet-Cookie: x=1', 'attachment; filename="abSet-Cookie_ x=1"; '
         "filename*=UTF-8''abSet-Cookie%3A%20x%3D1"),
        ("...", 'attachment; filename="attachment"'),
        (None, 'attachment; filename="attachment"'),
        ("r\u00e9sum\u00e9.pdf", "attachment; filename=\"r_sum_.pdf\"; "
         "filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"),
    ],
)  # fmt: skip
def test_content_disposition_never_carries_a_path_a_quote_or_a_line_break(
    name: str | None, header: str
) -> None:
    assert content_disposition(name) == header
    assert "/" not in safe_filename(name) and "\n" not in safe_filename(name)


def test_a_malformed_content_type_is_served_as_octet_stream() -> None:
    assert safe_content_type("image/PNG") == "image/png"
    assert safe_content_type("text/html\r\nX-A: 1") == "application/octet-stream"
    assert safe_content_type("") == "application/octet-stream"
