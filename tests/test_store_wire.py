"""The packed EVALSHA path (store/wire.py) answers and fails as redis-py's ``Script`` does.

Each test calls the same script both ways on a real redis-server and compares what
comes back or what is raised; the pool tests use a one-connection pool, so a
connection the fast path failed to give back would make the next call time out.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
import redis.cluster
import redis.exceptions as rex

from coordinator.store import connect
from coordinator.store.wire import PackedScript, packs, register
from tests.support.servers import RedisCluster, RedisServer

ECHO = "return {KEYS[1], ARGV[1], ARGV[2], #ARGV}"
FAILS = "return redis.error_reply('ERR refused: ' .. ARGV[1])"
RAISES = "return redis.call('INCR', KEYS[1])"


@pytest.fixture
def client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    c = connect(redis_server.url)
    yield c
    c.close()


def test_a_plain_client_gets_the_packed_path_and_a_cluster_keeps_redis_pys_script(
    redis_server: RedisServer, redis_cluster: RedisCluster
) -> None:
    plain = connect(redis_server.url)
    single = redis.Redis.from_url(redis_server.url, single_connection_client=True)
    cluster = connect(redis_cluster.url)
    try:
        assert packs(plain) and isinstance(register(plain, ECHO), PackedScript)
        assert not packs(single)
        assert not packs(cluster)
        script = register(cluster, ECHO)
        assert not isinstance(script, PackedScript)
        assert script(keys=["{t}:k"], args=["a", 1]) == ["{t}:k", "a", "1", 2]
    finally:
        plain.close()
        single.close()
        cluster.close()


@pytest.mark.parametrize("decode", [True, False])
def test_replies_are_the_same_as_redis_pys_script(redis_server: RedisServer, decode: bool) -> None:
    c = redis.Redis.from_url(redis_server.url, decode_responses=decode)
    try:
        args = ["é", 1.5, b"\x00\xff", 12345678901234567890, "", -3]
        packed, generic = PackedScript(c, ECHO), c.register_script(ECHO)
        assert packed.sha == generic.sha
        assert packed(keys=["wire:k"], args=args) == generic(keys=["wire:k"], args=args)
    finally:
        c.close()


def test_an_error_reply_raises_the_same_exception(client: redis.Redis) -> None:
    packed, generic = PackedScript(client, FAILS), client.register_script(FAILS)
    with pytest.raises(rex.ResponseError) as fast:
        packed(args=["x"])
    with pytest.raises(rex.ResponseError) as slow:
        generic(args=["x"])
    assert type(fast.value) is type(slow.value)
    assert str(fast.value) == str(slow.value) == "refused: x"
    client.set("wire:text", "not a number")
    with pytest.raises(rex.ResponseError) as fast_raise:
        PackedScript(client, RAISES)(keys=["wire:text"])
    with pytest.raises(rex.ResponseError) as slow_raise:
        client.register_script(RAISES)(keys=["wire:text"])
    assert str(fast_raise.value) == str(slow_raise.value)


def test_arguments_hiredis_cannot_pack_are_converted_or_refused_as_before(
    client: redis.Redis,
) -> None:
    packed = PackedScript(client, ECHO)
    assert packed(keys=["wire:k"], args=[bytearray(b"ab"), "c"]) == ["wire:k", "ab", "c", 2]
    assert PackedScript(client, "return #KEYS + #ARGV")(keys=None, args=None) == 0
    with pytest.raises(rex.DataError):
        packed(keys=["wire:k"], args=[True, "c"])


def test_a_forgotten_script_is_loaded_again(client: redis.Redis) -> None:
    packed = PackedScript(client, ECHO + " -- forgotten")
    client.script_flush()
    assert packed(keys=["wire:k"], args=["a", "b"]) == ["wire:k", "a", "b", 2]
    assert client.script_exists(packed.sha) == [True]


def test_the_connection_goes_back_to_the_pool_after_replies_and_errors(
    redis_server: RedisServer,
) -> None:
    pool = redis.BlockingConnectionPool.from_url(
        redis_server.url, max_connections=1, timeout=2, decode_responses=True
    )
    c = redis.Redis(connection_pool=pool)
    try:
        ok, bad = PackedScript(c, ECHO), PackedScript(c, FAILS)
        for _ in range(3):
            assert ok(keys=["wire:k"], args=["a", "b"])[3] == 2
            with pytest.raises(rex.ResponseError):
                bad(args=["x"])
        assert c.ping() is True  # the one connection is free
    finally:
        c.close()


def test_a_connection_killed_between_calls_is_replaced_by_the_retry(client: redis.Redis) -> None:
    packed = PackedScript(client, ECHO)
    assert packed(keys=["wire:k"], args=["a", "b"])[1] == "a"
    admin = redis.Redis(
        host=client.connection_pool.connection_kwargs["host"],
        port=client.connection_pool.connection_kwargs["port"],
    )
    try:
        killed = admin.client_kill_filter(_type="normal", skipme=True)
        assert killed >= 1
    finally:
        admin.close()
    assert packed(keys=["wire:k"], args=["c", "d"])[1] == "c"
