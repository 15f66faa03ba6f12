"""LangGraph graphs that book a slot and, when another agent or a rule says no, negotiate.

* :mod:`.book_or_negotiate`: commit the wanted slot; on a lost race or an owner-rule
  refusal, counter-propose open slots inside the requester's constraints, bounded by
  ``max_rounds``; ends ``booked``, ``exhausted``, ``no_alternatives``, ``denied``,
  ``expired`` or ``failed``.
* :mod:`.consent`: when the owner's approval gate parks a commit, pause with
  ``interrupt`` until a person decided, then read the decision from the coordinator.
* :mod:`.counter_offer`: turn a 409 into a counter-offer to the winning booking's
  agent, poll (bounded) for its answer, and book the freed slot once it is accepted.
* :mod:`.policies` (deterministic, framework-free) and :mod:`.llm_policy` (a chat
  model picks): how the next slot is chosen; shared by every negotiation graph.
* :mod:`.state`, :mod:`.constraints`, :mod:`.context`: typed, JSON-ready state and the
  Runtime context that carries the client, policy and settings (never checkpointed).

Each graph comes as a builder returning the uncompiled ``StateGraph``, a ``compile_*``
helper, and its nodes and routers. Names are imported on first use, so importing this
package imports neither LangGraph nor LangChain; install
``pip install 'agentdraft-agents[langgraph]'`` to use the graphs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_getattr

if TYPE_CHECKING:  # pragma: no cover - for type checkers only; runtime uses __getattr__
    from .answers import (
        AcceptBestPolicy,
        Answer,
        AnswerError,
        AnswerPolicy,
        ChatModelAnswerPolicy,
        Window,
        WindowPolicy,
        check_answer,
    )
    from .book_or_negotiate import (
        DEFAULT_MAX_ROUNDS,
        NEGOTIATION_PATHS,
        build_book_or_negotiate_graph,
        compile_book_or_negotiate,
        counter_propose,
        prepare,
        route_after_counter,
        try_commit,
    )
    from .candidates import open_slots_near
    from .commit import commit_slot, route_booking_step
    from .consent import (
        CONSENT_PATHS,
        await_consent,
        build_consent_graph,
        compile_consent_graph,
        consent_payload,
        request_commit,
        settle_consent,
    )
    from .constraints import Constraints
    from .context import NegotiationContext
    from .counter_offer import (
        CounterContext,
        CounterOfferState,
        build_counter_offer_graph,
        compile_counter_offer,
    )
    from .llm_policy import ChatModelPolicy, ChooseSlot, DeclineAll, render_request
    from .multi_slot import (
        AnswerTask,
        MultiSlotContext,
        MultiSlotState,
        build_multi_slot_graph,
        compile_multi_slot_graph,
        fan_out,
        multi_slot_input,
        route_resolve,
        route_review,
    )
    from .policies import (
        Choice,
        ChoiceRequest,
        InvalidChoice,
        NearestPolicy,
        PolicyError,
        SlotPolicy,
        validate_choice,
    )
    from .state import (
        Attempt,
        ConsentRequest,
        ConsentState,
        NegotiationState,
        Outcome,
        SlotText,
        negotiation_input,
    )

_LAZY: dict[str, str] = {
    **dict.fromkeys(
        (
            "DEFAULT_MAX_ROUNDS",
            "NEGOTIATION_PATHS",
            "build_book_or_negotiate_graph",
            "compile_book_or_negotiate",
            "counter_propose",
            "prepare",
            "route_after_counter",
            "try_commit",
        ),
        "book_or_negotiate",
    ),
    "open_slots_near": "candidates",
    **dict.fromkeys(("commit_slot", "route_booking_step"), "commit"),
    **dict.fromkeys(
        (
            "CONSENT_PATHS",
            "await_consent",
            "build_consent_graph",
            "compile_consent_graph",
            "consent_payload",
            "request_commit",
            "settle_consent",
        ),
        "consent",
    ),
    "Constraints": "constraints",
    "NegotiationContext": "context",
    **dict.fromkeys(
        (
            "CounterContext",
            "CounterOfferState",
            "build_counter_offer_graph",
            "compile_counter_offer",
        ),
        "counter_offer",
    ),
    **dict.fromkeys(
        (
            "AcceptBestPolicy",
            "Answer",
            "AnswerError",
            "AnswerPolicy",
            "ChatModelAnswerPolicy",
            "Window",
            "WindowPolicy",
            "check_answer",
        ),
        "answers",
    ),
    **dict.fromkeys(
        (
            "AnswerTask",
            "MultiSlotContext",
            "MultiSlotState",
            "build_multi_slot_graph",
            "compile_multi_slot_graph",
            "fan_out",
            "multi_slot_input",
            "route_resolve",
            "route_review",
        ),
        "multi_slot",
    ),
    **dict.fromkeys(
        ("ChatModelPolicy", "ChooseSlot", "DeclineAll", "render_request"), "llm_policy"
    ),
    **dict.fromkeys(
        (
            "Choice",
            "ChoiceRequest",
            "InvalidChoice",
            "NearestPolicy",
            "PolicyError",
            "SlotPolicy",
            "validate_choice",
        ),
        "policies",
    ),
    **dict.fromkeys(
        (
            "Attempt",
            "ConsentRequest",
            "ConsentState",
            "NegotiationState",
            "Outcome",
            "SlotText",
            "negotiation_input",
        ),
        "state",
    ),
}


__getattr__ = lazy_getattr(__name__, _LAZY)


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "CONSENT_PATHS",
    "DEFAULT_MAX_ROUNDS",
    "NEGOTIATION_PATHS",
    "AcceptBestPolicy",
    "Answer",
    "AnswerError",
    "AnswerPolicy",
    "AnswerTask",
    "Attempt",
    "ChatModelAnswerPolicy",
    "ChatModelPolicy",
    "Choice",
    "ChoiceRequest",
    "ChooseSlot",
    "ConsentRequest",
    "ConsentState",
    "Constraints",
    "CounterContext",
    "CounterOfferState",
    "DeclineAll",
    "InvalidChoice",
    "MultiSlotContext",
    "MultiSlotState",
    "NearestPolicy",
    "NegotiationContext",
    "NegotiationState",
    "Outcome",
    "PolicyError",
    "SlotPolicy",
    "SlotText",
    "Window",
    "WindowPolicy",
    "await_consent",
    "build_book_or_negotiate_graph",
    "build_consent_graph",
    "build_counter_offer_graph",
    "build_multi_slot_graph",
    "check_answer",
    "commit_slot",
    "compile_book_or_negotiate",
    "compile_consent_graph",
    "compile_counter_offer",
    "compile_multi_slot_graph",
    "consent_payload",
    "counter_propose",
    "fan_out",
    "multi_slot_input",
    "negotiation_input",
    "open_slots_near",
    "prepare",
    "render_request",
    "request_commit",
    "route_after_counter",
    "route_booking_step",
    "route_resolve",
    "route_review",
    "settle_consent",
    "try_commit",
    "validate_choice",
]
