"""A monotonic clock a test moves by hand, for code that takes a ``clock`` callable."""

from __future__ import annotations


class ManualClock:
    """Returns ``now`` (seconds) until the test sets it: time passes only when told to."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
