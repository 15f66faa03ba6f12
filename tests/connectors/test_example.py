"""examples/connectors.py runs offline and shows what it claims."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_connectors_example_blocks_the_persons_hour_and_pushes_only_the_winner() -> None:
    out = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "examples/connectors.py"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert text.count("external_event  event dentist-1") == 5
    assert text.count(": COMMITTED") == 1 and text.count("409 outranked") == 4
    held = text.split("The owner's calendar now holds:")[1].strip().splitlines()
    assert len(held) == 3  # the winner's event, the dentist, the closing line
    assert sum("agentdraft-bkg_" in line for line in held) == 1
