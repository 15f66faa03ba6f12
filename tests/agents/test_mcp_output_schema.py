"""Every MCP tool publishes an ``outputSchema``, and every answer's ``structuredContent`` fits it.

Through a real MCP client session on a real coordinator: the client itself refuses
a success whose structured content breaks the listed schema, and the tests check
error answers (which the client does not) against it with ``jsonschema`` too.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

pytest.importorskip("mcp", reason="the 'mcp' extra is not installed")

import jsonschema
from mcp.shared.memory import create_connected_server_and_client_session

from agentdraft_agents.mcp_server import build_server

from .conftest import Calendar, at, iso


def played(client: Any, calls: list[tuple[str, Any]]) -> tuple[dict[str, Any], list[Any]]:
    """The listed schemas by tool, and each call's result (an argument may be a function
    of the results so far, to pass an id along)."""

    async def main() -> tuple[dict[str, Any], list[Any]]:
        async with create_connected_server_and_client_session(build_server(client)) as s:
            schemas = {t.name: t.outputSchema for t in (await s.list_tools()).tools}
            out: list[Any] = []
            for name, args in calls:
                out.append(await s.call_tool(name, args(out) if callable(args) else args))
            return schemas, out

    return asyncio.run(main())


def fits(schema: dict[str, Any], content: Any) -> bool:
    try:
        jsonschema.validate(content, schema)
    except jsonschema.ValidationError:
        return False
    return True


def test_every_tool_lists_an_object_output_schema(local_cal: Calendar) -> None:
    schemas, _ = played(local_cal.agent(1), [])
    assert schemas and all(s is not None and s["type"] == "object" for s in schemas.values())
    jsonschema.Draft202012Validator.check_schema(schemas["commit_booking"])
    branches = {d["title"] for d in schemas["commit_booking"]["$defs"].values() if "title" in d}
    assert {"BookedPayload", "OutrankedPayload", "ErrorPayload"} <= branches


def test_every_answer_fits_its_tools_schema_wins_losses_and_errors(local_cal: Calendar) -> None:
    sibling = local_cal.agent(1)
    theirs = sibling.bookings.commit(start=at(60), end=at(90))
    calls: list[tuple[str, Any]] = [
        ("whoami", {}),
        ("get_availability", {"start": iso(0), "end": iso(120)}),
        ("commit_booking", {"start": iso(0), "end": iso(30), "title": "Intro"}),
        ("commit_booking", {"start": iso(60), "end": iso(90)}),  # outranked
        ("create_hold", {"start": iso(120), "end": iso(150)}),
        ("release_hold", lambda out: {"hold_id": out[4].structuredContent["booking_id"]}),
        ("get_booking", lambda out: {"booking_id": out[2].structuredContent["booking_id"]}),
        ("cancel_booking", lambda out: {"booking_id": out[2].structuredContent["booking_id"]}),
        ("cancel_booking", {"booking_id": theirs.booking_id}),  # forbidden: an error answer
        ("create_hold", {"start": "2031-03-03T10:00:00", "end": iso(30)}),  # naive_time
        ("commit_booking", {"start": iso(0)}),  # invalid_arguments
        ("check_approval", {"consent_request_id": "apr_nosuchrequest"}),
    ]
    schemas, out = played(local_cal.agent(2), calls)
    errors = [r.isError for r in out]
    assert errors == [False] * 8 + [True] * 4
    assert out[3].structuredContent["error"] == "outranked"
    for (name, _), result in zip(calls, out, strict=True):
        assert fits(schemas[name], result.structuredContent), (name, result.structuredContent)


def test_a_schema_refuses_what_its_tool_never_answers(local_cal: Calendar) -> None:
    schemas, (booked,) = played(
        local_cal.agent(1), [("commit_booking", {"start": iso(0), "end": iso(30)})]
    )
    assert fits(schemas["commit_booking"], booked.structuredContent)
    assert not fits(schemas["commit_booking"], {**booked.structuredContent, "surprise": 1})
    assert not fits(schemas["release_hold"], booked.structuredContent)
    assert not fits(schemas["whoami"], {"slots": []})


def test_a_consent_required_answer_names_the_request_and_the_parked_hold(
    local_cal: Calendar,
) -> None:
    me = local_cal.agent(2)
    local_cal.coord.rules.update(local_cal.user_id, require_approval={"agent_ids": [me.agent_id]})
    schemas, (parked, check) = played(
        me,
        [
            ("commit_booking", {"start": iso(0), "end": iso(30)}),
            (
                "check_approval",
                lambda out: {
                    "consent_request_id": out[0].structuredContent["detail"]["consent_request_id"]
                },
            ),
        ],
    )
    assert parked.isError is True and parked.structuredContent["error"] == "consent_required"
    detail = parked.structuredContent["detail"]
    assert detail["consent_request_id"].startswith("apr_") and detail["hold_id"].startswith("hld_")
    assert fits(schemas["commit_booking"], parked.structuredContent)
    assert check.isError is False and check.structuredContent["status"] == "pending"
    assert check.structuredContent["hold_id"] == detail["hold_id"]
