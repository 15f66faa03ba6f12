"""Webhooks: endpoints, the outbox dispatcher, and the receiver's signature check.

``coord.webhooks.register(user_id, url)`` switches a calendar's outbox on;
``coordinator webhooks dispatch`` delivers; receivers call
:func:`verify_signature` and dedupe on ``data.id``.
"""

from .registry import EVENT_TYPES, Endpoint, Webhooks
from .signing import HEADER, WebhookSignatureError, sign, verify_signature

__all__ = [
    "EVENT_TYPES",
    "HEADER",
    "Endpoint",
    "WebhookSignatureError",
    "Webhooks",
    "sign",
    "verify_signature",
]
