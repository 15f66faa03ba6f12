"""The owner-side admin CLI, run as a newcomer would: ``coordinator owners|agents|rules|approvals``.

Each test drives ``python -m coordinator`` in a subprocess against a real Redis
server, reads the ``--json`` output, and checks the store through the Python API.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from coordinator import Coordinator
from coordinator.errors import ConsentRequired
from tests.support.servers import RedisServer

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def url(redis_server: RedisServer) -> str:
    return redis_server.url


@pytest.fixture
def coord(url: str) -> Iterator[Coordinator]:
    with Coordinator.from_url(url) as c:
        yield c


def cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coordinator", *args, "--redis-url", url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def cli_json(url: str, *args: str) -> Any:
    done = cli(url, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_owners_create_and_list_print_json(url: str, coord: Coordinator) -> None:
    made = cli_json(url, "owners", "create", "--timezone", "Europe/Berlin")
    assert made["user_id"].startswith("usr_") and made["timezone"] == "Europe/Berlin"
    assert coord.owners.get(made["user_id"]).timezone == "Europe/Berlin"
    listed = cli_json(url, "owners", "list")
    assert made["user_id"] in {o["user_id"] for o in listed}


def test_owners_create_refuses_an_unknown_zone_and_writes_nothing(
    url: str, coord: Coordinator
) -> None:
    before = set(coord.owners.list())
    done = cli(url, "owners", "create", "--timezone", "Mars/Olympus", "--json")
    assert done.returncode == 1
    assert "timezone" in done.stderr and done.stdout == ""
    assert set(coord.owners.list()) == before


def test_agents_create_list_rotate_revoke_unrevoke_and_rerank(url: str, coord: Coordinator) -> None:
    uid = coord.owners.create().user_id
    first = cli_json(url, "agents", "create", "--user", uid, "--name", "sales", "--priority", "1")
    second = cli_json(url, "agents", "create", "--user", uid, "--name", "recruiter")
    assert first["api_key"].startswith("avs_live_") and second["priority"] == 2
    coord.client(first["api_key"]).agents.me()  # the printed key works

    listed = cli_json(url, "agents", "list", "--user", uid)
    assert [a["name"] for a in listed] == ["sales", "recruiter"]
    assert all("api_key" not in a for a in listed)  # a read never shows a key

    rotated = cli_json(url, "agents", "rotate", "--agent", first["agent_id"])
    assert rotated["api_key"] != first["api_key"]
    with pytest.raises(Exception, match="unknown, rotated or revoked"):
        coord.client(first["api_key"])
    coord.client(rotated["api_key"])

    revoked = cli_json(url, "agents", "revoke", "--agent", second["agent_id"])
    assert revoked["status"] == "revoked"
    back = cli_json(url, "agents", "unrevoke", "--agent", second["agent_id"])
    assert back["status"] == "active" and back["api_key"].startswith("avs_live_")

    ranked = cli_json(url, "agents", "rerank", "--user", uid, second["agent_id"], first["agent_id"])
    assert [(a["agent_id"], a["priority"]) for a in ranked] == [
        (second["agent_id"], 1),
        (first["agent_id"], 2),
    ]
    assert coord.agents.get(uid, second["agent_id"]).priority == 1


def test_agents_rotate_of_an_unknown_agent_exits_non_zero_with_a_message(url: str) -> None:
    done = cli(url, "agents", "rotate", "--agent", "agt_0000000000000000")
    assert done.returncode == 1
    assert done.stderr.startswith("coordinator: ") and "agt_0000000000000000" in done.stderr


def test_rules_set_and_show(url: str, coord: Coordinator) -> None:
    uid = coord.owners.create().user_id
    hours = json.dumps({"mon": ["09:00-17:00"]})
    done = cli_json(
        url, "rules", "set", "--user", uid, "--working-hours", hours, "--daily-cap", "4",
        "--timezone", "America/New_York",
    )  # fmt: skip
    assert done["daily_cap"] == 4 and done["timezone"] == "America/New_York"
    rules = coord.rules.get(uid)
    assert rules.daily_cap == 4 and rules.working_hours is not None
    shown = cli_json(url, "rules", "show", "--user", uid)
    assert shown["rules_version"] == rules.rules_version
    cleared = cli_json(url, "rules", "set", "--user", uid, "--clear", "daily_cap")
    assert cleared["daily_cap"] is None and coord.rules.get(uid).daily_cap is None
    text = cli(url, "rules", "show", "--user", uid)
    assert text.returncode == 0 and "timezone America/New_York" in text.stdout


def test_rules_set_refuses_a_bad_rule_and_changes_nothing(url: str, coord: Coordinator) -> None:
    uid = coord.owners.create().user_id
    before = coord.rules.get(uid)
    done = cli(url, "rules", "set", "--user", uid, "--daily-cap", "4", "--buffer-after-min", "-5")
    assert done.returncode == 1 and "buffer_after_min" in done.stderr
    assert coord.rules.get(uid) == before


def test_rules_set_the_longest_hold_and_refuse_one_over_a_day(url: str, coord: Coordinator) -> None:
    uid = coord.owners.create().user_id
    done = cli_json(url, "rules", "set", "--user", uid, "--max-hold-ttl-seconds", "7200")
    assert done["max_hold_ttl_seconds"] == 7200
    refused = cli(url, "rules", "set", "--user", uid, "--max-hold-ttl-seconds", "90000")
    assert refused.returncode == 1 and "max_hold_ttl_seconds" in refused.stderr
    assert coord.rules.get(uid).max_hold_ttl_seconds == 7200


def test_approvals_list_approve_and_deny(url: str, coord: Coordinator) -> None:
    uid = coord.owners.create().user_id
    key = coord.agents.create(uid, name="bot").api_key
    coord.rules.update(uid, require_approval=True)
    client = coord.client(key)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    parked = []
    for hour in (0, 2):
        with pytest.raises(ConsentRequired) as err:
            client.bookings.commit(
                start=start + timedelta(hours=hour), end=start + timedelta(hours=hour, minutes=30)
            )
        parked.append(err.value.context["consent_request_id"])

    pending = cli_json(url, "approvals", "list", "--user", uid, "--status", "pending")
    assert sorted(a["approval_id"] for a in pending) == sorted(parked)

    approved = cli_json(url, "approvals", "approve", "--approval", parked[0])
    assert approved["status"] == "approved" and approved["outcome"] == "committed"
    assert coord.bookings.get(uid, approved["booking_id"]).status == "COMMITTED"
    denied = cli_json(url, "approvals", "deny", "--approval", parked[1], "--note", "busy")
    assert denied["status"] == "denied" and denied["note"] == "busy"

    again = cli(url, "approvals", "approve", "--approval", parked[1])
    assert again.returncode == 1 and "already denied" in again.stderr
    assert cli_json(url, "approvals", "list", "--user", uid, "--status", "pending") == []


def test_help_names_every_command_and_every_option_has_help() -> None:
    from coordinator.cli import build_parser

    parser = build_parser()
    top = parser.format_help()
    for group in ("race", "serve", "owners", "agents", "rules", "approvals", "audit",
                  "webhooks", "proposals", "embedded"):  # fmt: skip
        assert f"    {group}" in top
    missing = []

    def walk(p: Any, path: str) -> None:
        for action in p._actions:
            if action.help is None and action.dest != "help":
                if not getattr(action, "choices", None) or not isinstance(action.choices, dict):
                    missing.append(f"{path} {action.option_strings or action.dest}")
            if isinstance(getattr(action, "choices", None), dict):
                for name, child in action.choices.items():
                    walk(child, f"{path} {name}")

    walk(parser, "coordinator")
    assert missing == []


def test_version_prints_the_package_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "coordinator", "--version"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stdout.startswith("coordinator 0.")


def test_audit_show_of_an_unknown_owner_exits_non_zero_with_a_message(url: str) -> None:
    done = cli(url, "audit", "show", "--user", "usr_unknown")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("coordinator: ") and "usr_unknown" in done.stderr


def test_audit_show_of_a_known_owner_prints_its_entries(url: str, coord: Coordinator) -> None:
    uid = coord.owners.create().user_id
    coord.agents.create(uid, name="bot")
    done = cli(url, "audit", "show", "--user", uid)
    assert done.returncode == 0, done.stderr
    assert len([json.loads(line) for line in done.stdout.splitlines()]) >= 1
