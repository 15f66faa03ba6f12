"""Per-key rate limits: their configuration, checked once, and what an empty bucket says.

The token bucket itself lives in Redis (``lua/_access.lua``) and is charged inside
the same script as the call it guards, so the limit holds across every process and
thread sharing the Redis, and costs a write no extra round trip. Each agent has
one live key at a time, so the per-agent bucket is the per-key bucket; an owner can
give one agent other limits (``coord.agents.set_rate_limit``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import ValidationError

#: The protocol's defaults: 60 requests per second per key, bursts of up to 600.
DEFAULT_PER_SECOND = 60.0
DEFAULT_BURST = 600
MAX_PER_SECOND = 1_000_000.0
MAX_BURST = 1_000_000


@dataclass(frozen=True)
class RateLimit:
    """A token bucket: ``burst`` tokens, refilled at ``per_second``."""

    per_second: float = DEFAULT_PER_SECOND
    burst: int = DEFAULT_BURST

    def __post_init__(self) -> None:
        check_per_second(self.per_second)
        check_burst(self.burst)

    def as_arg(self) -> dict[str, Any]:
        """The ``limits`` object the scripts take."""
        return {"rate": self.per_second, "burst": self.burst}


def check_per_second(value: Any, field: str = "rate_limit_per_second") -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0.0001 <= value <= MAX_PER_SECOND
    ):
        raise ValidationError(field, f"must be requests/s in 0.0001..{MAX_PER_SECOND:g}")
    return float(value)


def check_burst(value: Any, field: str = "rate_limit_burst") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_BURST:
        raise ValidationError(field, f"must be a whole number of requests in 1..{MAX_BURST}")
    return value
