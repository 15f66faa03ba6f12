"""Every framework's real loop shows the model the same words for the same outcomes.

One script, played by each framework's scripted model through its own agent
loop, for an owner in Berlin: a time without an offset (refused), 10:00 (held by
a better-ranked sibling named "sales": OUTRANKED with offers), the first offer
(booked, displaceable until when), the agent's own bookings, a hold longer than the
owner allows (refused naming the field) and one within it (held, lapsing when). The
texts each model was shown must be identical once ids and moments are masked, and
equal to what the shared specs say; every time is shown in UTC and Berlin time.
MCP keeps ``agentdraft-mcp``'s tool names and answers a lost race as a JSON payload
whose ``message`` is the same sentence with its own name.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from agentdraft_agents.testing.script import Call, Script, Step, call, take_first_offer

from .conftest import Calendar, at, iso
from .race_script import SAFE, TASK

LIST = "agentdraft_list_my_bookings"
HOLD = "agentdraft_create_hold"
ZONE = "Europe/Berlin"
#: The owner's cap on holds, and the two TTLs the script asks for (over it, then at it).
MAX_HOLD = 600
#: crewai, imported by one of the runners, reads pydantic's deprecated fields on kickoff;
#: LlamaIndex's workflows do the same when building an agent.
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:crewai"),
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince20"),
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince211"),
]

NAIVE = call(SAFE, start="2031-03-03T10:00:00", end="2031-03-03T10:30:00")


def tool_calls() -> list[Call]:
    """What the model asks after the refusal and the loss, in order."""
    return [
        call(LIST, start=iso(-60), end=iso(60)),
        call(HOLD, start=iso(120), end=iso(150), ttl_seconds=MAX_HOLD + 300),
        call(HOLD, start=iso(120), end=iso(150), ttl_seconds=MAX_HOLD),
    ]


def steps() -> list[Step]:
    return [
        NAIVE,
        lambda _: call(SAFE, start=iso(0), end=iso(30)),
        take_first_offer(SAFE),
        *tool_calls(),
        "ok",
    ]


#: Moments that differ per run (a bump window's end, a hold's lapse), with their wall clock.
_MOMENT = re.compile(r"(displace it until|lapses at) \S+(?: \([^)]*\))?")


def mask(text: str) -> str:
    """Ids and the moments a window closes or a hold lapses differ per run; words must not."""
    text = _MOMENT.sub(r"\1 <t>", text)
    return re.sub(r"\b(agt|bkg|hld|apr|evt|cnt)_[0-9a-zA-Z]+", r"\1_…", text)


@dataclass(frozen=True)
class Plan:
    """A script for every runner, and the ``get_tools`` options it needs."""

    steps: Callable[[], list[Step]]
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def turns(self) -> int:
        return len(self.steps())


BOOKING = Plan(steps)

INVITEE = "ann@invitee.test"
SEND_MAIL = call(
    "agentdraft_send_mail",
    to=INVITEE,
    subject="Two times for our call",
    body_text="Would Tuesday 3pm or Wednesday 10am work?",
)
LIST_SENT = call("agentdraft_list_mail", direction="outbound")
CHECK = call("agentdraft_check_suppression", address=INVITEE)
#: The mailbox tools: send, list what was sent, check the address.
MAIL = Plan(lambda: [SEND_MAIL, LIST_SENT, CHECK, "ok"], {"mailbox": True})


COUNTER = "agentdraft_counter_offer"
#: What the losing agent offers the winner's agent instead of 10:00.
OFFER = {"proposed": [{"start": iso(240), "end": iso(270)}], "note": "Could we do 14:00?"}


def counter_steps() -> list[Step]:
    """Lose 10:00, then offer the winner's agent another time (the booking id read from
    the OUTRANKED text, as a model would)."""

    def offer(text: str) -> Call:
        found = re.search(r"booking_id=(bkg_\w+)", text)
        return call(COUNTER, booking_id=found.group(1) if found else "bkg_missing", **OFFER)

    return [call(SAFE, start=iso(0), end=iso(30)), offer, "ok"]


#: The counter-offer tools: lose a race, offer the winner other times.
COUNTERS = Plan(counter_steps)


def mail_mask(text: str) -> str:
    """Message ids and when a message was stored differ per run; the words must not."""
    text = re.sub(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+00:00", "<t>", text)
    return re.sub(r"\bmsg_[0-9a-zA-Z]+", "msg_…", mask(text))


def berlin_calendar(make_local_cal: Callable[..., Calendar]) -> tuple[Calendar, Any]:
    """An owner in Berlin who caps holds, and their "sales" agent holding 10:00."""
    cal = make_local_cal(bump_window_seconds=3600)  # still open when the list is read
    cal.coord.owners.set_timezone(cal.user_id, ZONE)
    cal.coord.rules.update(cal.user_id, max_hold_ttl_seconds=MAX_HOLD)
    sales = cal.agent(1, name="sales")
    sales.bookings.commit(start=at(0), end=at(30))
    return cal, sales


# -- one runner per framework: play the script through its loop, return what it saw ------------


def run_langchain(client: Any, plan: Plan | None = None) -> list[str | None]:
    plan = plan or BOOKING
    from langchain.agents import create_agent
    from langchain_core.messages import ToolMessage

    from agentdraft_agents import get_tools
    from agentdraft_agents.testing.langchain_model import ScriptedChatModel, reply, tool_call

    script = Script(plan.steps())

    def step(messages: list[Any]) -> Any:
        tools = [m for m in messages if isinstance(m, ToolMessage)]
        turn = script.next(str(tools[-1].content) if tools else None)
        return tool_call(turn.name, **turn.args) if isinstance(turn, Call) else reply(turn)

    model = ScriptedChatModel(steps=[step] * plan.turns)
    create_agent(model, get_tools(client, **plan.options)).invoke({"messages": [("user", TASK)]})
    return script.seen


def run_crewai(client: Any, plan: Plan | None = None) -> list[str | None]:
    plan = plan or BOOKING
    from crewai import Agent, Crew, Task

    from agentdraft_agents.crewai_tools import get_tools
    from agentdraft_agents.testing.crewai_llm import ScriptedLLM, last_tool_result, tool_call

    script = Script(plan.steps())

    def step(messages: Any) -> Any:
        try:
            seen: str | None = last_tool_result(messages)
        except LookupError:
            seen = None
        turn = script.next(seen)
        return tool_call(turn.name, **turn.args) if isinstance(turn, Call) else turn

    agent = Agent(
        role="Recruiter",
        goal="Book a call",
        backstory="Schedules.",
        llm=ScriptedLLM(steps=[step] * plan.turns),
        tools=get_tools(client, **plan.options),
        max_iter=plan.turns + 2,
    )
    task = Task(description=TASK, expected_output="What was booked", agent=agent)
    Crew(agents=[agent], tasks=[task]).kickoff()
    return script.seen


def run_autogen(client: Any, plan: Plan | None = None) -> list[str | None]:
    plan = plan or BOOKING
    from autogen_agentchat.agents import AssistantAgent

    from agentdraft_agents.autogen_tools import get_tools
    from agentdraft_agents.testing.autogen_replay import (
        ReactiveReplayClient,
        last_tool_result,
        tool_call,
    )

    script = Script(plan.steps())

    def step(messages: list[Any]) -> Any:
        try:
            seen: str | None = last_tool_result(messages)[0]
        except LookupError:
            seen = None
        turn = script.next(seen)
        return tool_call(turn.name, **turn.args) if isinstance(turn, Call) else turn

    agent = AssistantAgent(
        "recruiter",
        model_client=ReactiveReplayClient([step] * plan.turns),
        tools=get_tools(client, **plan.options),  # type: ignore[arg-type]
        max_tool_iterations=plan.turns,
    )
    asyncio.run(agent.run(task=TASK))
    return script.seen


def run_openai_agents(client: Any, plan: Plan | None = None) -> list[str | None]:
    plan = plan or BOOKING
    from agents import Agent, RunConfig, Runner

    from agentdraft_agents.openai_agents_tools import get_tools
    from agentdraft_agents.testing.openai_agents_model import ScriptedModel

    model = ScriptedModel(plan.steps())
    agent = Agent(name="recruiter", model=model, tools=get_tools(client, **plan.options))
    Runner.run_sync(agent, TASK, run_config=RunConfig(tracing_disabled=True))
    return model.script.seen


def run_pydantic_ai(client: Any, plan: Plan | None = None) -> list[str | None]:
    plan = plan or BOOKING
    from pydantic_ai import Agent

    from agentdraft_agents.pydantic_ai_tools import deps, get_tools
    from agentdraft_agents.testing.pydantic_ai_model import ScriptedModel

    model = ScriptedModel(plan.steps())
    Agent(model, tools=get_tools(**plan.options)).run_sync(TASK, deps=deps(client))
    return model.script.seen


def run_agent_framework(client: Any, plan: Plan | None = None) -> list[str | None]:
    plan = plan or BOOKING
    from agent_framework import Agent

    from agentdraft_agents.agent_framework_tools import get_tools
    from agentdraft_agents.testing.agent_framework_client import ScriptedChatClient

    model = ScriptedChatClient(plan.steps())
    asyncio.run(Agent(client=model, tools=get_tools(client, **plan.options)).run(TASK))
    return model.script.seen


def run_llamaindex(client: Any, plan: Plan | None = None) -> list[str | None]:
    plan = plan or BOOKING
    from llama_index.core.agent.workflow import FunctionAgent

    from agentdraft_agents.llamaindex_tools import get_tools
    from agentdraft_agents.testing.llamaindex_llm import ScriptedLLM

    llm = ScriptedLLM(plan.steps())
    agent = FunctionAgent(tools=get_tools(client, **plan.options), llm=llm)

    async def go() -> None:
        await agent.run(user_msg=TASK)

    asyncio.run(go())
    return llm.script.seen


def run_google_adk(client: Any, plan: Plan | None = None) -> list[str | None]:
    plan = plan or BOOKING
    from google.adk.agents import LlmAgent
    from google.adk.runners import InMemoryRunner
    from google.genai import types

    from agentdraft_agents.google_adk_tools import get_tools
    from agentdraft_agents.testing.google_adk_llm import ScriptedLlm

    llm = ScriptedLlm(plan.steps())
    runner = InMemoryRunner(
        LlmAgent(name="recruiter", model=llm, tools=get_tools(client, **plan.options))
    )

    async def go() -> None:
        session = await runner.session_service.create_session(app_name=runner.app_name, user_id="u")
        message = types.Content(role="user", parts=[types.Part(text=TASK)])
        async for _ in runner.run_async(user_id="u", session_id=session.id, new_message=message):
            pass

    asyncio.run(go())
    return llm.script.seen


RUNNERS: dict[str, tuple[str, Callable[[Any, Plan | None], list[str | None]]]] = {
    "langchain": ("langchain.agents", run_langchain),
    "crewai": ("crewai", run_crewai),
    "autogen": ("autogen_agentchat", run_autogen),
    "openai_agents": ("agents", run_openai_agents),
    "pydantic_ai": ("pydantic_ai", run_pydantic_ai),
    "agent_framework": ("agent_framework", run_agent_framework),
    "llamaindex": ("llama_index.core", run_llamaindex),
    "google_adk": ("google.adk", run_google_adk),
}


def expected(make_local_cal: Callable[..., Calendar]) -> list[str]:
    """The texts as the shared specs word them (no framework involved)."""
    from agentdraft_agents import specs
    from agentdraft_agents.core import BookingService

    cal, _ = berlin_calendar(make_local_cal)
    service, spec = BookingService(cal.agent(2)), specs.COMMIT_SAFE
    by_name = {s.name: s for s in specs.recommended()}
    naive = spec.text(spec.run(service, {"start": NAIVE.args["start"], "end": NAIVE.args["end"]}))
    lost = spec.text(spec.run(service, {"start": iso(0), "end": iso(30)}))
    booked = spec.text(spec.run(service, {"start": iso(-30), "end": iso(0)}))
    later = [by_name[c.name].text(by_name[c.name].run(service, c.args)) for c in tool_calls()]
    return [mask(t) for t in (naive, lost, booked, *later)]


def test_the_texts_name_the_winner_and_show_the_owners_time_and_the_holds_cap(
    make_local_cal: Callable[..., Calendar],
) -> None:
    _naive, lost, booked, listed, too_long, held = expected(make_local_cal)
    assert "agent sales (priority 1; id agt_…) holds it" in lost
    assert (
        "(2031-03-03T11:00:00+01:00 to 2031-03-03T11:30:00+01:00 in the owner's timezone "
        "Europe/Berlin)" in lost
    )
    assert "displace it until <t>. After that, call agentdraft_get_booking" in booked
    assert listed.startswith("1 booking(s) of yours from") and "COMMITTED" in listed
    assert too_long.startswith("ERROR hold_ttl_too_long (hold_ttl_seconds):")
    assert "max_hold_ttl_seconds=600" in too_long and "shorter ttl_seconds" in too_long
    assert held.startswith("HELD ") and "It lapses at <t> unless you commit it." in held


@pytest.mark.parametrize("framework", list(RUNNERS))
def test_each_framework_shows_the_model_the_same_words(
    framework: str, make_local_cal: Callable[..., Calendar]
) -> None:
    module, runner = RUNNERS[framework]
    pytest.importorskip(module, reason=f"{module} (its extra) is not installed")
    os.environ.setdefault("CREWAI_DISABLE_TELEMETRY", "true")
    cal, _ = berlin_calendar(make_local_cal)
    seen = runner(cal.agent(2), None)
    assert seen[0] is None
    assert [mask(str(t)) for t in seen[1:]] == expected(make_local_cal)


def expected_mail(make_local_cal: Callable[..., Calendar]) -> list[str]:
    """The mail script's three texts as the shared specs word them."""
    from agentdraft_agents import specs
    from agentdraft_agents.core import BookingService

    service = BookingService(make_local_cal().agent(1))
    by_name = {s.name: s for s in specs.MAILBOX}
    texts = []
    for turn in (SEND_MAIL, LIST_SENT, CHECK):
        spec = by_name[turn.name]
        texts.append(mail_mask(spec.text(spec.run(service, turn.args))))
    return texts


@pytest.mark.parametrize("framework", list(RUNNERS))
def test_each_framework_shows_the_model_the_same_mail_words(
    framework: str, make_local_cal: Callable[..., Calendar]
) -> None:
    module, runner = RUNNERS[framework]
    pytest.importorskip(module, reason=f"{module} (its extra) is not installed")
    seen = runner(make_local_cal().agent(1), MAIL)
    assert seen[0] is None
    words = [mail_mask(str(t)) for t in seen[1:]]
    assert words == expected_mail(make_local_cal)
    assert words[0].startswith("Queued message msg_… to ann@invitee.test")


def expected_counter(make_local_cal: Callable[..., Calendar]) -> list[str]:
    """The counter script's two texts (lost, counter-offer sent) as the specs word them."""
    from agentdraft_agents import specs
    from agentdraft_agents.core import BookingService
    from agentdraft_agents.counter_specs import COUNTER_OFFER

    cal, sales = berlin_calendar(make_local_cal)
    won = sales.bookings.list().bookings[0].booking_id
    service, spec = BookingService(cal.agent(2)), specs.COMMIT_SAFE
    lost = spec.text(spec.run(service, {"start": iso(0), "end": iso(30)}))
    sent = COUNTER_OFFER.text(COUNTER_OFFER.invoke(service, {"booking_id": won, **OFFER}))
    return [mask(lost), mask(sent)]


@pytest.mark.parametrize("framework", list(RUNNERS))
def test_each_framework_shows_the_model_the_same_counter_offer_words(
    framework: str, make_local_cal: Callable[..., Calendar]
) -> None:
    module, runner = RUNNERS[framework]
    pytest.importorskip(module, reason=f"{module} (its extra) is not installed")
    cal, _ = berlin_calendar(make_local_cal)
    seen = runner(cal.agent(2), COUNTERS)
    assert seen[0] is None
    words = [mask(str(t)) for t in seen[1:]]
    assert words == expected_counter(make_local_cal)
    assert "call agentdraft_counter_offer with booking_id=bkg_…" in words[0]
    assert words[1].startswith("COUNTER-OFFER SENT — cnt_… asks agent agt_…")


def test_mcp_says_the_same_with_its_own_tool_name(
    make_local_cal: Callable[..., Calendar],
) -> None:
    pytest.importorskip("mcp", reason="the 'mcp' extra is not installed")
    from mcp.shared.memory import create_connected_server_and_client_session

    from agentdraft_agents.mcp_server import build_server

    cal, _ = berlin_calendar(make_local_cal)

    async def main() -> Any:
        async with create_connected_server_and_client_session(build_server(cal.agent(2))) as s:
            lost = await s.call_tool("commit_booking", {"start": iso(0), "end": iso(30)})
            too_long = await s.call_tool(
                "create_hold",
                {"start": iso(120), "end": iso(150), "ttl_seconds": MAX_HOLD + 300},
            )
            return lost, too_long

    lost, too_long = (json.loads(r.content[0].text)["message"] for r in asyncio.run(main()))
    words = expected(make_local_cal)
    assert mask(lost) == words[1].replace(SAFE, "commit_booking").replace(COUNTER, "counter_offer")
    assert mask(too_long) == words[4]
