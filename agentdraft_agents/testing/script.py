"""A framework-neutral script of model turns, for the scripted models of the newer frameworks.

A turn is a :class:`Call` (call one tool), a ``str`` (the final answer), or a
function of the last tool result's text returning one of those, so a scripted
agent can read what a real model would read and, say, book the first offered
slot (:func:`take_first_offer`). Each framework's scripted model only converts
its own messages to "last tool text" and a turn to its own response type.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import offered_slots

_ids = itertools.count(1)


@dataclass(frozen=True)
class Call:
    """One tool call: the tool's name and the model's arguments."""

    name: str
    args: dict[str, Any]
    id: str = field(default_factory=lambda: f"call_{next(_ids)}")


def call(name: str, **args: Any) -> Call:
    """A turn that calls ``name`` with ``args``."""
    return Call(name, args)


Turn = Call | str
Step = Turn | Callable[[str], Turn]


def take_first_offer(tool: str, *, done: str = "Booked the slot I asked for.") -> Step:
    """A step that books the first slot the last tool result offered, or ends if none."""

    def step(text: str) -> Turn:
        offers = offered_slots(text)
        if not offers:
            return done
        return call(tool, start=offers[0][0], end=offers[0][1])

    return step


class Script:
    """Plays ``steps`` one per model turn; records the tool texts the model was shown."""

    def __init__(self, steps: Sequence[Step]) -> None:
        self.steps = list(steps)
        self.cursor = 0
        #: The last tool result's text before each turn (``None`` before the first).
        self.seen: list[str | None] = []
        #: The turns played, in order.
        self.turns: list[Turn] = []

    def next(self, last_tool_text: str | None) -> Turn:
        if self.cursor >= len(self.steps):
            raise RuntimeError(f"script exhausted after {len(self.steps)} model turns")
        step = self.steps[self.cursor]
        self.cursor += 1
        self.seen.append(last_tool_text)
        if callable(step):
            if last_tool_text is None:
                raise LookupError("this step reads a tool result, but none came yet")
            step = step(last_tool_text)
        self.turns.append(step)
        return step

    def transcript(self) -> list[str]:
        """The conversation as lines: ``<-`` what the model read, ``->`` its call, ``>>`` answer."""
        lines: list[str] = []
        for seen, turn in zip(self.seen, self.turns, strict=True):
            if seen is not None:
                lines.append("  <- " + seen.replace("\n", "\n     "))
            if isinstance(turn, Call):
                args = ", ".join(f"{k}={v!r}" for k, v in turn.args.items())
                lines.append(f"  -> {turn.name}({args})")
            else:
                lines.append(f"  >> {turn}")
        return lines


__all__ = ["Call", "Script", "Step", "Turn", "call", "take_first_offer"]
