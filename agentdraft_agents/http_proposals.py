"""``client.proposals`` over HTTP: multi-slot negotiation against a remote ``coordinator serve``.

The official SDK has no proposals; the LangGraph negotiation graphs call
``client.proposals.create/get/list/respond/resolve/cancel``. :class:`HttpProposals`
is those calls on this server's ``/v1/scheduling/proposals`` routes (httpx), answering the same
models (``Proposal``, ``Resolution``) and raising the same typed errors as the
in-process client (``ResolutionFailed``, ``InvalidState``, ``NotFound``, …), so the
graphs run unchanged. :func:`http_client` is the SDK client with it attached.
"""

from __future__ import annotations

import builtins
from typing import Any

import httpx
from pydantic_core import to_jsonable_python

from coordinator.errors import (
    AgentDraftError,
    AuthError,
    InvalidState,
    NotFound,
    RateLimited,
    ResolutionFailed,
    ValidationError,
)
from coordinator.proposals import Proposal, Resolution

#: Typed errors by HTTP status, for codes without a class of their own.
_BY_STATUS: dict[int, type[AgentDraftError]] = {
    401: AuthError,
    403: AuthError,
    404: NotFound,
    409: InvalidState,
    429: RateLimited,
}


def error_from(status: int, body: dict[str, Any]) -> AgentDraftError:
    """The coordinator's typed error for an HTTP error answer (its ``error`` code kept)."""
    code = str(body.get("error") or "internal_error")
    detail = str(body.get("detail") or code)
    context = {k: v for k, v in body.items() if k not in ("error", "detail")}
    if code == "resolution_failed":
        return ResolutionFailed(
            detail,
            proposal_id=str(context.get("proposal_id")),
            slot_id=context.get("slot_id"),
            cause=str(context.get("cause")),
            remaining_slot_ids=list(context.get("remaining_slot_ids") or []),
            **{
                k: context.get(k)
                for k in (
                    "winning_booking_id",
                    "winning_agent_id",
                    "winning_agent_priority",
                    "your_priority",
                    "audit_event_id",
                )
            },
        )
    if status == 422:
        field = str(context.get("field") or "request")
        return ValidationError(field, detail.removeprefix(f"{field}: "), error=code)
    cls = _BY_STATUS.get(status, AgentDraftError)
    return cls(detail, error=code, status=status, **context)


class HttpProposals:
    """The in-process ``client.proposals`` calls, over HTTP as one agent (its Bearer key)."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 30.0) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
        )

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        if "json" in kw:
            kw["json"] = to_jsonable_python(kw["json"])
        r = self._http.request(method, f"/v1/scheduling/proposals{path}", **kw)
        body = r.json() if r.content else {}
        if r.status_code >= 400:
            raise error_from(r.status_code, body if isinstance(body, dict) else {})
        return body

    def create(
        self,
        *,
        participant_agent_ids: list[str],
        slots: list[dict[str, Any]],
        expires_at: Any = None,
        title: str | None = None,
        description: str | None = None,
        idempotency_key: str | None = None,
    ) -> Proposal:
        body = {
            "participant_agent_ids": participant_agent_ids,
            "slots": slots,
            "expires_at": expires_at,
            "title": title,
            "description": description,
        }
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        json = {k: v for k, v in body.items() if v is not None}
        return Proposal.model_validate(self._call("POST", "", json=json, headers=headers))

    def get(self, proposal_id: str) -> Proposal:
        return Proposal.model_validate(self._call("GET", f"/{proposal_id}"))

    def list(self, status: str | None = None) -> list[Proposal]:
        params = {"status": status} if status else {}
        return [Proposal.model_validate(p) for p in self._call("GET", "", params=params)]

    def respond(
        self,
        proposal_id: str,
        *,
        response: str,
        selected_slot_id: str | None = None,
        counter_slots: builtins.list[dict[str, Any]] | None = None,
        message: str | None = None,
    ) -> Proposal:
        body = {
            "response": response,
            "selected_slot_id": selected_slot_id,
            "counter_slots": counter_slots,
            "message": message,
        }
        json = {k: v for k, v in body.items() if v is not None}
        return Proposal.model_validate(self._call("POST", f"/{proposal_id}/respond", json=json))

    def resolve(self, proposal_id: str) -> Resolution:
        return Resolution.model_validate(self._call("POST", f"/{proposal_id}/resolve", json={}))

    def cancel(self, proposal_id: str) -> Proposal:
        return Proposal.model_validate(self._call("POST", f"/{proposal_id}/cancel", json={}))

    def close(self) -> None:
        self._http.close()


def http_client(base_url: str, api_key: str) -> Any:
    """The official SDK client for ``base_url`` with ``.proposals`` over HTTP attached."""
    import agentdraft

    client = agentdraft.Client(api_key=api_key, base_url=base_url)
    client.proposals = HttpProposals(base_url, api_key)  # type: ignore[attr-defined]
    return client


__all__ = ["HttpProposals", "error_from", "http_client"]
