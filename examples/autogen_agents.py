"""Two AutoGen assistants race for one slot; the lower-ranked one takes the offered slot.

Run:  python examples/autogen_agents.py                (offline, replayed models, ~1 s)
      python examples/autogen_agents.py --model gpt-4o-mini
            (needs OPENAI_API_KEY and pip install 'autogen-ext[openai]')

Both ``AssistantAgent``s run at the same moment with the ``agentdraft_agents``
AutoGen tools and ``max_tool_iterations=3`` (one call is not enough to recover).
Offline, each model is a ``ReactiveReplayClient``: AutoGen's replay client whose
second turn reads the tool result and books the first slot it offers.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from _demo import END, START, TASK, Demo, demo_calendar
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.base import TaskResult
from autogen_agentchat.messages import ToolCallExecutionEvent, ToolCallRequestEvent

from agentdraft_agents.autogen_tools import get_tools
from agentdraft_agents.testing import offered_slots
from agentdraft_agents.testing.autogen_replay import (
    ReactiveReplayClient,
    last_tool_result,
    tool_call,
)

SAFE = "agentdraft_commit_booking_safe"


def scripted() -> ReactiveReplayClient:
    def after_first_try(messages: Any) -> Any:
        offers = offered_slots(last_tool_result(messages)[0])
        if not offers:
            return f"Booked {START}. TERMINATE"
        return tool_call(SAFE, start=offers[0][0], end=offers[0][1], title="Intro call")

    return ReactiveReplayClient(
        [
            tool_call(SAFE, start=START, end=END, title="Intro call"),
            after_first_try,
            "Outranked at 10:00; booked the first alternative offered. TERMINATE",
        ]
    )


def model_client(model: str | None) -> Any:
    if model is None:
        return scripted()
    from autogen_ext.models.openai import OpenAIChatCompletionClient

    return OpenAIChatCompletionClient(model=model)


def show(name: str, result: TaskResult) -> None:
    print(f"\n== {name}")
    for m in result.messages:
        if isinstance(m, ToolCallRequestEvent):
            for c in m.content:
                print(f"  -> {c.name}({c.arguments})")
        elif isinstance(m, ToolCallExecutionEvent):
            for r in m.content:
                print("  <- " + r.content.replace("\n", "\n     "))
        elif m.source != "user" and hasattr(m, "content") and isinstance(m.content, str):
            print(f"  >> {m.content}")


async def race(demo: Demo, model: str | None) -> None:
    agents = {
        name: AssistantAgent(
            name.split()[0].replace("-", "_"),
            model_client=model_client(model),
            tools=get_tools(client),
            max_tool_iterations=3,
        )  # type: ignore[arg-type]
        for name, client in (
            ("recruiter (priority 2)", demo.recruiter),
            ("sales-bot (priority 1)", demo.sales),
        )
    }
    results = await asyncio.gather(*(a.run(task=TASK) for a in agents.values()))
    for name, result in zip(agents, results, strict=True):
        show(name, result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="an OpenAI model name, e.g. gpt-4o-mini")
    model = parser.parse_args().model
    with demo_calendar() as demo:
        asyncio.run(race(demo, model))
        demo.print_calendar()


if __name__ == "__main__":
    main()
