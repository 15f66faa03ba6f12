"""bench.commit_breakdown's stops stay where they say, on a real redis-server.

The tool measures a plain commit step by step by stopping the commit library at
each step's line and each of its writes; if the library's text moves, a stop would
vanish or land elsewhere and the table would quietly name the wrong steps.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from bench.commit_breakdown import LIBRARY, STEPS, WRITES, Commits, fcall, stopped_library
from coordinator import Coordinator
from tests.support.servers import RedisServer


@pytest.fixture
def loaded(redis_server: RedisServer) -> Iterator[tuple[redis.Redis, Coordinator]]:
    admin = redis.Redis.from_url(redis_server.url)  # bytes: DUMP's are binary
    admin.function_load(stopped_library(), replace=True)
    coord = Coordinator.from_url(redis_server.url)
    try:
        yield admin, coord
    finally:
        coord.close()
        admin.function_delete(LIBRARY)


def _state(admin: redis.Redis, commits: Commits) -> dict[str, bytes | None]:
    """Every key of the calendar, by its name after the calendar's prefix, as DUMPed."""
    prefix = f"ad:{{{commits.user_id}}}:"
    return {key.decode()[len(prefix) :]: admin.dump(key) for key in admin.scan_iter(f"{prefix}*")}


def _changed(before: dict[str, bytes | None], after: dict[str, bytes | None]) -> set[str]:
    return {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


def _written_by(changed: set[str]) -> list[str]:
    """The WRITES labels whose key is among ``changed``, in WRITES order."""
    return [label for label, key in WRITES if any(k.startswith(key) for k in changed)]


def test_every_step_is_stopped_once_in_the_library() -> None:
    src = stopped_library()
    for i in range(len(STEPS)):
        assert src.count(f"== 's{i}' then return 0 end") == 1
    assert src.count("== 'w' .. i then return 0 end") == 1


def test_a_library_without_a_step_is_refused() -> None:
    from coordinator.store.scripts import function_library

    src = function_library("commit").source.replace(STEPS[3][1], "  -- moved\n")
    with pytest.raises(ValueError, match="not in the commit library"):
        stopped_library(src)


def test_a_call_stopped_before_the_writes_writes_nothing(
    loaded: tuple[redis.Redis, Coordinator],
) -> None:
    admin, coord = loaded
    commits = Commits(coord)
    call = commits.call()
    before = _state(admin, commits)
    for i in range(len(STEPS)):
        assert fcall(admin, call, f"s{i}") == 0
    assert _state(admin, commits) == before


def test_a_call_stopped_before_write_i_has_made_the_writes_before_it(
    loaded: tuple[redis.Redis, Coordinator],
) -> None:
    admin, coord = loaded
    labels = [label for label, _key in WRITES]
    for i in range(1, len(WRITES) + 1):
        # A calendar each: a call stopped between the audit entry and the chain head
        # leaves the head behind, and the next call on that calendar in the same
        # millisecond would pick the entry's id again.
        commits = Commits(coord)
        before = _state(admin, commits)
        assert fcall(admin, commits.call(), f"w{i}") == 0
        assert _written_by(_changed(before, _state(admin, commits))) == labels[: i - 1]
    commits = Commits(coord)
    before = _state(admin, commits)
    won = fcall(admin, commits.call(), "")
    assert won[0] == b"plain"
    assert _written_by(_changed(before, _state(admin, commits))) == labels
