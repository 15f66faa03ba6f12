"""Connector credentials encrypted at rest: a Fernet key that never enters Redis.

Redis holds only ciphertext. The key comes from ``$AGENTDRAFT_CONNECTOR_KEY`` (a Fernet
key), else the file ``$AGENTDRAFT_CONNECTOR_KEY_FILE`` or the configured path (for an
embedded coordinator: ``connector.key`` in its data folder), created with mode 0600 on
first use. Losing the key means re-entering the credentials, never leaking them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .errors import ConnectorError, MissingExtra

ENV_KEY = "AGENTDRAFT_CONNECTOR_KEY"
ENV_KEY_FILE = "AGENTDRAFT_CONNECTOR_KEY_FILE"


def default_key_file() -> Path:
    from ..store.embedded import default_data_dir

    return default_data_dir() / "connector.key"


def _load_or_create(path: Path) -> bytes:
    from cryptography.fernet import Fernet

    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    key = Fernet.generate_key()
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


class SecretBox:
    """Encrypts and decrypts one connector's secrets with the coordinator's key."""

    def __init__(self, key_file: str | os.PathLike[str] | None = None) -> None:
        self._key_file = key_file
        self._fernet: Any = None

    def _box(self) -> Any:
        if self._fernet is None:
            try:
                from cryptography.fernet import Fernet
            except ImportError as exc:
                raise MissingExtra(exc) from None
            env = os.environ.get(ENV_KEY)
            if env:
                key = env.encode()
            else:
                path = os.environ.get(ENV_KEY_FILE) or self._key_file or default_key_file()
                key = _load_or_create(Path(path))
            self._fernet = Fernet(key)
        return self._fernet

    def seal(self, secrets: dict[str, Any]) -> str:
        return str(self._box().encrypt(json.dumps(secrets).encode()).decode())

    def open(self, token: str) -> dict[str, Any]:
        from cryptography.fernet import InvalidToken

        try:
            return dict(json.loads(self._box().decrypt(token.encode())))
        except InvalidToken:
            raise ConnectorError(
                "the connector's credentials cannot be decrypted with this coordinator's key "
                f"(${ENV_KEY} / connector.key changed?): remove and add the connector again",
                error="connector_key_mismatch",
            ) from None
