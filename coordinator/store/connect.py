"""Turn a Redis URL into a redis-py client the coordinator can run its scripts on.

:func:`connect` takes the URL of a Redis the user already runs (``redis://``,
``rediss://``, ``unix://``, or a Redis Cluster) and returns a client tuned for the
scripts: text responses, a pool big enough for many threads, a socket timeout longer
than any blocking command the coordinator issues. Running a local server process for
the zero-setup default is :mod:`coordinator.store.embedded`'s job.

Connection failures become :class:`~coordinator.errors.StoreUnavailable` (HTTP 503);
a URL that can never work becomes :class:`~coordinator.errors.ValidationError` on
``url``.
"""

from __future__ import annotations

import re
from typing import Any, TypeAlias
from urllib.parse import urlsplit

import redis
import redis.exceptions as rex
from redis.backoff import ExponentialWithJitterBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

from coordinator.errors import StoreUnavailable, ValidationError
from coordinator.store.errors import STORE_ERRORS

RedisClient: TypeAlias = redis.Redis | RedisCluster
"""What :func:`connect` returns: a plain client or a cluster client (same command API)."""

#: Seconds a command may take before the client gives up on the socket. Must exceed the
#: longest blocking command the engine sends (see :data:`MAX_BLOCK_SECONDS`).
SOCKET_TIMEOUT = 10.0
#: Longest BLPOP/XREAD BLOCK timeout the engine may use, in seconds; keeps a margin
#: under :data:`SOCKET_TIMEOUT` so a quiet queue is never mistaken for a dead server.
MAX_BLOCK_SECONDS = 5.0
#: Seconds to wait for a TCP/unix connect before calling the store unreachable.
CONNECT_TIMEOUT = 5.0
#: Pool size for plain Redis: comfortably above ~64 threads each holding one
#: connection plus a blocking reader or two.
MAX_CONNECTIONS = 256

_PLAIN_SCHEMES = {"redis", "rediss", "unix"}
_CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


def _retry() -> Retry:
    """Reconnect quickly after a dropped connection, but never re-send on a timeout.

    A timeout means the server may still be running the command (a long script, a
    blocking pop), so re-sending it would double the wait or the effect. A refused or
    reset connection is retried a few times within ~0.5 s: that covers a pooled
    connection gone stale after a server restart, and still surfaces a dead server
    fast enough for the caller to get a 503 rather than a hang.
    """
    return Retry(
        ExponentialWithJitterBackoff(base=0.02, cap=0.25),
        retries=3,
        supported_errors=(rex.ConnectionError,),
    )


def redact(url: str) -> str:
    """``url`` with any password (in the userinfo or a ``password=`` query) as ``***``."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "<unparseable url>"
    netloc = parts.netloc
    if parts.password is not None:
        host = parts.hostname or ""
        if port is not None:
            host = f"{host}:{port}"
        netloc = f"{parts.username or ''}:***@{host}"
    query = re.sub(r"(?i)(^|&)(password=)[^&]*", r"\1\2***", parts.query)
    shown = f"{parts.scheme}://{netloc}{parts.path}"  # urlunsplit would drop unix:// slashes
    if query:
        shown += f"?{query}"
    return shown


def _split_scheme(url: str) -> tuple[str, str]:
    if not isinstance(url, str) or not url.strip():
        raise ValidationError("url", "a Redis URL is required, e.g. redis://localhost:6379/0")
    scheme, sep, _rest = url.partition("://")
    if not sep:
        raise ValidationError("url", f"{redact(url)!r} has no scheme; expected redis://host:port")
    scheme = scheme.lower()
    if scheme not in _PLAIN_SCHEMES and scheme not in _CLUSTER_SCHEMES:
        known = ", ".join(sorted(_PLAIN_SCHEMES | set(_CLUSTER_SCHEMES)))
        raise ValidationError("url", f"unknown scheme {scheme!r}; use one of {known}")
    return scheme, url[len(scheme) + 3 :]


def connect(url: str, *, cluster: bool | None = None, **kwargs: Any) -> RedisClient:
    """Return a live client for ``url``, having checked the server answers.

    Schemes: ``redis://`` (TCP), ``rediss://`` (TLS; pass ``ssl_ca_certs=`` etc. as
    keywords or query parameters), ``unix:///path/to.sock``, and
    ``redis+cluster://`` / ``rediss+cluster://`` for Redis Cluster.

    ``cluster``: ``True`` forces a :class:`RedisCluster`; ``False`` forces a plain
    client; ``None`` (default) asks the server (``INFO cluster``) and returns a
    cluster client when ``cluster_enabled:1``, so one ``redis://`` URL works for both.

    ``kwargs`` go to redis-py and override the defaults chosen here
    (``decode_responses`` is always ``True``: the engine speaks text).

    Raises ``ValidationError("url", …)`` for a URL that can never work, and
    ``StoreUnavailable`` when the server cannot be reached now.
    """
    scheme, rest = _split_scheme(url)
    if scheme == "unix" and not urlsplit(url).path:
        raise ValidationError(
            "url", "a unix:// URL needs a socket path, e.g. unix:///run/redis.sock"
        )
    if scheme in _CLUSTER_SCHEMES:
        if cluster is False:
            raise ValidationError("url", f"{scheme}:// asks for Redis Cluster but cluster=False")
        return _connect_cluster(f"{_CLUSTER_SCHEMES[scheme]}://{rest}", url, kwargs)
    if cluster:
        if scheme == "unix":
            raise ValidationError("url", "Redis Cluster cannot be reached over a unix socket")
        return _connect_cluster(url, url, kwargs)

    client = _connect_plain(url, kwargs, unix=scheme == "unix")
    if cluster is None and scheme != "unix" and _cluster_enabled(client):
        client.close()
        return _connect_cluster(url, url, kwargs)
    return client


def plain_options(kwargs: dict[str, Any], *, unix: bool) -> dict[str, Any]:
    """redis-py pool options for one plain server (also the embedded engine's client)."""
    options: dict[str, Any] = {
        "socket_timeout": SOCKET_TIMEOUT,
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "retry": _retry(),
        "max_connections": MAX_CONNECTIONS,
        # Wait for a free pooled connection about as long as for a slow command.
        "timeout": SOCKET_TIMEOUT,
    }
    if not unix:
        options["socket_keepalive"] = True  # a TCP-only option; unix connections reject it
    options.update(kwargs)
    options["decode_responses"] = True
    return options


def _connect_plain(url: str, kwargs: dict[str, Any], *, unix: bool) -> redis.Redis:
    try:
        options = plain_options(kwargs, unix=unix)
        pool = redis.BlockingConnectionPool.from_url(url, **options)
    except ValueError as exc:  # bad port, bad query parameter
        raise ValidationError("url", f"{redact(url)!r}: {exc}") from exc
    client = redis.Redis(connection_pool=pool)
    try:
        client.ping()
    except STORE_ERRORS as exc:
        client.close()
        raise StoreUnavailable(
            f"cannot reach Redis at {redact(url)} ({type(exc).__name__}: {exc})"
        ) from exc
    return client


def _cluster_enabled(client: redis.Redis) -> bool:
    """``INFO cluster`` says whether this node is part of a Redis Cluster.

    A server with ``INFO`` disabled or renamed is taken to be plain Redis.
    """
    try:
        info = client.info("cluster")
    except rex.ResponseError:
        return False
    except STORE_ERRORS as exc:
        raise StoreUnavailable(f"cannot query Redis ({type(exc).__name__}: {exc})") from exc
    return str(info.get("cluster_enabled", "0")) == "1"


def _connect_cluster(url: str, shown: str, kwargs: dict[str, Any]) -> RedisCluster:
    options: dict[str, Any] = {
        "socket_timeout": SOCKET_TIMEOUT,
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "socket_keepalive": True,
        "retry": Retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), retries=3),
    }
    options.update(kwargs)
    options.pop("timeout", None)  # BlockingConnectionPool-only option
    options["decode_responses"] = True
    try:
        client = RedisCluster.from_url(url, **options)
        client.ping()
    except rex.RedisClusterException as exc:
        if "not enabled" in str(exc).lower():
            raise ValidationError(
                "url", f"{redact(shown)} is not a Redis Cluster node (cluster mode is off)"
            ) from exc
        raise StoreUnavailable(f"cannot reach Redis Cluster at {redact(shown)} ({exc})") from exc
    except STORE_ERRORS as exc:
        raise StoreUnavailable(
            f"cannot reach Redis Cluster at {redact(shown)} ({type(exc).__name__}: {exc})"
        ) from exc
    except ValueError as exc:
        raise ValidationError("url", f"{redact(shown)!r}: {exc}") from exc
    return client


__all__ = [
    "CONNECT_TIMEOUT",
    "MAX_BLOCK_SECONDS",
    "MAX_CONNECTIONS",
    "SOCKET_TIMEOUT",
    "RedisClient",
    "connect",
    "plain_options",
    "redact",
]
