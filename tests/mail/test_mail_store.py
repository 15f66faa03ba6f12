"""The mailbox's Lua steps on every backend: the cap under racing threads, threading,
suppressions, and refusals that write nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from coordinator import Coordinator, RecipientSuppressed, SendCapReached, ValidationError
from coordinator.errors import NotFound
from tests.support.servers import Backend

THREADS = 16
PER_THREAD = 3


@pytest.fixture
def coord(backend: Backend) -> Iterator[Coordinator]:
    c = (
        Coordinator.embedded(backend.data_dir)
        if backend.url is None
        else Coordinator.from_url(backend.url)
    )
    yield c
    c.close()


def test_racing_threads_never_send_more_than_the_daily_cap(coord: Coordinator) -> None:
    owner = coord.owners.create()
    agent = coord.agents.create(owner.user_id, name="mailer", rate_limit_burst=1000)
    coord.mailbox.set_policy(agent.agent_id, send_cap_per_day=5)
    clients = [coord.client(agent.api_key) for _ in range(THREADS)]
    start = threading.Barrier(THREADS)
    sent: list[str] = []
    capped: list[SendCapReached] = []
    lock = threading.Lock()

    def race(i: int) -> None:
        start.wait()
        for n in range(PER_THREAD):
            try:
                m = clients[i].mailbox.send(to=f"p{i}.{n}@example.com", subject="s", body_text="b")
            except SendCapReached as exc:
                with lock:
                    capped.append(exc)
            else:
                with lock:
                    sent.append(m["message_id"])

    threads = [threading.Thread(target=race, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # Exactly the cap got through; every other attempt was told why and when to retry
    assert len(sent) == 5 and len(set(sent)) == 5
    assert len(capped) == THREADS * PER_THREAD - 5
    assert all(0 < e.retry_after <= 86_400 for e in capped)
    assert clients[0].mailbox.quota()["used_today"] == 5
    outbox = coord.redis.xrange(coord.store.keys.mail_outbox(owner.user_id))
    assert sorted(f["message_id"] for _, f in outbox) == sorted(sent)
    listed = clients[0].mailbox.list_messages(limit=100)["messages"]
    assert sorted(m["message_id"] for m in listed) == sorted(sent)
    assert coord.audit.verify(owner.user_id).ok


def test_an_inbound_reply_threads_by_references_then_by_the_plus_address(
    coord: Coordinator,
) -> None:
    owner = coord.owners.create()
    agent = coord.agents.create(owner.user_id, name="mailer")
    client = coord.client(agent.api_key)
    booking = client.bookings.hold(start="2031-03-04T15:00:00Z", end="2031-03-04T16:00:00Z")
    first = client.mailbox.send(
        to="ada@example.com", subject="Hi", body_text="b", booking_id=booking.booking_id
    )
    base = {"from": "ada@example.com", "to": ["x@localhost"], "subject": "Re", "body_text": "ok"}

    # A reply whose In-Reply-To is unknown but whose References name our message
    by_refs = coord.mailbox.receive(
        owner.user_id,
        agent.agent_id,
        {
            **base,
            "imid": "<a1@ex>",
            "in_reply_to": "<lost@ex>",
            "references": [first["internet_message_id"], "<lost@ex>"],
        },
    )["message"]
    assert by_refs["thread_id"] == first["thread_id"]
    assert by_refs["booking_id"] == booking.booking_id

    # No known headers: the plus-address names the booking, on a new thread
    by_plus = coord.mailbox.receive(
        owner.user_id,
        agent.agent_id,
        {**base, "imid": "<a2@ex>", "references": [], "plus_booking": booking.booking_id},
    )["message"]
    assert by_plus["booking_id"] == booking.booking_id
    assert by_plus["thread_id"] != first["thread_id"]

    # A plus tag naming no booking of this calendar threads nothing
    stray = coord.mailbox.receive(
        owner.user_id,
        agent.agent_id,
        {**base, "imid": "<a3@ex>", "references": [], "plus_booking": "bkg_0000000000000000"},
    )["message"]
    assert stray["booking_id"] is None

    # The same Message-ID again (an MTA's retry) is stored once
    again = coord.mailbox.receive(
        owner.user_id, agent.agent_id, {**base, "imid": "<a2@ex>", "references": []}
    )
    assert again["duplicate"] is True
    assert again["message"]["message_id"] == by_plus["message_id"]
    inbound = client.mailbox.list_messages(direction="inbound")["messages"]
    assert len(inbound) == 3
    by_booking = client.mailbox.list_messages(booking_id=booking.booking_id)["messages"]
    assert {m["message_id"] for m in by_booking} == {
        first["message_id"], by_refs["message_id"], by_plus["message_id"]
    }  # fmt: skip


def test_soft_bounces_do_not_suppress_and_the_owner_can_lift_a_suppression(
    coord: Coordinator,
) -> None:
    owner = coord.owners.create()
    agent = coord.agents.create(owner.user_id, name="mailer")
    client = coord.client(agent.api_key)
    base = {"from": "mailer-daemon@mx.example", "to": ["x@localhost"], "subject": "DSN",
            "body_text": "report", "references": []}  # fmt: skip
    coord.mailbox.receive(owner.user_id, agent.agent_id, {**base, "imid": "<soft@mx>"})
    client.mailbox.send(to="busy@example.com", subject="s", body_text="b")  # not suppressed
    coord.mailbox.receive(
        owner.user_id,
        agent.agent_id,
        {**base, "imid": "<arf@mx>"},
        suppress=[{"address": "angry@example.com", "kind": "complaint", "diagnostic": "abuse"}],
    )
    with pytest.raises(RecipientSuppressed) as refused:
        client.mailbox.send(to="Angry@Example.COM", subject="s", body_text="b")
    assert refused.value.kind == "complaint"
    assert [s["address"] for s in coord.mailbox.suppressions(owner.user_id)] == [
        "angry@example.com"
    ]
    coord.mailbox.unsuppress(owner.user_id, "angry@example.com")
    client.mailbox.send(to="angry@example.com", subject="s", body_text="b")
    with pytest.raises(NotFound):
        coord.mailbox.unsuppress(owner.user_id, "angry@example.com")
    with pytest.raises(ValidationError) as bad:
        coord.mailbox.set_policy(agent.agent_id, send_cap_per_day=-1)
    assert bad.value.field == "send_cap_per_day"
    types = [e.type for e in coord.audit.range(owner.user_id) if e.type.startswith("mail.")]
    assert types.count("mail.suppressed") == 1 and types.count("mail.unsuppressed") == 1
    assert coord.audit.verify(owner.user_id).ok
