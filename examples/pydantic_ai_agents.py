"""One PydanticAI agent, two identities: both runs race for one slot; the lower-ranked one
takes the offered slot.

Run:  python examples/pydantic_ai_agents.py                     (offline, scripted models)
      python examples/pydantic_ai_agents.py --model openai:gpt-4o-mini
            (needs OPENAI_API_KEY and pip install 'pydantic-ai-slim[openai]')

The tools are built once (``get_tools()``); each run passes its agent's booking
service as ``deps``, so the same ``Agent`` books as the sales bot in one run and as
the recruiter in the other. Offline, each run's model is a ``ScriptedModel``
(PydanticAI's ``FunctionModel``) whose second turn reads the tool's text and books
the first slot it offers.
"""

from __future__ import annotations

import asyncio
from typing import Any

from _demo import TASK, Demo, demo_steps, print_run, run_race
from pydantic_ai import Agent

from agentdraft_agents.core import BookingService
from agentdraft_agents.pydantic_ai_tools import deps, get_tools
from agentdraft_agents.testing.pydantic_ai_model import ScriptedModel


async def race(demo: Demo, model: str | None) -> None:
    clients = {"recruiter (priority 2)": demo.recruiter, "sales-bot (priority 1)": demo.sales}
    agent: Agent[BookingService, str] = Agent(deps_type=BookingService, tools=get_tools())
    models: dict[str, Any] = {name: model or ScriptedModel(demo_steps()) for name in clients}
    results = await asyncio.gather(
        *(agent.run(TASK, deps=deps(c), model=models[n]) for n, c in clients.items())
    )
    for name, result in zip(clients, results, strict=True):
        print_run(name, models[name], result.output)


if __name__ == "__main__":
    run_race(race, __doc__, "a PydanticAI model name, e.g. openai:gpt-4o-mini")
