"""Counter-offer tools: the loser offers other times, the winner answers, the loser books.

Runs on the in-process client and over real HTTP with the official SDK (whose missing
counter calls the tools make through its request method).
"""

from __future__ import annotations

from agentdraft_agents import specs
from agentdraft_agents.core import BookingService
from agentdraft_agents.counter_specs import ANSWER_COUNTER, COUNTER_OFFER, LIST_COUNTERS
from agentdraft_agents.results import CounterList, CounterState, Failed, Lost

from .conftest import Calendar, at, iso


def test_every_adapter_gets_the_counter_tools_after_the_default_set() -> None:
    names = [s.name for s in specs.recommended()]
    assert names[-3:] == [
        "agentdraft_counter_offer",
        "agentdraft_list_counters",
        "agentdraft_answer_counter",
    ]


def test_loser_counters_winner_accepts_and_the_loser_books_its_time(local_cal: Calendar) -> None:
    winner, loser = BookingService(local_cal.agent(1)), BookingService(local_cal.agent(2))
    won = winner.commit(iso(0), iso(30), title="Intro")
    lost = loser.commit(iso(0), iso(30))
    assert isinstance(lost, Lost)
    assert f"call agentdraft_counter_offer with booking_id={won.booking_id}" in lost.text()

    args = {
        "booking_id": won.booking_id,
        "proposed": [{"start": iso(120), "end": iso(150)}, {"start": iso(180), "end": iso(210)}],
        "note": "Could you take noon?",
    }
    sent = COUNTER_OFFER.invoke(loser, args)
    assert isinstance(sent, CounterState) and sent.mine and sent.status == "pending"
    assert COUNTER_OFFER.text(sent).startswith("COUNTER-OFFER SENT")

    listed = LIST_COUNTERS.invoke(winner, {"booking_id": won.booking_id})
    assert isinstance(listed, CounterList) and [c.counter_id for c in listed.counters] == [
        sent.counter_id
    ]
    text = LIST_COUNTERS.text(listed)
    assert "0. start=" in text and "1. start=" in text and "Could you take noon?" in text

    missing = ANSWER_COUNTER.invoke(
        winner, {"booking_id": won.booking_id, "counter_id": sent.counter_id, "decision": "accept"}
    )
    assert isinstance(missing, Failed) and missing.field == "slot_index"
    accepted = ANSWER_COUNTER.invoke(
        winner,
        {
            "booking_id": won.booking_id,
            "counter_id": sent.counter_id,
            "decision": "accept",
            "slot_index": 1,
        },
    )
    assert isinstance(accepted, CounterState) and accepted.status == "accepted"
    assert accepted.new_booking_id and "ACCEPTED" in accepted.text()

    answer = LIST_COUNTERS.invoke(
        loser, {"booking_id": won.booking_id, "counter_id": sent.counter_id}
    )
    assert isinstance(answer, CounterState) and answer.status == "accepted" and answer.mine
    assert "Book the time you wanted now" in answer.text()
    assert loser.commit(iso(0), iso(30)).outcome == "booked"
    moved = winner.get_booking(accepted.new_booking_id)
    assert moved.start == at(180)  # type: ignore[union-attr]


def test_a_second_answer_and_a_strangers_answer_are_errors_the_model_reads(
    local_cal: Calendar,
) -> None:
    winner, loser = BookingService(local_cal.agent(1)), BookingService(local_cal.agent(2))
    won = winner.commit(iso(300), iso(330))
    sent = COUNTER_OFFER.invoke(
        loser, {"booking_id": won.booking_id, "proposed": [{"start": iso(400), "end": iso(430)}]}
    )
    assert isinstance(sent, CounterState)
    ids = {"booking_id": won.booking_id, "counter_id": sent.counter_id}
    stranger = ANSWER_COUNTER.invoke(loser, {**ids, "decision": "reject"})
    assert isinstance(stranger, Failed) and stranger.status == 403
    assert ANSWER_COUNTER.invoke(winner, {**ids, "decision": "reject"}).status == "rejected"  # type: ignore[union-attr]
    again = ANSWER_COUNTER.invoke(winner, {**ids, "decision": "reject"})
    assert isinstance(again, Failed) and (again.status, again.error) == (409, "counter_decided")
    naive = COUNTER_OFFER.invoke(
        loser,
        {
            "booking_id": won.booking_id,
            "proposed": [{"start": "2031-03-03T12:00:00", "end": iso(150)}],
        },
    )
    assert isinstance(naive, Failed) and naive.error == "naive_time"


def test_mcp_offers_and_answers_counters_within_their_output_schemas(
    local_cal: Calendar,
) -> None:
    import asyncio
    import json

    import pytest

    pytest.importorskip("mcp", reason="the 'mcp' extra is not installed")
    from mcp.shared.memory import create_connected_server_and_client_session

    from agentdraft_agents.mcp_server import build_server

    winner, loser = local_cal.agent(1), local_cal.agent(2)
    won = BookingService(winner).commit(iso(600), iso(630))

    async def run(client: object, name: str, args: dict[str, object]) -> dict[str, object]:
        async with create_connected_server_and_client_session(build_server(client)) as s:
            out = await s.call_tool(name, args)
            assert not out.isError, out.content
            return json.loads(out.content[0].text)  # type: ignore[union-attr]

    sent = asyncio.run(
        run(
            loser,
            "counter_offer",
            {"booking_id": won.booking_id, "proposed": [{"start": iso(700), "end": iso(730)}]},
        )
    )
    listed = asyncio.run(run(winner, "list_counters", {"booking_id": won.booking_id}))
    assert [c["counter_id"] for c in listed["counters"]] == [sent["counter_id"]]  # type: ignore[index]
    done = asyncio.run(
        run(
            winner,
            "answer_counter",
            {
                "booking_id": won.booking_id,
                "counter_id": sent["counter_id"],
                "decision": "accept",
                "slot_index": 0,
            },
        )
    )
    assert done["status"] == "accepted" and done["new_booking_id"]
