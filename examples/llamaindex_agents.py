"""Two LlamaIndex FunctionAgents race for one slot; the lower-ranked one takes the offered slot.

Run:  python examples/llamaindex_agents.py                   (offline, scripted LLMs)
      python examples/llamaindex_agents.py --model gpt-4o-mini
            (needs OPENAI_API_KEY and pip install llama-index-llms-openai)

Both ``FunctionAgent``s run at the same moment with the ``agentdraft_agents``
LlamaIndex tools. Offline, each LLM is a ``ScriptedLLM`` (LlamaIndex's own
``MockFunctionCallingLLM`` with a scripted response generator) whose second turn
reads the tool's output and books the first slot it offers.
"""

from __future__ import annotations

import asyncio
from typing import Any

from _demo import TASK, Demo, demo_steps, print_run, run_race
from llama_index.core.agent.workflow import FunctionAgent

from agentdraft_agents.llamaindex_tools import get_tools
from agentdraft_agents.testing.llamaindex_llm import ScriptedLLM


def llm_for(model: str | None) -> Any:
    if model is None:
        return ScriptedLLM(demo_steps())
    from llama_index.llms.openai import OpenAI

    return OpenAI(model=model)


async def race(demo: Demo, model: str | None) -> None:
    clients = {"recruiter (priority 2)": demo.recruiter, "sales-bot (priority 1)": demo.sales}
    llms = {name: llm_for(model) for name in clients}
    agents = [FunctionAgent(tools=get_tools(c), llm=llms[n]) for n, c in clients.items()]
    results = await asyncio.gather(*(a.run(user_msg=TASK) for a in agents))
    for name, result in zip(clients, results, strict=True):
        print_run(name, llms[name], result)


if __name__ == "__main__":
    run_race(race, __doc__, "an OpenAI model name, e.g. gpt-4o-mini")
