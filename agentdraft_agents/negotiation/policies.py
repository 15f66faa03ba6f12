"""How the next slot is chosen: a policy sees only slots that may be booked, and picks one.

A graph gathers the offers (open on the calendar, so inside the owner's rules, and
inside the requester's :class:`~.constraints.Constraints`) and hands them to a
:class:`SlotPolicy` as a :class:`ChoiceRequest`. The policy answers with a
:class:`Choice`: one of the offers, or none with a reason. Whatever a policy
answers is checked with :func:`validate_choice` before anything is booked, so a
custom policy (or a model) can never book a slot that was not offered.

Policies are framework-free and synchronous so every negotiation graph, this
package's and later ones, can share them. The model-backed policy lives in
:mod:`.llm_policy` (it imports LangChain).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from ..core import parse_time
from ..results import Slot, iso
from .constraints import Constraints
from .state import Attempt


@dataclass(frozen=True)
class ChoiceRequest:
    """What a policy decides on: the wanted slot and the offers that may replace it."""

    wanted: Slot
    #: Open, inside the owner's rules and the requester's constraints, nearest first.
    offers: tuple[Slot, ...]
    constraints: Constraints = field(default_factory=Constraints)
    #: Every attempt so far, oldest first (who beat us, which rule refused).
    history: tuple[Attempt, ...] = ()
    title: str | None = None


@dataclass(frozen=True)
class Choice:
    """A policy's answer: ``slot`` is one of the offers, or None to stop negotiating."""

    slot: Slot | None
    reason: str = ""


@runtime_checkable
class SlotPolicy(Protocol):
    """Picks the next slot to try; implementations may be deterministic or ask a model."""

    def choose(self, request: ChoiceRequest) -> Choice:
        """One of ``request.offers`` (or none, with a reason)."""
        ...


class PolicyError(RuntimeError):
    """A policy could not produce a usable choice."""


class InvalidChoice(PolicyError):
    """A policy (often a model) answered with a slot that was not offered.

    ``answer`` is what it said, ``offers`` what it was given; nothing was booked.
    """

    def __init__(self, message: str, *, answer: object, offers: Sequence[Slot]) -> None:
        super().__init__(message)
        self.answer = answer
        self.offers = tuple(offers)


def distance(slot: Slot, wanted: Slot) -> tuple[float, datetime]:
    """Sort key: seconds from the wanted start, then the earlier slot first."""
    return abs((slot.start - wanted.start).total_seconds()), slot.start


def validate_choice(request: ChoiceRequest, start: datetime | str, end: datetime | str) -> Slot:
    """The offered slot with exactly this start and end, or :class:`InvalidChoice`.

    Instants are compared, not spellings: ``10:00Z`` and ``12:00+02:00`` match.
    """
    offered = "; ".join(f"{iso(o.start)} to {iso(o.end)}" for o in request.offers) or "none"
    try:
        s, e = parse_time(start, "start"), parse_time(end, "end")
    except ValueError as exc:
        raise InvalidChoice(
            f"the chosen slot is not a valid time: {exc}. Offered: {offered}",
            answer=(start, end),
            offers=request.offers,
        ) from None
    for o in request.offers:
        if o.start == s and o.end == e:
            return o
    raise InvalidChoice(
        f"{iso(s)} to {iso(e)} is not one of the offered slots ({offered}); "
        "only an offered slot is open and allowed by the owner's rules and the constraints",
        answer=(start, end),
        offers=request.offers,
    )


@dataclass(frozen=True)
class NearestPolicy:
    """The offer whose start is nearest the wanted start; ties go to the earlier one.

    Deterministic, so a negotiation replays the same way; the default everywhere.
    """

    name: str = "nearest"

    def choose(self, request: ChoiceRequest) -> Choice:
        ok = [o for o in request.offers if request.constraints.allows(o, request.wanted)]
        if not ok:
            return Choice(None, "no offered slot meets the constraints")
        best = min(ok, key=lambda o: distance(o, request.wanted))
        return Choice(best, "the open slot nearest the wanted time")


def policy_name(policy: object) -> str:
    """How attempts name the policy that chose them."""
    name = getattr(policy, "name", None)
    return name if isinstance(name, str) and name else type(policy).__name__


__all__ = [
    "Choice",
    "ChoiceRequest",
    "InvalidChoice",
    "NearestPolicy",
    "PolicyError",
    "SlotPolicy",
    "distance",
    "policy_name",
    "validate_choice",
]
