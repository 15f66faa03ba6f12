"""Which Redis errors mean "the store did not answer", and how they become a 503.

Every module that talks to Redis wraps its calls in :func:`store_errors` so a lost
connection, a timeout or a cluster that is resharding reaches the caller as one
typed :class:`~coordinator.errors.StoreUnavailable` (HTTP 503) that says the outcome
is unknown and that retrying with the same idempotency key is safe. A bug in a
command (``ResponseError``) is not in the list: it stays a bug.
"""

from __future__ import annotations

from types import TracebackType

import redis.exceptions as rex

from coordinator.errors import StoreUnavailable

#: Errors that mean "the store did not answer", as opposed to a bug in a command.
#: Callers catch these and re-raise :func:`unavailable`.
STORE_ERRORS: tuple[type[Exception], ...] = (
    rex.ConnectionError,  # includes BusyLoadingError, AuthenticationError, MaxConnectionsError
    rex.TimeoutError,
    rex.ClusterDownError,  # includes MasterDownError
    rex.SlotNotCoveredError,
    rex.TryAgainError,
    rex.ReadOnlyError,
)


def unavailable(exc: Exception, where: str) -> StoreUnavailable:
    """Wrap a redis connection/timeout error raised mid-operation as a 503.

    Use as ``except STORE_ERRORS as e: raise unavailable(e, "commit booking") from e``.
    The detail names the step and the low-level cause so an operator can act on it,
    and says what a caller relies on (:data:`coordinator.errors.OUTCOME_UNKNOWN`): the
    outcome is unknown; a retry with the same idempotency key returns the original.
    """
    return StoreUnavailable.during(where, exc)


class store_errors:  # lower case: used like the function it replaced
    """Turn a lost Redis connection into :class:`StoreUnavailable`.

    A class rather than a ``@contextmanager`` generator: it wraps every script call,
    and entering and leaving a generator-based one cost more than packing a read.
    """

    __slots__ = ("where",)

    def __init__(self, where: str) -> None:
        self.where = where

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is not None and issubclass(kind, STORE_ERRORS):
            assert isinstance(exc, Exception)
            raise unavailable(exc, self.where) from exc


__all__ = ["STORE_ERRORS", "store_errors", "unavailable"]
