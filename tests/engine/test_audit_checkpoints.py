"""Signed checkpoints: a history rewritten with recomputed hashes and head is caught.

The SHA-1 chain alone cannot catch someone who rebuilds the whole stream and the
owner's head (the first test shows that limit). Once the coordinator has signed a
checkpoint with its Ed25519 key (kept in a 0600 file, outside Redis), the same
forgery is named, and so is a checkpoint signed with another key, or a signed entry
that disappeared. Deleting the checkpoints from Redis does not help the forger:
they are also kept beside the key.
"""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from coordinator.audit.chain import GENESIS, entry_hash
from coordinator.audit.checkpoints import KEY_FILE, SigningKey, anchor_dir
from tests.support.servers import Backend

from .audit_story import STORY_TYPES, Entry, Story, admin, entries, rewrite
from .conftest import at
from .test_audit_chain import cli_store_args

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def key(tmp_path: Path) -> Path:
    return tmp_path / "keys" / KEY_FILE


def forge(s: Story, change: Callable[[str, dict[str, str]], dict[str, str]]) -> None:
    """Rewrite the stream with ``change`` applied, recompute every hash, move the head."""
    prev = GENESIS
    forged: list[Entry] = []
    for eid, f in entries(s):
        g = {**change(eid, f), "prev": prev}
        g["hash"] = entry_hash(g)
        prev = g["hash"]
        forged.append((eid, g))
    rewrite(s, lambda _: forged)
    s.coord.redis.hset(s.coord.store.keys.owner(s.user_id), "audit_head", prev)


def pretend_loser_won(s: Story) -> Callable[[str, dict[str, str]], dict[str, str]]:
    def change(eid: str, f: dict[str, str]) -> dict[str, str]:
        if eid == s.rejection_event:
            return {**f, "winner_agent_id": f["agent_id"]}
        return f

    return change


def kinds(s: Story, key: Path) -> list[tuple[str, str]]:
    v = s.coord.audit.verify(s.user_id, key=key)
    assert v.ok == (not v.problems)
    return [(p.problem, p.entry_id) for p in v.problems]


def test_without_a_checkpoint_a_recomputed_chain_is_undetectable(story: Story, key: Path) -> None:
    forge(story, pretend_loser_won(story))
    assert kinds(story, key) == []  # the documented limit of a bare hash chain


def test_a_checkpoint_catches_a_recomputed_chain_and_head(
    story: Story, neighbour: Story, key: Path
) -> None:
    cp = story.coord.audit.checkpoint(story.user_id, key=key)
    assert cp is not None
    assert (cp.position, cp.entry_id) == (len(STORY_TYPES), entries(story)[-1][0])
    v = story.coord.audit.verify(story.user_id, key=key)
    assert v.ok and v.checkpoint == cp.entry_id

    forge(story, pretend_loser_won(story))
    assert kinds(story, key) == [("checkpoint_mismatch", cp.entry_id)]
    assert neighbour.coord.audit.verify(neighbour.user_id, key=key).ok


def test_entries_after_the_latest_checkpoint_are_covered_by_the_next_one(
    story: Story, key: Path
) -> None:
    first = story.coord.audit.checkpoint(story.user_id, key=key)
    story.cal.clients[1].bookings.commit(start=at(600), end=at(600 + 30))
    second = story.coord.audit.checkpoint(story.user_id, key=key)
    assert first is not None and second is not None
    assert second.position == first.position + 1
    forge(story, lambda eid, f: {**f, "title": "x"} if eid == second.entry_id else f)
    # The first checkpoint still matches (its prefix is intact); the second does not.
    assert kinds(story, key) == [("checkpoint_mismatch", second.entry_id)]


def test_the_key_is_a_0600_file_and_checkpoints_are_kept_outside_redis_too(
    story: Story, key: Path
) -> None:
    assert not key.exists()
    cp = story.coord.audit.checkpoint(story.user_id, key=key)
    assert cp is not None
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in key.read_bytes()
    local = anchor_dir(key) / f"{story.user_id}.jsonl"
    assert [json.loads(line)["entry_id"] for line in local.read_text().splitlines()] == [
        cp.entry_id
    ]
    # Deleting the checkpoints from Redis does not unanchor the history.
    admin(story.coord).delete(story.coord.audit.checkpoints.stream(story.user_id))
    forge(story, pretend_loser_won(story))
    assert kinds(story, key) == [("checkpoint_mismatch", cp.entry_id)]


def test_a_checkpoint_signed_with_another_key_is_refused(
    story: Story, key: Path, tmp_path: Path
) -> None:
    story.coord.audit.checkpoint(story.user_id, key=key)
    intruder = story.coord.audit.checkpoint(story.user_id, key=tmp_path / "other.key")
    assert intruder is not None
    assert kinds(story, key) == [("checkpoint_bad_signature", intruder.entry_id)]


def test_a_signed_entry_that_disappears_is_reported(story: Story, key: Path) -> None:
    cp = story.coord.audit.checkpoint(story.user_id, key=key)
    assert cp is not None
    es = entries(story)
    r, k = admin(story.coord), story.coord.store.keys
    r.xdel(k.audit(story.user_id), es[-1][0])
    r.hset(k.owner(story.user_id), "audit_head", es[-2][1]["hash"])  # the chain now ends well
    found = kinds(story, key)
    assert ("checkpoint_entry_missing", cp.entry_id) in found


def test_a_public_key_is_enough_to_verify(story: Story, key: Path, tmp_path: Path) -> None:
    cp = story.coord.audit.checkpoint(story.user_id, key=key)
    assert cp is not None
    public = tmp_path / "audit.pub"
    public.write_text(SigningKey.load(key).public_pem())
    v = story.coord.audit.verify(story.user_id, key=public)
    assert v.ok and v.checkpoint == cp.entry_id
    with pytest.raises(Exception, match="verify but not sign"):
        story.coord.audit.checkpoint(story.user_id, key=public)


def test_checkpoint_if_due_signs_every_n_entries(story: Story, key: Path) -> None:
    audit = story.coord.audit
    assert audit.checkpoint_if_due(story.user_id, 5, key=key) is not None
    assert audit.checkpoint_if_due(story.user_id, 5, key=key) is None
    client = story.cal.clients[1]
    for i in range(4):
        client.bookings.commit(start=at(600 + 10 * i), end=at(600 + 10 * i + 5))
    assert audit.checkpoint_if_due(story.user_id, 5, key=key) is None
    client.bookings.commit(start=at(600 + 100), end=at(600 + 105))
    cp = audit.checkpoint_if_due(story.user_id, 5, key=key)
    assert cp is not None and cp.position == len(STORY_TYPES) + 5


def test_the_cli_signs_and_verifies_against_the_checkpoint(
    story: Story, key: Path, backend: Backend
) -> None:
    url = cli_store_args(backend)
    base = [sys.executable, "-m", "coordinator", "audit"]
    signed = subprocess.run(
        [*base, "checkpoint", *url, "--user", story.user_id, "--signing-key", str(key)],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    assert f"{story.user_id}: signed entry {len(STORY_TYPES)}" in signed.stdout
    forge(story, pretend_loser_won(story))
    checked = subprocess.run(
        [*base, "verify", *url, "--user", story.user_id, "--signing-key", str(key)],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert checked.returncode == 1
    assert "checkpoint_mismatch" in checked.stdout


def test_the_cli_signs_only_calendars_with_n_new_entries(
    story: Story, neighbour: Story, key: Path, backend: Backend
) -> None:
    store = cli_store_args(backend)
    base = [sys.executable, "-m", "coordinator", "audit", "checkpoint", *store]

    def every(n: int, s: Story) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*base, "--user", s.user_id, "--every", str(n), "--signing-key", str(key)],
            cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    first = every(len(STORY_TYPES), story)
    assert first.returncode == 0, first.stderr
    assert f"{story.user_id}: signed entry {len(STORY_TYPES)}" in first.stdout
    assert every(len(STORY_TYPES), story).stdout == ""  # nothing new since
    assert every(len(STORY_TYPES) + 1, neighbour).stdout == ""  # not enough entries yet
    assert story.coord.audit.verify(story.user_id, key=key).checkpoint is not None
