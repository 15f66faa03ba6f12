"""bench.script_cost --meter instructions: the engine's instructions per call, counted by
callgrind on a server with the embedded engine's settings."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.script_cost import PER_DAY, _dump_total, callgrind_engine, measure


def test_a_dumps_total_is_its_totals_line_not_its_summary(tmp_path: Path) -> None:
    dump = tmp_path / "callgrind.out.1"
    dump.write_text("events: Ir\nsummary: 0\nfn=main\n1 5\ntotals: 294452\n")
    assert _dump_total(dump) == 294452


@pytest.mark.skipif(
    not shutil.which("valgrind"), reason="needs valgrind (apt-get install valgrind)"
)
def test_a_commit_costs_the_engine_many_times_a_no_op_and_every_call_is_counted() -> None:
    # PER_DAY calls: the availability phases read a full day of the commit phase's.
    with callgrind_engine("embedded") as (coord, admin, count):
        assert admin.config_get("hash-max-listpack-entries") == {"hash-max-listpack-entries": "32"}
        assert admin.config_get("appendonly") == {"appendonly": "yes"}
        rows = {
            label: (per_call, calls)
            for label, per_call, calls in measure(coord, admin, PER_DAY, count)
        }
    noop, noop_calls = rows["no-op EVALSHA (return 1)"]
    commit, commit_calls = rows["commit (uncontended, top agent)"]
    assert noop_calls == commit_calls == PER_DAY
    assert 1_000 < noop < commit / 10
