"""An agent loses a slot to a higher-priority sibling and negotiates onto another (LangGraph).

Run:  python examples/negotiate.py                        (offline, scripted model, ~1 s)
      python examples/negotiate.py --policy nearest       (no model: nearest allowed slot)
      python examples/negotiate.py --model openai:gpt-4o-mini

Both agents run the book-or-negotiate graph from ``agentdraft_agents.negotiation`` on
the embedded coordinator. The sales bot (priority 1) books 10:00-10:30 first. The
recruiter (priority 2) wants the same slot for Ada, who cannot start before 10:00:
its commit loses (the coordinator names the winner), the graph searches open slots
inside the owner's rules and Ada's limit, and a chat model picks one of them.

Offline the model is a ``ScriptedChatModel`` that reads the offered slots from its
prompt and picks the first. With ``--model provider:model`` (and that provider's key
in the environment, e.g. ``OPENAI_API_KEY`` with ``pip install 'langchain[openai]'``)
the same policy asks ``langchain.chat_models.init_chat_model(...)`` instead; its
answer is still checked against the offers before anything is booked.
"""

from __future__ import annotations

import argparse
from typing import Any

from _demo import END, START, TOMORROW_10, Demo, demo_calendar
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from agentdraft_agents.negotiation import (
    ChatModelPolicy,
    Constraints,
    NearestPolicy,
    NegotiationContext,
    compile_book_or_negotiate,
    negotiation_input,
)
from agentdraft_agents.testing import offered_slots
from agentdraft_agents.testing.langchain_model import ScriptedChatModel, tool_call


def scripted() -> ScriptedChatModel:
    """What a model does here: read the numbered offers and choose the first."""

    def choose_first(messages: list[BaseMessage]) -> AIMessage:
        prompt = next(m for m in messages if isinstance(m, HumanMessage))
        start, end = offered_slots(str(prompt.content))[0]
        return tool_call(
            "choose_slot", start=start, end=end, reason="the earliest offer Ada can make"
        )

    return ScriptedChatModel(steps=[choose_first])


def policy_for(policy: str, model: str | None) -> Any:
    if policy == "nearest":
        return NearestPolicy()
    if model is None:
        return ChatModelPolicy(scripted())
    from langchain.chat_models import init_chat_model

    return ChatModelPolicy(init_chat_model(model), fallback=NearestPolicy())


def report(demo: Demo, who: str, out: dict[str, Any]) -> None:
    print(f"\n== {who}: {out['outcome'].upper()}  {out['detail']}")
    for a in out["attempts"]:
        line = f"  round {a['round']}: {a['slot']['start']} -> {a['result']}"
        if a.get("winning_agent_id"):
            line += (
                f" (taken by {demo.name(a['winning_agent_id'])}, "
                f"priority {a['winning_agent_priority']})"
            )
        if a["chosen_by"] != "requested":
            line += f"  [chosen by {a['chosen_by']}: {a.get('choice_reason')}]"
        print(line)


def main(policy: str, model: str | None) -> None:
    graph = compile_book_or_negotiate()
    with demo_calendar() as demo:
        sales = graph.invoke(
            negotiation_input(START, END, title="Demo"),
            context=NegotiationContext.for_client(demo.sales),
        )
        report(demo, "sales-bot (priority 1)", sales)
        ada = Constraints(earliest_start=TOMORROW_10)  # Ada cannot start before 10:00
        recruiter = graph.invoke(
            negotiation_input(START, END, constraints=ada, title="Intro call with Ada"),
            context=NegotiationContext.for_client(demo.recruiter, policy=policy_for(policy, model)),
        )
        report(demo, "recruiter (priority 2)", recruiter)
        demo.print_calendar()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--policy",
        choices=["model", "nearest"],
        default="model",
        help="who picks the counter-proposal (default: a chat model)",
    )
    parser.add_argument(
        "--model",
        help="a real model for init_chat_model, e.g. openai:gpt-4o-mini (needs the provider's key)",
    )
    args = parser.parse_args()
    main(args.policy, args.model)
