"""Offline stand-ins for an LLM, to drive a framework's *real* agent loop in tests and demos.

No model key is needed: a scripted model emits the tool calls a real model would,
and its later steps may read the last tool result (the text a real model would
read) to decide, for example, which offered alternative to book. Everything
else (the agent loop, tool dispatch, argument validation, error handling) is the
framework's own code.

* :mod:`.langchain_model`: ``ScriptedChatModel`` for LangChain / LangGraph agents.
* :mod:`.crewai_llm`: ``ScriptedLLM`` for CrewAI.
* AutoGen ships its own (``autogen_ext.models.replay.ReplayChatCompletionClient``).
"""

from __future__ import annotations

import re

#: An offer line: ``1. start=… end=…``, then (for an owner outside UTC) their wall clock.
_OFFER = re.compile(r"^\d+\. start=(\S+) end=(\S+)(?: \(.*\))?$", re.MULTILINE)


def offered_slots(text: str) -> list[tuple[str, str]]:
    """``(start, end)`` of every slot a tool result offers, in the order offered.

    Parses the numbered ``start=… end=…`` lines of a lost-race answer, i.e. exactly
    what a model reads; a scripted step uses it to take the first offer.
    """
    return _OFFER.findall(text)


__all__ = ["offered_slots"]
