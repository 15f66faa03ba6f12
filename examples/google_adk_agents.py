"""Two Google ADK agents race for one slot; the lower-ranked one takes the offered slot.

Run:  python examples/google_adk_agents.py                    (offline, scripted models)
      python examples/google_adk_agents.py --model gemini-2.5-flash   (needs GOOGLE_API_KEY)

Both ``LlmAgent``s run at the same moment through ADK's ``Runner`` with the
``agentdraft_agents`` ADK tools. Offline, each model is a ``ScriptedLlm`` (an ADK
``BaseLlm``) whose second turn reads the function response and books the first
slot it offers. Install with ``pip install 'agentdraft-agents[google-adk]'``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from _demo import TASK, Demo, demo_steps, print_run, run_race
from google.adk.agents import LlmAgent
from google.adk.runners import Runner
from google.adk.sessions import InMemorySessionService
from google.genai import types

from agentdraft_agents.google_adk_tools import get_tools
from agentdraft_agents.testing.google_adk_llm import ScriptedLlm


async def run_agent(agent: LlmAgent) -> str:
    """One ``Runner`` pass over ``TASK``; returns the agent's final text."""
    sessions = InMemorySessionService()
    session = await sessions.create_session(app_name="agentdraft-demo", user_id="demo")
    runner = Runner(agent=agent, app_name="agentdraft-demo", session_service=sessions)
    final = ""
    async for event in runner.run_async(
        user_id="demo",
        session_id=session.id,
        new_message=types.Content(role="user", parts=[types.Part(text=TASK)]),
    ):
        if event.is_final_response() and event.content and event.content.parts:
            final = event.content.parts[0].text or ""
    return final


async def race(demo: Demo, model: str | None) -> None:
    clients = {"recruiter (priority 2)": demo.recruiter, "sales-bot (priority 1)": demo.sales}
    models: dict[str, Any] = {name: model or ScriptedLlm(demo_steps()) for name in clients}
    agents = [
        LlmAgent(name=n.split()[0].replace("-", "_"), model=models[n], tools=get_tools(c))
        for n, c in clients.items()
    ]
    results = await asyncio.gather(*(run_agent(a) for a in agents))
    for name, result in zip(clients, results, strict=True):
        print_run(name, models[name], result)


if __name__ == "__main__":
    run_race(race, __doc__, "a Gemini model name, e.g. gemini-2.5-flash")
