"""Fixtures that start real Redis engines: the three backends the coordinator runs on.

``backend`` is parametrized over ``embedded``, ``server`` and ``cluster`` so a test
that takes it (directly or through a fixture built on it) runs once per backend.
Servers are started lazily: a run that selects only ``-k embedded`` starts no cluster.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from coordinator.store.embedded import stop_embedded
from tests.support.servers import Backend, RedisCluster, RedisServer

BACKENDS = ["embedded", "server", "cluster"]


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One private redis-server for the session (no persistence)."""
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisCluster]:
    """One three-master Redis Cluster for the session."""
    with RedisCluster() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def embedded_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A data folder for the embedded engine; its server is stopped after the session."""
    folder = tmp_path_factory.mktemp("embedded")
    yield folder
    stop_embedded(folder)


@pytest.fixture(scope="session", params=BACKENDS, ids=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    """Where the coordinator keeps its state, once per backend kind."""
    name: str = request.param
    if name == "embedded":
        folder: Path = request.getfixturevalue("embedded_dir")
        return Backend(name=name, url=None, data_dir=folder)
    if name == "server":
        server: RedisServer = request.getfixturevalue("redis_server")
        return Backend(name=name, url=server.url, data_dir=None)
    cluster: RedisCluster = request.getfixturevalue("redis_cluster")
    return Backend(name=name, url=cluster.url, data_dir=None)


@pytest.fixture
def fresh_redis_server() -> Iterator[RedisServer]:
    """A new redis-server for one test (append-only, fsync always) to kill or restart."""
    with RedisServer(appendonly=True) as server:
        yield server
