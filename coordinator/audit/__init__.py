"""The audit subsystem: query the hash-chained streams, prove the state from them,
sign checkpoints of their heads, lock them with ACLs and archive old entries."""

from __future__ import annotations

from .chain import chain_text
from .log import AuditLog

__all__ = ["AuditLog", "chain_text"]
