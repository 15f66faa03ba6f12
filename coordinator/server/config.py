"""The server's configuration from the environment: one table, read in one place.

``coordinator serve`` turns its flags into these variables before uvicorn starts
its workers, and ``app_from_env`` (the ``uvicorn --factory`` entry point) reads
them, so a server started either way is configured the same. README "Production"
lists them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import ValidationError
from ..store.connect import redact
from ..store.embedded import default_data_dir
from .limits import DEFAULT_MAX_BODY_BYTES

#: (variable, ``serve`` flag, meaning) for every setting; the README table follows it.
VARIABLES: tuple[tuple[str, str, str], ...] = (
    ("AGENTDRAFT_REDIS_URL", "--redis-url", "redis://, rediss:// (TLS), unix:// or a Cluster node"),
    ("AGENTDRAFT_DATA_DIR", "--data-dir", "embedded engine folder when no Redis URL is given"),
    ("AGENTDRAFT_DEV", "--dev", "1: magic-link sign-in returns the token in the body"),
    (
        "AGENTDRAFT_PUBLIC_URL",
        "--public-url",
        "origin browsers use (CSRF check behind a proxy); receipts' iss",
    ),
    ("AGENTDRAFT_ARBITRATION_WINDOW_MS", "--window-ms", "arbitration window"),
    ("AGENTDRAFT_MAX_BODY_BYTES", "--max-body-bytes", "largest request body (default 1 MiB)"),
    ("AGENTDRAFT_HEADER_TIMEOUT", "--header-timeout", "seconds to send request headers (10)"),
    ("AGENTDRAFT_BODY_TIMEOUT", "--body-timeout", "seconds to send a request body (30)"),
    ("AGENTDRAFT_MAX_HEADER_BYTES", "", "largest request line + headers (64 KiB; then 431)"),
    ("AGENTDRAFT_METRICS", "--metrics", "1: serve Prometheus metrics at /metrics"),
    ("AGENTDRAFT_METRICS_PORT", "--metrics-port", "serve the metrics on this port instead"),
    ("AGENTDRAFT_LOG_FORMAT", "--log-format", "text or json (one line per request at INFO)"),
    ("AGENTDRAFT_LOG_LEVEL", "--log-level", "warning (default), info logs every request"),
    ("AGENTDRAFT_CONNECTOR_SYNC", "", "0: do not run the connector sync worker here"),
    ("AGENTDRAFT_CONNECTOR_SYNC_WAIT", "", "seconds Sync now waits for a running pull (15)"),
    ("AGENTDRAFT_CONNECTOR_ALLOW_HOSTS", "", "internal calendar hosts/networks allowed"),
    ("AGENTDRAFT_DISPATCH", "--dispatch", "1: deliver webhooks from this process too"),
    ("AGENTDRAFT_MAGIC_LINKS_PER_MINUTE", "", "magic links per client address (10)"),
    ("AGENTDRAFT_LOGIN_TOKEN_TTL", "", "seconds a CLI login token stays valid (900)"),
    ("AGENTDRAFT_WEBHOOK_ALLOW_HOSTS", "", "internal webhook hosts/networks allowed (dev)"),
    ("AGENTDRAFT_WEBHOOK_ALLOW_PORTS", "", "webhook ports allowed besides 80/443"),
    (
        "AGENTDRAFT_RECEIPT_KEY_FILE",
        "",
        "receipt signing keys (0600; receipt_keys.json in the data dir)",
    ),
    ("AGENTDRAFT_CONFERENCING_PROVIDER", "", "link maker for with_conferencing (jitsi; none: off)"),
    ("AGENTDRAFT_CONFERENCING_BASE_URL", "", "Jitsi instance (https://meet.jit.si)"),
    ("AGENTDRAFT_AUDIT_KEY", "", "audit signing key (0600; audit-signing.key in the data dir)"),
    (
        "AGENTDRAFT_AUDIT_CHECKPOINT_EVERY",
        "",
        "sign every N-th audit entry as it is written (0: off)",
    ),
)


def _int(name: str, default: int | None) -> int | None:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValidationError(name, "must be a whole number") from exc


@dataclass(frozen=True)
class ServerConfig:
    redis_url: str | None = None
    data_dir: str | None = None
    dev: bool = False
    arbitration_window_ms: int | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    metrics: bool = False
    metrics_port: int | None = None
    json_logs: bool = False
    log_level: str = "warning"
    connector_sync: bool = True
    dispatch: bool = False
    audit_checkpoint_every: int = 0

    @classmethod
    def from_env(cls) -> ServerConfig:
        env = os.environ.get
        fmt = (env("AGENTDRAFT_LOG_FORMAT") or "text").lower()
        if fmt not in ("text", "json"):
            raise ValidationError("AGENTDRAFT_LOG_FORMAT", "must be text or json")
        from ..connectors.registry import sync_wait_seconds

        sync_wait_seconds()  # read per request; a bad value is refused at start-up
        return cls(
            redis_url=env("AGENTDRAFT_REDIS_URL") or None,
            data_dir=env("AGENTDRAFT_DATA_DIR") or None,
            dev=env("AGENTDRAFT_DEV") == "1",
            arbitration_window_ms=_int("AGENTDRAFT_ARBITRATION_WINDOW_MS", None),
            max_body_bytes=_int("AGENTDRAFT_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES) or 1,
            metrics=env("AGENTDRAFT_METRICS") == "1",
            metrics_port=_int("AGENTDRAFT_METRICS_PORT", None),
            json_logs=fmt == "json",
            log_level=env("AGENTDRAFT_LOG_LEVEL") or "warning",
            connector_sync=env("AGENTDRAFT_CONNECTOR_SYNC") != "0",
            dispatch=env("AGENTDRAFT_DISPATCH") == "1",
            audit_checkpoint_every=_int("AGENTDRAFT_AUDIT_CHECKPOINT_EVERY", 0) or 0,
        )

    def embedded_dir(self) -> Path | None:
        """The embedded engine's folder, or None when a Redis URL is configured."""
        if self.redis_url:
            return None
        return Path(self.data_dir) if self.data_dir else default_data_dir()

    def describe_store(self) -> str:
        if self.redis_url:
            return redact(self.redis_url)
        return f"embedded engine in {self.embedded_dir()}"
