"""The README's demo and the race CLI really run, as a newcomer would run them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from coordinator.store.embedded import (
    embedded_status,
    open_embedded,
    running_embedded,
    stop_embedded,
)

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
    # Every loser names the agent that actually won, never one displaced after it answered.
    assert done.stdout.count("409 outranked by agent-1 (prio 1)") == 4
    assert "hash-chained, verified" in done.stdout


def test_the_race_example_leaves_no_engine_running_and_no_folder_behind() -> None:
    done = run("examples/race.py", "--agents", "2")
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("Embedded engine in "))
    folder = Path(line.removeprefix("Embedded engine in ").split(" stopped")[0])
    assert not folder.exists()
    assert str(folder.resolve()) not in {e.data_dir for e in running_embedded()}


def test_the_race_command_stops_the_engine_it_started_and_leaves_one_it_joined(
    tmp_path: Path,
) -> None:
    folder = str(tmp_path.resolve())
    try:
        # A race on a folder with no engine stops the one it started, and says so
        done = run("-m", "coordinator", "race", "--agents", "2", "--data-dir", folder)
        assert done.returncode == 0, done.stderr
        assert f"in {folder} stopped (this command started it" in done.stdout
        assert embedded_status(folder).running is False
        # A race on a running engine leaves it running, naming it and how to stop it
        pid = int(open_embedded(folder).info("server")["process_id"])
        done = run("-m", "coordinator", "race", "--agents", "2", "--data-dir", folder)
        assert done.returncode == 0, done.stderr
        assert f"in {folder} left running (pid {pid}, it was running before)" in done.stdout
        assert f"coordinator embedded stop --data-dir {folder}" in done.stdout
        assert "joined the running embedded engine" in done.stderr
        assert embedded_status(folder).pid == pid
    finally:
        stop_embedded(tmp_path)


def test_embedded_status_and_stop_list_and_stop_an_engine(tmp_path: Path) -> None:
    folder = str(tmp_path.resolve())
    try:
        pid = int(open_embedded(folder).info("server")["process_id"])
        status = run("-m", "coordinator", "embedded", "status", "--json")
        assert status.returncode == 0, status.stderr
        listed = {e["data_dir"]: e for e in json.loads(status.stdout)}
        assert listed[folder]["pid"] == pid
        assert listed[folder]["running"] is True
        assert listed[folder]["version"]
        stop = run("-m", "coordinator", "embedded", "stop", "--data-dir", folder)
        assert stop.returncode == 0, stop.stderr
        assert stop.stdout.strip() == f"stopped the embedded engine in {folder}"
        status = run("-m", "coordinator", "embedded", "status", "--data-dir", folder, "--json")
        assert json.loads(status.stdout)[0]["running"] is False
    finally:
        stop_embedded(tmp_path)


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
