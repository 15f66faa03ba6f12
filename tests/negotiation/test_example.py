"""examples/negotiate.py really runs offline and shows the loss and the negotiated booking."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("policy", ["model", "nearest"])
def test_the_negotiation_example_loses_to_the_sales_bot_then_books_after_it(policy: str) -> None:
    pytest.importorskip("langgraph", reason="the 'langgraph' extra is not installed")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        [sys.executable, "examples/negotiate.py", "--policy", policy],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "-> lost (taken by sales-bot, priority 1)" in out
    assert f"-> booked  [chosen by {'chat_model' if policy == 'model' else 'nearest'}" in out
    calendar = out.split("Calendar (committed):")[1].split("Audit trail")[0].strip()
    rows = [line.split() for line in calendar.splitlines()]
    # The sales bot keeps 10:00; the recruiter, not allowed before 10:00, sits at 10:30.
    assert [(r[1], r[3], r[5]) for r in rows] == [
        ("10:00-10:30", "sales-bot", "1"),
        ("10:30-11:00", "recruiter", "2"),
    ]
