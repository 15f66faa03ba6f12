"""Stripe-shaped signatures: ``X-AgentDraft-Signature: t=<unix>,v1=<hex>``.

``v1`` is HMAC-SHA256 of ``"<t>.<raw body>"`` with the endpoint's secret. The
timestamp is signed too, so a captured delivery cannot be replayed later than
the receiver's tolerance. Receivers call :func:`verify_signature` on the raw
bytes before parsing, then dedupe on ``data.id`` (delivery is at-least-once).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from ..errors import AgentDraftError

HEADER = "X-AgentDraft-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


class WebhookSignatureError(AgentDraftError):
    """The delivery is not from this coordinator, was altered, or is too old."""

    error = "invalid_signature"
    status = 400


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else int(timestamp)
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify_signature(
    body: bytes,
    header: str | None,
    secret: str,
    *,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> dict[str, Any]:
    """Check a delivery and return its parsed JSON event, or raise WebhookSignatureError."""
    if not header:
        raise WebhookSignatureError(f"missing {HEADER} header")
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        k, _, v = item.strip().partition("=")
        parts.setdefault(k, []).append(v)
    try:
        t = int(parts["t"][0])
    except (KeyError, ValueError):
        raise WebhookSignatureError("signature header has no valid t=") from None
    current = time.time() if now is None else now
    if abs(current - t) > tolerance_seconds:
        raise WebhookSignatureError(f"timestamp {t} is outside the {tolerance_seconds}s tolerance")
    expected = sign(secret, body, t).split("v1=", 1)[1]
    if not any(hmac.compare_digest(expected, v) for v in parts.get("v1", [])):
        raise WebhookSignatureError("signature does not match the body and secret")
    return json.loads(body)
