"""Which coordinator the tools talk to, and as which agent, when no client is passed.

``resolve_client()`` decides, in this order:

1. ``client`` given: used as is (``coord.client(key)``, ``agentdraft.Client(...)``, …).
2. ``AGENTDRAFT_BASE_URL`` set: a server (this project's, or the hosted service),
   through the official ``agentdraft.Client`` with ``AGENTDRAFT_API_KEY`` (and
   ``.proposals`` over HTTP attached, see :mod:`.http_proposals`). If the
   ``agentdraft`` package is missing this is an ``ImportError``, *not* a fallback
   to the local coordinator: agents that think they share a server while each
   books a private local calendar would double-book the very person they serve.
3. ``AGENTDRAFT_API_KEY`` set without a URL: that key on the embedded coordinator
   in ``AGENTDRAFT_DATA_DIR`` (default ``~/.agentdraft/data``). Nothing goes to the
   network unless a URL says so; an unknown key is an ``AuthError`` that says to
   set ``AGENTDRAFT_BASE_URL`` for a server. (The ``agentdraft-langchain`` package
   sends a bare key to the hosted service instead; we do not guess.)
4. Neither: the *embedded default identity*. One local owner, ``usr_local``
   (timezone UTC, created on first use), and one agent per name
   (``agent_name``, else ``$AGENTDRAFT_AGENT_NAME``, else ``local-agent``). The
   agent is created on first use and its key kept in
   ``<data dir>/agents/<name>.key`` (mode 0600), so every process that uses the
   same name on the same folder is the same agent. A new name ranks below every
   existing agent, so the first local agent has priority 1. Give two processes
   different names and they are ranked siblings on one calendar.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ENV_API_KEY = "AGENTDRAFT_API_KEY"
ENV_BASE_URL = "AGENTDRAFT_BASE_URL"
ENV_AGENT_NAME = "AGENTDRAFT_AGENT_NAME"
LOCAL_OWNER_ID = "usr_local"
DEFAULT_AGENT_NAME = "local-agent"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

_coordinators: dict[Path, Any] = {}
_coordinators_lock = threading.Lock()


def resolve_client(
    client: Any = None,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    agent_name: str | None = None,
) -> Any:
    """A client with the SDK surface, chosen as the module docstring explains."""
    if client is not None:
        return client
    api_key = api_key or os.environ.get(ENV_API_KEY) or None
    base_url = base_url or os.environ.get(ENV_BASE_URL) or None
    if base_url:
        try:
            import agentdraft
        except ImportError:
            raise ImportError(
                f"{ENV_BASE_URL} is set, so the tools talk to that server through the official "
                "SDK: pip install agentdraft (or unset it to use the embedded coordinator)."
            ) from None
        if api_key:  # the SDK has no proposals: attach them over HTTP (same server, same key)
            from .http_proposals import http_client

            return http_client(base_url, api_key)
        return agentdraft.Client(api_key=api_key, base_url=base_url)
    coord = embedded_coordinator(data_dir)
    if api_key:
        from coordinator import AuthError

        try:
            return coord.client(api_key)
        except AuthError as exc:
            raise AuthError(
                f"{ENV_API_KEY} is not a key of the embedded coordinator in "
                f"{_data_dir(data_dir)} ({exc.detail}). To use a server, also set "
                f"{ENV_BASE_URL}.",
                status=401,
            ) from None
    return default_local_client(coord, data_dir, agent_name)


def embedded_coordinator(data_dir: str | os.PathLike[str] | None = None) -> Any:
    """One shared ``Coordinator.embedded`` per data folder for this process."""
    from coordinator import Coordinator

    folder = _data_dir(data_dir)
    with _coordinators_lock:
        coord = _coordinators.get(folder)
        if coord is None:
            coord = _coordinators[folder] = Coordinator.embedded(folder)
        return coord


def close_embedded_coordinators() -> None:
    """Close the shared coordinators :func:`embedded_coordinator` made (their proposal
    timers with them), say before the engine they use is stopped; the next call makes
    a new one."""
    with _coordinators_lock:
        coords = list(_coordinators.values())
        _coordinators.clear()
    for coord in coords:
        coord.close()


def default_local_client(
    coord: Any, data_dir: str | os.PathLike[str] | None = None, agent_name: str | None = None
) -> Any:
    """The named local agent of ``usr_local``, created (and its key saved) on first use."""
    from coordinator import AuthError, ValidationError

    name = agent_name or os.environ.get(ENV_AGENT_NAME) or DEFAULT_AGENT_NAME
    if not _NAME.match(name):
        raise ValueError(f"agent name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
    folder = _data_dir(data_dir) / "agents"
    folder.mkdir(parents=True, exist_ok=True)
    key_file = folder / f"{name}.key"
    with _file_lock(folder / ".lock"):
        if key_file.exists():
            with contextlib.suppress(AuthError):
                return coord.client(key_file.read_text().strip())
        try:
            coord.owners.create(timezone="UTC", user_id=LOCAL_OWNER_ID)
        except ValidationError as exc:
            if exc.error != "exists":
                raise
        created = coord.agents.create(LOCAL_OWNER_ID, name=name)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(created.api_key + "\n")
        return coord.client(created.api_key)


def _data_dir(data_dir: str | os.PathLike[str] | None) -> Path:
    from coordinator.store.embedded import default_data_dir

    return Path(data_dir).expanduser().resolve() if data_dir else default_data_dir().resolve()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Serialise first-use creation across processes sharing the folder."""
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


__all__ = [
    "DEFAULT_AGENT_NAME",
    "ENV_AGENT_NAME",
    "ENV_API_KEY",
    "ENV_BASE_URL",
    "LOCAL_OWNER_ID",
    "close_embedded_coordinators",
    "default_local_client",
    "embedded_coordinator",
    "resolve_client",
]
