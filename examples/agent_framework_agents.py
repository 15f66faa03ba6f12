"""Two Microsoft Agent Framework agents race for one slot; the lower-ranked one takes the offer.

Run:  python examples/agent_framework_agents.py               (offline, scripted clients)
      python examples/agent_framework_agents.py --model gpt-4o-mini
            (needs OPENAI_API_KEY and pip install agent-framework-openai)

Both ``agent_framework.Agent``s run at the same moment with the ``agentdraft_agents``
Agent Framework tools. Offline, each chat client is a ``ScriptedChatClient`` (the
framework's own function-invocation layers over a scripted ``_inner_get_response``)
whose second turn reads the tool's text and books the first slot it offers. A
booking the owner's approval gate parks would pause the run instead: see
``agentdraft_agents.agent_framework_tools``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from _demo import TASK, Demo, demo_steps, print_run, run_race
from agent_framework import Agent

from agentdraft_agents.agent_framework_tools import get_tools
from agentdraft_agents.testing.agent_framework_client import ScriptedChatClient


def chat_client(model: str | None) -> Any:
    if model is None:
        return ScriptedChatClient(demo_steps())
    from agent_framework.openai import OpenAIChatClient

    return OpenAIChatClient(model=model)


async def race(demo: Demo, model: str | None) -> None:
    clients = {"recruiter (priority 2)": demo.recruiter, "sales-bot (priority 1)": demo.sales}
    models = {name: chat_client(model) for name in clients}
    agents = [Agent(client=models[n], tools=get_tools(c)) for n, c in clients.items()]
    results = await asyncio.gather(*(a.run(TASK) for a in agents))
    for name, result in zip(clients, results, strict=True):
        print_run(name, models[name], result.text)


if __name__ == "__main__":
    run_race(race, __doc__, "an OpenAI model name, e.g. gpt-4o-mini")
