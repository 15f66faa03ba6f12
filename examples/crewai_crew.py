"""A CrewAI crew of two agents competing for one slot; the loser takes the offered one.

Run:  python examples/crewai_crew.py                 (offline, scripted LLMs, ~4 s incl. import)
      python examples/crewai_crew.py --model openai/gpt-4o-mini   (needs OPENAI_API_KEY)

The sales bot (priority 1) and the recruiter (priority 2) each get a task to book
the same intro call; the sales bot's task runs asynchronously, so both book at the
same moment. The recruiter's ``agentdraft_commit_booking_safe`` answers OUTRANKED
with the nearest open slots, and it books the first one. Offline, each agent's
LLM is a ``ScriptedLLM`` returning the native tool calls a model would; with
``--model`` the same crew runs on ``crewai.LLM``.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import tempfile
from typing import Any

# Before CrewAI is imported: no telemetry or tracing calls, storage in a temp folder.
os.environ.setdefault("CREWAI_DISABLE_TELEMETRY", "true")
os.environ.setdefault("CREWAI_TRACING_ENABLED", "false")
if "CREWAI_STORAGE_DIR" not in os.environ:
    os.environ["CREWAI_STORAGE_DIR"] = tempfile.mkdtemp(prefix="crewai-example-")
    atexit.register(shutil.rmtree, os.environ["CREWAI_STORAGE_DIR"], True)

from _demo import END, START, TASK, Demo, demo_calendar
from crewai import LLM, Agent, Crew, Process, Task

from agentdraft_agents.crewai_tools import get_tools
from agentdraft_agents.results import Result
from agentdraft_agents.testing import offered_slots
from agentdraft_agents.testing.crewai_llm import (
    ScriptedLLM,
    last_tool_result,
    tool_call,
)

SAFE = "agentdraft_commit_booking_safe"


def scripted() -> ScriptedLLM:
    """Try the slot; if outranked, book the first offer; then report."""

    def after_first_try(messages: Any) -> Any:
        offers = offered_slots(last_tool_result(messages))
        if not offers:
            return f"Booked {START}."
        return tool_call(SAFE, start=offers[0][0], end=offers[0][1], title="Intro call")

    return ScriptedLLM(
        steps=[
            tool_call(SAFE, start=START, end=END, title="Intro call"),
            after_first_try,
            "Lost the slot to a higher-priority agent and booked the first alternative offered.",
        ]
    )


def printer(who: str) -> Any:
    def show(result: Result) -> None:
        text = result.text()
        print(f"[{who}] " + text.replace("\n", "\n" + " " * (len(who) + 3)))

    return show


def crew(demo: Demo, model: str | None) -> Crew:
    def agent(role: str, client: Any) -> Agent:
        return Agent(
            role=role,
            goal="Book the intro call for the owner",
            backstory="Schedules meetings; if outranked, takes an offered slot.",
            llm=LLM(model=model) if model else scripted(),
            tools=get_tools(client, on_result=printer(role)),
            max_iter=5,
        )

    sales, recruiter = agent("sales-bot", demo.sales), agent("recruiter", demo.recruiter)
    tasks = [
        Task(
            description=TASK, expected_output="What was booked", agent=sales, async_execution=True
        ),  # runs alongside the next task: a real race
        Task(description=TASK, expected_output="What was booked", agent=recruiter),
    ]
    return Crew(agents=[sales, recruiter], tasks=tasks, process=Process.sequential)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a crewai.LLM model, e.g. openai/gpt-4o-mini")
    model = parser.parse_args().model
    with demo_calendar() as demo:
        out = crew(demo, model).kickoff()
        print(f"\nCrew result: {out.raw}")
        demo.print_calendar()


if __name__ == "__main__":
    main()
