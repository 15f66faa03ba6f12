"""Two OpenAI Agents SDK agents race for one slot; the lower-ranked one takes the offered slot.

Run:  python examples/openai_agents.py                  (offline, scripted models, ~2 s)
      python examples/openai_agents.py --model gpt-4o-mini   (needs OPENAI_API_KEY)

Both ``agents.Agent``s run at the same moment through ``Runner.run`` with the
``agentdraft_agents`` OpenAI Agents SDK tools. Offline, each model is a
``ScriptedModel`` (an ``agents.Model``) whose second turn reads the tool's text and
books the first slot it offers; tracing is off, so nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
from typing import Any

from _demo import TASK, Demo, demo_steps, print_run, run_race
from agents import Agent, RunConfig, Runner

from agentdraft_agents.openai_agents_tools import get_tools
from agentdraft_agents.testing.openai_agents_model import ScriptedModel


async def race(demo: Demo, model: str | None) -> None:
    clients = {"recruiter (priority 2)": demo.recruiter, "sales-bot (priority 1)": demo.sales}
    models: dict[str, Any] = {name: model or ScriptedModel(demo_steps()) for name in clients}
    agents = [
        Agent(name=name.split()[0], model=models[name], tools=get_tools(client))
        for name, client in clients.items()
    ]
    offline = RunConfig(tracing_disabled=model is None)
    results = await asyncio.gather(*(Runner.run(a, TASK, run_config=offline) for a in agents))
    for name, result in zip(clients, results, strict=True):
        print_run(name, models[name], result.final_output)


if __name__ == "__main__":
    run_race(race, __doc__, "an OpenAI model name, e.g. gpt-4o-mini")
