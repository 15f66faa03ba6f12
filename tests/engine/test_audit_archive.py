"""Retention: old audit entries move to segment files and the history still verifies.

The archiver appends entries to ``<dir>/<user>/<YYYY-MM>.jsonl`` (each segment opens
with the hash of the entry before it), then trims them from the stream in one
atomic step with the ``audit-archived`` marker. ``verify`` without the archive
checks the chain from that point; with it, from genesis, replaying the state. A
segment edited after the fact is caught; a crashed run re-runs without
duplicates; a broken chain is never archived. Delivered outbox events are trimmed
after their retention, pending ones never.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from coordinator.audit.archive import Archiver, Retention, segment_files
from coordinator.errors import ValidationError
from tests.support.servers import Backend

from .audit_story import STORY_TYPES, Story, admin, entries, mentions, operator, server_ms
from .conftest import at
from .test_audit_chain import cli_store_args

REPO = Path(__file__).resolve().parents[2]
FOREVER = 2**62  # a cutoff later than every entry


def archive(s: Story, folder: Path, cutoff_ms: int = FOREVER) -> int:
    n, _ = Archiver(operator(s.coord).store).archive_before(s.user_id, folder, cutoff_ms)
    return n


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_archiving_everything_moves_the_history_to_one_segment_per_month(
    story: Story, tmp_path: Path
) -> None:
    before = entries(story)
    assert archive(story, tmp_path) == len(STORY_TYPES)
    assert story.coord.redis.xlen(story.coord.store.keys.audit(story.user_id)) == 0
    # Nothing is left of the per-booking audit index: every entry it named is archived.
    k = story.coord.store.keys
    for bid in (story.victim, story.winner, story.spare, story.promotion):
        assert not story.coord.redis.exists(k.booking_audit(story.user_id, bid))
    (segment,) = segment_files(tmp_path, story.user_id)
    body = lines(segment)
    assert body[0] == {"prev": "genesis", "position": 0}
    assert [(e["id"], e["fields"]) for e in body[1:]] == before
    # Without the archive: the chain from the archive point, no replay, still ok.
    v = story.coord.audit.verify(story.user_id)
    assert v.ok, v.problems
    assert (v.entries, v.complete) == (len(STORY_TYPES), False)
    # With it: from genesis, with the state replayed.
    v = story.coord.audit.verify(story.user_id, archive=tmp_path)
    assert v.ok, v.problems
    assert (v.entries, v.complete, v.bookings) == (len(STORY_TYPES), True, 6)


def test_a_partial_archive_then_new_writes_then_another_archive_verify_end_to_end(
    story: Story, tmp_path: Path
) -> None:
    es = entries(story)
    cut = int(es[-1][0].split("-")[0])  # everything written before the last entry's ms
    moved = archive(story, tmp_path, cut)
    assert 0 < moved < len(es)
    story.cal.clients[1].bookings.commit(start=at(600), end=at(630))
    v = story.coord.audit.verify(story.user_id, archive=tmp_path)
    assert v.ok, v.problems
    assert v.entries == len(es) + 1
    # The booking index keeps exactly the entries still in the stream.
    left = story.coord.audit.range(story.user_id)
    for bid in (story.victim, story.winner, story.spare, story.promotion):
        got = story.coord.audit.for_booking(story.user_id, bid)
        assert got == [e for e in left if mentions(e, bid)], bid
    # A second run appends to the same month's segment, with no second header.
    assert archive(story, tmp_path) == len(es) + 1 - moved
    (segment,) = segment_files(tmp_path, story.user_id)
    body = lines(segment)
    assert sum("prev" in e and "id" not in e for e in body) == 1
    assert len(body) == 1 + len(es) + 1
    v = story.coord.audit.verify(story.user_id, archive=tmp_path)
    assert v.ok and v.entries == len(es) + 1 and v.complete


def test_an_edited_or_shortened_segment_is_caught(story: Story, tmp_path: Path) -> None:
    archive(story, tmp_path)
    (segment,) = segment_files(tmp_path, story.user_id)
    text = segment.read_text().splitlines()
    k = STORY_TYPES.index("booking.rejected") + 1  # +1 for the header line
    edited = json.loads(text[k])
    edited["fields"]["winner_agent_id"] = edited["fields"]["agent_id"]
    segment.write_text("\n".join([*text[:k], json.dumps(edited), *text[k + 1 :]]) + "\n")
    v = story.coord.audit.verify(story.user_id, archive=tmp_path)
    assert [(p.problem, p.entry_id) for p in v.problems] == [("edited", edited["id"])]

    segment.write_text("\n".join([*text[:k], *text[k + 1 :]]) + "\n")
    v = story.coord.audit.verify(story.user_id, archive=tmp_path)
    assert [p.problem for p in v.problems] == ["chain_broken"]


def test_a_crashed_run_is_rerun_without_duplicates(story: Story, tmp_path: Path) -> None:
    archiver = Archiver(operator(story.coord).store)
    es = entries(story)
    # The run wrote its segment and died before trimming the stream.
    archiver.append_segments(tmp_path / story.user_id, es[:5], "genesis", 0)
    assert archive(story, tmp_path) == len(es)
    (segment,) = segment_files(tmp_path, story.user_id)
    assert [e["id"] for e in lines(segment)[1:]] == [eid for eid, _ in es]
    assert story.coord.audit.verify(story.user_id, archive=tmp_path).ok


def test_a_broken_chain_is_never_archived(story: Story, tmp_path: Path) -> None:
    es = entries(story)
    admin(story.coord).xdel(story.coord.store.keys.audit(story.user_id), es[3][0])
    with pytest.raises(ValidationError, match="chain is broken"):
        archive(story, tmp_path)
    assert segment_files(tmp_path, story.user_id) == []
    assert story.coord.redis.xlen(story.coord.store.keys.audit(story.user_id)) == len(es) - 1


def test_retention_defaults_keep_the_audit_forever(story: Story, tmp_path: Path) -> None:
    archiver = Archiver(operator(story.coord).store)
    assert archiver.retention(story.user_id) == Retention(audit_days=None, outbox_days=7.0)
    res = archiver.run(story.user_id, tmp_path)
    assert res.archived == 0 and res.segments == ()
    archiver.set_retention(story.user_id, Retention(audit_days=30, outbox_days=1))
    assert archiver.retention(story.user_id) == Retention(audit_days=30, outbox_days=1)
    # A fresh story is younger than 30 days: nothing moves.
    assert archiver.run(story.user_id, tmp_path).archived == 0
    with pytest.raises(ValidationError, match="audit_days"):
        archiver.set_retention(story.user_id, Retention(audit_days=-1))


def test_only_delivered_outbox_events_past_their_retention_are_trimmed(
    story: Story, monkeypatch: pytest.MonkeyPatch
) -> None:
    c, uid = story.coord, story.user_id
    monkeypatch.setenv("AGENTDRAFT_WEBHOOK_ALLOW_HOSTS", "127.0.0.1")
    monkeypatch.setenv("AGENTDRAFT_WEBHOOK_ALLOW_PORTS", "9")
    c.webhooks.register(uid, "http://127.0.0.1:9/hook")
    client = story.cal.clients[1]
    for i in range(3):
        client.bookings.commit(start=at(700 + 10 * i), end=at(705 + 10 * i))
    r = c.redis
    outbox = c.store.keys.prefix(uid) + "outbox"
    ids = [eid for eid, _ in r.xrange(outbox)]
    assert len(ids) == 3
    archiver = Archiver(c.store)
    # Nothing delivered yet (no consumer group): nothing trimmed.
    assert archiver.trim_outbox(uid, FOREVER) == 0
    # The dispatcher's protocol: read through its group, acknowledge what was delivered.
    r.xgroup_create(outbox, "dispatch", id="0")
    r.xreadgroup("dispatch", "w1", {outbox: ">"}, count=3)
    r.xack(outbox, "dispatch", ids[0], ids[2])  # ids[1] is still pending (being retried)
    # A cutoff before the events keeps them all.
    assert archiver.trim_outbox(uid, int(ids[0].split("-")[0])) == 0
    assert archiver.trim_outbox(uid, server_ms(c, uid) + 1) == 1
    assert [eid for eid, _ in r.xrange(outbox)] == ids[1:]


def test_the_cli_archives_and_verifies_the_whole_history(
    story: Story, backend: Backend, tmp_path: Path
) -> None:
    store = cli_store_args(backend)
    base = [sys.executable, "-m", "coordinator", "audit"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*base, *args, *store, "--user", story.user_id],
            cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    done = run("archive", "--dir", str(tmp_path), "--audit-days", "0.0000001")
    assert done.returncode == 0, done.stderr
    assert f"{story.user_id}: archived {len(STORY_TYPES)} entries" in done.stdout
    partial = run("verify")
    assert partial.returncode == 0 and "pass --archive" in partial.stdout
    whole = run("verify", "--archive", str(tmp_path))
    assert whole.returncode == 0, whole.stdout
    assert f"{story.user_id}: ok, {len(STORY_TYPES)} entries, 6 bookings" in whole.stdout
