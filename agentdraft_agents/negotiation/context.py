"""What the graphs need but must not checkpoint: the agent's client, its policy, settings.

Passed per run as LangGraph Runtime context (``graph.invoke(state, config,
context=NegotiationContext(...))``), so a key never lands in a checkpoint and a
resumed run may use a fresh client. Pass it again with ``Command(resume=...)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from ..core import BookingService
from .policies import NearestPolicy, SlotPolicy


@dataclass(frozen=True)
class NegotiationContext:
    """One agent's dependencies for a negotiation run.

    ``service`` books as that agent (its identity is in the client, never in state).
    ``policy`` picks each counter-proposal. ``horizon`` bounds the search around the
    wanted start, ``granularity_minutes`` spaces candidate starts, ``max_offers``
    caps how many the policy sees. ``commit_options`` go to every commit (buffers,
    metadata, invitee…; the state's ``title`` and ``idempotency_key`` are added).
    """

    service: BookingService
    policy: SlotPolicy = field(default_factory=NearestPolicy)
    horizon: timedelta = timedelta(days=2)
    granularity_minutes: int = 15
    max_offers: int = 8
    commit_options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def for_client(cls, client: Any, **options: Any) -> NegotiationContext:
        """A context over a bare client (embedded, or the official SDK over HTTP).

        The service's own alternative search is off: the graph searches itself,
        within the constraints.
        """
        return cls(service=BookingService(client, alternatives=0), **options)


__all__ = ["NegotiationContext"]
