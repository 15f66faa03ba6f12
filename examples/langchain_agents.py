"""Two LangChain agents race for one slot; the loser takes the offered alternative.

Run:  python examples/langchain_agents.py          (offline, scripted models, ~1 s)
      python examples/langchain_agents.py --model openai:gpt-4o-mini

Both agents are ``langchain.agents.create_agent`` loops (LangGraph underneath) with
the ``agentdraft_agents`` tools, started at the same moment. The owner ranks the
sales bot above the recruiter, so whichever write lands first, the sales bot gets
10:00; the recruiter's tool answers OUTRANKED with the nearest open slots, and the
recruiter books the first one.

Offline, each agent's model is a ``ScriptedChatModel`` that emits the tool calls a
real model would; its second step reads the tool's text and books the first
offered slot. With ``--model provider:model`` (and that provider's key in the
environment, e.g. ``OPENAI_API_KEY`` with ``pip install 'langchain[openai]'``) the
same agents run on ``langchain.chat_models.init_chat_model`` instead.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from _demo import END, START, TASK, Demo, demo_calendar
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

from agentdraft_agents import get_tools
from agentdraft_agents.testing import offered_slots
from agentdraft_agents.testing.langchain_model import (
    ScriptedChatModel,
    last_tool_message,
    reply,
    tool_call,
)

SAFE = "agentdraft_commit_booking_safe"
SYSTEM = (
    "You book meetings for your owner with the agentdraft tools. If a booking is "
    "OUTRANKED, book the first alternative it offers, then say what you booked."
)


def scripted() -> ScriptedChatModel:
    """What a model does here: try the slot; if outranked, take the first offer."""

    def after_first_try(messages: list[BaseMessage]) -> AIMessage:
        offers = offered_slots(str(last_tool_message(messages).content))
        if not offers:
            return reply(f"Booked {START}.")
        return tool_call(SAFE, start=offers[0][0], end=offers[0][1], title="Intro call")

    def summary(messages: list[BaseMessage]) -> AIMessage:
        art = last_tool_message(messages).artifact
        return reply(f"Lost {START} to a higher-priority agent; booked {art['start']} instead.")

    return ScriptedChatModel(
        steps=[
            tool_call(SAFE, start=START, end=END, title="Intro call"),
            after_first_try,
            summary,
        ]
    )


def model_for(name: str | None) -> Any:
    if name is None:
        return scripted()
    from langchain.chat_models import init_chat_model

    return init_chat_model(name)


def transcript(who: str, state: dict[str, Any]) -> None:
    print(f"\n== {who}")
    for m in state["messages"]:
        if isinstance(m, AIMessage) and m.tool_calls:
            for c in m.tool_calls:
                print(f"  -> {c['name']}({', '.join(f'{k}={v}' for k, v in c['args'].items())})")
        elif isinstance(m, ToolMessage):
            print("  <- " + str(m.content).replace("\n", "\n     "))
        elif isinstance(m, AIMessage):
            print(f"  >> {m.content}")


async def main(model: str | None) -> None:
    with demo_calendar() as demo:
        await race(demo, model)
        demo.print_calendar()


async def race(demo: Demo, model: str | None) -> None:
    agents = {
        name: create_agent(model_for(model), get_tools(client), system_prompt=SYSTEM)
        for name, client in (
            ("recruiter (priority 2)", demo.recruiter),
            ("sales-bot (priority 1)", demo.sales),
        )
    }
    states = await asyncio.gather(
        *(a.ainvoke({"messages": [("user", TASK)]}) for a in agents.values())
    )
    for name, state in zip(agents, states, strict=True):
        transcript(name, state)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        help="a real model for init_chat_model, e.g. openai:gpt-4o-mini (needs the provider's key)",
    )
    asyncio.run(main(parser.parse_args().model))
