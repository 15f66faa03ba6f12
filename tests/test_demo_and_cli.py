"""The README's demo and the race CLI really run, as a newcomer would run them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from coordinator.store.embedded import stop_embedded

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_the_race_example_prints_one_winner_and_a_verified_audit_trail() -> None:
    done = run("examples/race.py")
    assert done.returncode == 0, done.stderr
    assert "Winner: agent-1 (priority 1), exactly one of 5 agents" in done.stdout
    assert done.stdout.count("409 outranked") == 4
    assert "hash-chained, verified" in done.stdout


def test_the_race_command_runs_on_a_named_embedded_folder(tmp_path: Path) -> None:
    try:
        done = run("-m", "coordinator", "race", "--agents", "3", "--data-dir", str(tmp_path))
        assert done.returncode == 0, done.stderr
        assert "Winner: agent-1 (priority 1), exactly one of 3 agents" in done.stdout
        verify = run("-m", "coordinator", "audit", "verify", "--data-dir", str(tmp_path))
        assert verify.returncode == 0, verify.stderr
        assert ": ok, " in verify.stdout
    finally:
        stop_embedded(tmp_path)
