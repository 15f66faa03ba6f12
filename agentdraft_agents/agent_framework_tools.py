"""Microsoft Agent Framework tools, with the owner's approval gate as the framework's approvals.

The shared tool set as ``agent_framework.FunctionTool``s (the spec's argument model
is each tool's ``input_model``, so parameters carry their descriptions), plus
``agentdraft_check_approval`` with ``approval_mode="always_require"``:

1. A commit the owner's ``require_approval`` rule parks answers ``consent_required``
   (request id and hold id in the text); the model calls ``agentdraft_check_approval``.
2. That call pauses the run: ``response.user_input_requests`` holds a
   ``function_approval_request`` whose arguments name the request.
3. Your app asks the person and resumes with :func:`decide`, which records the
   decision on the owner's side (``approvals=coord.approvals``, when your app is the
   owner; leave it out if the person decides on the dashboard) and returns the
   message to resume with: ``agent.run(decide(req, True, approvals), session=session)``
   in the SAME session, or the framework ignores the answer.
4. Approved: the tool runs and reads the coordinator's record (booked, or taken by a
   better booking meanwhile). Denied: the coordinator released the hold and the model
   reads the framework's rejection, so it stands down.
"""

from __future__ import annotations

from typing import Any, Literal, Unpack

try:
    from agent_framework import Content, FunctionTool, Message
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "agentdraft_agents' Agent Framework tools need agent-framework-core: "
        "pip install 'agentdraft-agents[agent-framework]'"
    ) from exc

from . import specs
from .core import BookingService


def make_tool(
    spec: specs.ToolSpec,
    service: BookingService,
    approval_mode: Literal["always_require", "never_require"] = "never_require",
) -> FunctionTool:
    """An Agent Framework tool for ``spec``, bound to ``service`` (one agent)."""

    async def call(**arguments: Any) -> str:
        return spec.text(await spec.ainvoke(service, arguments))

    return FunctionTool(
        name=spec.name,
        description=spec.description,
        func=call,
        input_model=spec.args,
        approval_mode=approval_mode,
    )


def get_tools(client: Any = None, **options: Unpack[specs.ToolOptions]) -> list[FunctionTool]:
    """The recommended tool set; ``agentdraft_check_approval`` waits for the person's decision."""
    service, chosen = specs.bind(client, **options)
    return [
        make_tool(s, service, "always_require" if s is specs.CHECK_APPROVAL else "never_require")
        for s in chosen
    ]


def consent_request_id(request: Content) -> str | None:
    """The approval request a paused ``agentdraft_check_approval`` call names, if it is one."""
    call = getattr(request, "function_call", None)
    if call is None or call.name != specs.CHECK_APPROVAL.name:
        return None
    arguments = call.parse_arguments() or {}
    rid = arguments.get("consent_request_id")
    return rid if isinstance(rid, str) else None


def decide(
    request: Content, approved: bool, approvals: Any = None, *, note: str | None = None
) -> Message:
    """The person's decision on a paused call, as the message that resumes the run.

    With ``approvals`` (the owner's side, e.g. ``coord.approvals``) and a paused
    ``agentdraft_check_approval``, the decision is recorded with the coordinator
    first: approving commits the parked booking, denying releases its hold.
    """
    rid = consent_request_id(request)
    if approvals is not None and rid is not None:
        if approved:
            approvals.approve(rid, note=note)
        else:
            approvals.deny(rid, note=note)
    return Message(role="user", contents=[request.to_function_approval_response(approved)])


__all__ = ["consent_request_id", "decide", "get_tools", "make_tool"]
