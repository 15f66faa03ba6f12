"""The agent examples really run offline, show the race, and show how the loser recovered."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

EXAMPLES = [
    ("langchain_agents.py", "langchain.agents"),
    ("crewai_crew.py", "crewai"),
    ("autogen_agents.py", "autogen_agentchat"),
    ("mcp_session.py", "mcp"),
    ("openai_agents.py", "agents"),
    ("pydantic_ai_agents.py", "pydantic_ai"),
    ("agent_framework_agents.py", "agent_framework"),
    ("llamaindex_agents.py", "llama_index.core"),
    ("google_adk_agents.py", "google.adk"),  # in its own venv: make test-adk
]


@pytest.mark.parametrize(("script", "framework"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_each_agent_example_shows_the_lost_race_and_the_booked_alternative(
    script: str, framework: str
) -> None:
    pytest.importorskip(framework, reason=f"{framework} (its extra) is not installed")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        [sys.executable, f"examples/{script}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "OUTRANKED" in out or '"error": "outranked"' in out
    calendar = out.split("Calendar (committed):")[1].split("Audit trail")[0]
    booked = [line.split()[3:6] for line in calendar.strip().splitlines()]
    # The loser sits on the first offer (09:30), the sales bot on the contested 10:00.
    assert [(who, prio) for who, _, prio in booked] == [("recruiter", "2"), ("sales-bot", "1")]
    assert calendar.strip().splitlines()[0].split()[1] == "09:30-10:00"


def test_the_mailbox_example_books_the_time_the_invitee_picked_over_smtp() -> None:
    pytest.importorskip("aiosmtpd", reason="the 'mail' extra is not installed")
    pytest.importorskip("langchain.agents", reason="the 'langchain' extra is not installed")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        [sys.executable, "examples/mailbox_booking.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    # The invitation reached the invitee's server over SMTP, signed.
    assert "== Ann's inbox: from agt_" in out and "DKIM-signed: True" in out
    # Her answer came back over SMTP, judged by her MTA's trusted header, threaded.
    assert "Sender checks: SPF pass, DKIM pass, DMARC pass." in out
    # The agent booked her pick and released the other hold ...
    calendar = out.split("Calendar:")[1].split("Mailbox")[0].split("\n")
    rows = sorted(" ".join(line.split()[:3]) for line in calendar if "UTC" in line)
    assert "10:00-10:30 UTC RELEASED" in rows and "14:00-14:30 UTC COMMITTED" in rows
    # ... and confirmed in her thread: the reply names her message.
    assert "(In-Reply-To <answer-" in out and "at 14:00 UTC. Talk then!" in out
    mailbox = out.split("Mailbox (newest first):")[1].strip().splitlines()
    assert [line.split()[:2] for line in mailbox] == [
        ["outbound", "sent"],
        ["inbound", "received"],
        ["outbound", "sent"],
    ]
