"""Booking calls the official SDK cannot make, sent through the SDK's own transport.

``agentdraft`` 0.1.3 has no ``bookings.get`` or ``bookings.list``, cannot pass a hold's
``hold_ttl_seconds``, and its ``Booking`` drops ``bump_until`` (until when a commit can
still be displaced), and always sends buffers of 0 (so the owner's default buffers never
apply). The tools need all of these, so against an SDK client they call this server's
routes with ``client._request``: the SDK's own base URL, key, headers and typed errors
(``Conflict``, ``RuleViolation``, …), only the body and the answer are complete.
"""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

#: Body fields a write passes through as given (``None`` = left out, the server's default).
_WRITE_FIELDS = (
    "buffer_before_min",
    "buffer_after_min",
    "bump_window_seconds",
    "hold_ttl_seconds",
    "metadata",
    "title",
    "invitee",
    "with_conferencing",
    "availability_etag",
)


def is_sdk(client: Any) -> bool:
    """Whether ``client`` is the official SDK (its transport, without our read calls)."""
    return callable(getattr(client, "_request", None)) and not hasattr(client.bookings, "list")


def write(client: Any, mode: str, *, start: datetime, end: datetime, **options: Any) -> Any:
    """``POST /v1/bookings`` (a commit or a hold) with every field the server takes."""
    body = {"start": start.isoformat(), "end": end.isoformat(), "mode": mode}
    body.update({k: options[k] for k in _WRITE_FIELDS if options.get(k) is not None})
    key = options.get("idempotency_key")
    headers = {"Idempotency-Key": key} if key else None
    _, answer, _ = client._request("POST", "/v1/bookings", json=body, headers=headers)
    return SimpleNamespace(**answer)


def get(client: Any, booking_id: str) -> Any:
    """``GET /v1/bookings/{id}``: the booking as it stands, who ended it."""
    return SimpleNamespace(**client._request("GET", f"/v1/bookings/{booking_id}")[1])


def page(client: Any, *, start: datetime, end: datetime, limit: int) -> Any:
    """``GET /v1/bookings``: the caller's own bookings overlapping ``[start, end)``."""
    params = {"start": start.isoformat(), "end": end.isoformat(), "limit": limit}
    answer = client._request("GET", "/v1/bookings", params=params)[1]
    return SimpleNamespace(
        bookings=[SimpleNamespace(**b) for b in answer.get("bookings", [])],
        next_cursor=answer.get("next_cursor"),
    )


__all__ = ["get", "is_sdk", "page", "write"]
