"""The hot transitions as Redis Functions (store/functions.py): FCALL where the server and
the user allow it, EVALSHA otherwise, and the same answers either way.

Every other engine test runs the hot calls through whichever path its server takes
(Functions on the Redis 7 and Valkey servers the suite starts); these pin the choice of
path and the recoveries: a flushed library, another version's library under the same
name, a server without FCALL, a user refused FUNCTION LOAD or FCALL.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis

from coordinator import Coordinator
from coordinator.store.aio import AsyncCalls, async_twin
from coordinator.store.binaries import server_binary
from coordinator.store.functions import FUNCTIONS_ENV
from coordinator.store.scripts import FUNCTION_TRANSITIONS, _read, function_library
from tests.support.servers import RedisServer

DAY = datetime(2041, 3, 4, tzinfo=UTC)
HALF_HOUR = timedelta(minutes=30)
NO_LIMIT = {"rate_limit_per_second": 100_000, "rate_limit_burst": 100_000}


def _script_calls(r: redis.Redis) -> dict[str, int]:
    stats = r.info("commandstats")
    return {
        name: int(stats.get(f"cmdstat_{name}", {}).get("calls", 0)) for name in ("fcall", "evalsha")
    }


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _pairs(flat: list[Any]) -> dict[str, Any]:
    return {_text(k): v for k, v in zip(flat[::2], flat[1::2], strict=True)}


def _libraries(r: redis.Redis) -> dict[str, set[str]]:
    """FUNCTION LIST as {library: its function names} (RESP2 answers flat lists)."""
    found = {}
    for entry in r.function_list():
        lib = _pairs(entry)
        found[_text(lib["library_name"])] = {_text(_pairs(f)["name"]) for f in lib["functions"]}
    return found


def _hot_calls(coord: Coordinator, admin: redis.Redis, slot: int) -> dict[str, int]:
    """A commit, a hold, a booking read and an availability read, checked for their
    answers: the script calls they made (the owner's and agent's creation left out)."""
    owner = coord.owners.create()
    agent = coord.agents.create(owner.user_id, name="a", priority=1, **NO_LIMIT)
    client = coord.client(agent.api_key)
    start = DAY + slot * 2 * HALF_HOUR
    admin.config_resetstat()
    committed = client.bookings.commit(start=start, end=start + HALF_HOUR)
    held = client.bookings.hold(start=start + HALF_HOUR, end=start + 2 * HALF_HOUR)
    assert (committed.status, held.status) == ("COMMITTED", "HOLD")
    assert client.bookings.get(committed.booking_id).booking_id == committed.booking_id
    free = client.availability.list(start=DAY, end=DAY + timedelta(days=1))
    assert start not in [s.start for s in free]
    return _script_calls(admin)


@pytest.fixture
def plain() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.mark.parametrize("faults", [False, True])
@pytest.mark.parametrize("binary", ["redis", "valkey"])
def test_every_library_loads_on_redis_7_and_valkey(binary: str, faults: bool) -> None:
    """A library's top level runs at load with no standard library (Valkey offers not
    even pairs): a call there would refuse the whole library."""
    with RedisServer(binary=server_binary() if binary == "valkey" else None) as server:
        r = server.client()
        for name in FUNCTION_TRANSITIONS:
            lib = function_library(name, faults)
            assert r.function_load(lib.source) == lib.library
        assert set(_libraries(r)) == {
            function_library(n, faults).library for n in FUNCTION_TRANSITIONS
        }


#: Script calls the four hot calls of _hot_calls make once everything is loaded (the
#: availability read is two); the first time, each of the four is first missing too.
SETTLED = 5
FIRST = SETTLED + 4


def test_the_hot_calls_go_out_as_fcall_and_load_their_libraries(plain: RedisServer) -> None:
    coord = Coordinator.from_url(plain.url)
    admin = plain.client()
    try:
        assert _hot_calls(coord, admin, 0) == {"fcall": FIRST, "evalsha": 0}
        assert _hot_calls(coord, admin, 1) == {"fcall": SETTLED, "evalsha": 0}
        assert {f"agentdraft_{n}" for n in FUNCTION_TRANSITIONS} <= set(_libraries(admin))
    finally:
        coord.close()


def test_a_flushed_library_or_another_versions_is_loaded_again(plain: RedisServer) -> None:
    coord = Coordinator.from_url(plain.url)
    admin = plain.client()
    try:
        _hot_calls(coord, admin, 0)
        admin.function_flush()
        assert _hot_calls(coord, admin, 1) == {"fcall": FIRST, "evalsha": 0}
        # Another coordinator version REPLACEs the library under the same name: its
        # function has another name, so this version's call finds its own missing.
        ours = function_library("commit")
        other = ours.source.replace(ours.function, ours.function[:-4] + "beef")
        assert admin.function_load(other, replace=True) == ours.library
        assert _hot_calls(coord, admin, 2) == {"fcall": SETTLED + 1, "evalsha": 0}
        assert _libraries(admin)[ours.library] == {ours.function}
    finally:
        coord.close()


def test_a_server_without_fcall_gets_evalsha_as_redis_6_2_would() -> None:
    with RedisServer(extra_args=["--rename-command", "FCALL", ""]) as server:
        coord = Coordinator.from_url(server.url)
        admin = server.client()
        try:
            assert _hot_calls(coord, admin, 0) == {"fcall": 0, "evalsha": FIRST}
            assert _hot_calls(coord, admin, 1) == {"fcall": 0, "evalsha": SETTLED}
            assert coord.store.scripts.commit.function is None
        finally:
            coord.close()


@pytest.mark.parametrize("refused", ["-function", "-fcall"])
def test_a_user_refused_functions_gets_evalsha(plain: RedisServer, refused: str) -> None:
    admin = plain.client()
    admin.execute_command("ACL", "SETUSER", "agentdraft", "on", ">pw", "~*", "&*", "+@all", refused)
    coord = Coordinator.from_url(plain.url.replace("redis://", "redis://agentdraft:pw@"))
    try:
        first = _hot_calls(coord, admin, 0)
        # Refused FCALL: rejected before it runs, so not counted. Refused FUNCTION LOAD:
        # each transition's FCALL found its function missing once.
        assert first == {"fcall": 0 if refused == "-fcall" else 4, "evalsha": FIRST}
        assert _hot_calls(coord, admin, 1) == {"fcall": 0, "evalsha": SETTLED}
        assert all(getattr(coord.store.scripts, n).function is None for n in FUNCTION_TRANSITIONS)
    finally:
        coord.close()


def test_functions_can_be_turned_off(plain: RedisServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FUNCTIONS_ENV, "0")
    coord = Coordinator.from_url(plain.url)
    admin = plain.client()
    try:
        assert _hot_calls(coord, admin, 0) == {"fcall": 0, "evalsha": FIRST}
        assert _libraries(admin) == {}
    finally:
        coord.close()


def test_an_error_inside_a_function_is_the_transitions_answer_not_a_fallback(
    plain: RedisServer,
) -> None:
    """A refusal met by the function's own redis.call is raised as it is: sent again by
    EVALSHA, the transition would run twice."""
    admin = plain.client()
    coord = Coordinator.from_url(plain.url)
    try:
        owner = coord.owners.create()
        agent = coord.agents.create(owner.user_id, name="a", priority=1, **NO_LIMIT)
        client = coord.client(agent.api_key)
        bookings = coord.store.keys.bookings(owner.user_id)
        admin.delete(bookings)
        admin.set(bookings, "not a hash")  # the claim's HEXISTS on it fails: WRONGTYPE
        admin.config_resetstat()
        with pytest.raises(Exception, match=r"WRONGTYPE|wrong kind"):
            client.bookings.commit(start=DAY, end=DAY + HALF_HOUR)
        calls = _script_calls(admin)
        assert calls["evalsha"] == 0 and calls["fcall"] >= 1, calls
        assert coord.store.scripts.commit.function is not None
    finally:
        coord.close()


def test_expanded_is_renamed_the_other_way() -> None:
    """_lib.lua spells EXPANDED out (a library's top level cannot loop over RENAMED)."""
    lib = _read("_lib.lua")

    def table(name: str) -> dict[str, str]:
        body = re.search(rf"^local {name} = \{{\n(.*?)^\}}", lib, re.M | re.S)
        assert body is not None
        return dict(re.findall(r"(\w+) = '(\w+)'", body.group(1)))

    renamed, expanded = table("RENAMED"), table("EXPANDED")
    assert len(renamed) > 5
    assert expanded == {short: long for long, short in renamed.items()}


async def _read_on_loop(coord: Coordinator, user_id: str, booking_id: str) -> dict[str, Any]:
    """The event loop's path (store/aio.py): a coordinator read of one booking, twice."""
    calls = AsyncCalls.open(async_twin(coord.redis))  # type: ignore[arg-type]
    try:
        call = coord.store.calls.pack_read_booking(user_id, booking_id)
        first, again = await calls.run(call), await calls.run(call)
        assert first["booking"] == again["booking"]
        assert calls.functions == {} or "read_booking" in calls.functions
        return {"reply": again, "functions": dict(calls.functions)}
    finally:
        await calls.aclose()


@pytest.mark.parametrize("fcall", ["renamed", "refused", "loaded"])
def test_the_event_loops_calls_take_the_same_paths(fcall: str) -> None:
    extra = ["--rename-command", "FCALL", ""] if fcall == "renamed" else []
    with RedisServer(extra_args=extra) as server:
        admin = server.client()
        url = server.url
        if fcall == "refused":
            admin.execute_command("ACL", "SETUSER", "u", "on", ">pw", "~*", "&*", "+@all", "-fcall")
            url = url.replace("redis://", "redis://u:pw@")
        coord = Coordinator.from_url(url)
        try:
            owner = coord.owners.create()
            agent = coord.agents.create(owner.user_id, name="a", priority=1, **NO_LIMIT)
            made = coord.client(agent.api_key).bookings.commit(start=DAY, end=DAY + HALF_HOUR)
            admin.function_flush()
            admin.config_resetstat()
            got = asyncio.run(_read_on_loop(coord, owner.user_id, made.booking_id))
            assert got["reply"]["booking"]["id"] == made.booking_id
            calls = _script_calls(admin)
            if fcall == "loaded":
                assert calls == {"fcall": 3, "evalsha": 0}  # missing, loaded, again
                assert "agentdraft_read_booking" in _libraries(admin)
            else:
                assert calls["fcall"] == 0 and calls["evalsha"] >= 2
                assert got["functions"] == {}
        finally:
            coord.close()
