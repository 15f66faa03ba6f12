"""``coordinator connectors``: add (password from the environment, never argv), list,
status, pull and remove, as an operator runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.calendars import PASSWORD, USER

from .conftest import Owner, soon, vevent


def cli(redis_url: str, key_file: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    out = subprocess.run(
        [sys.executable, "-m", "coordinator", "connectors", *args, "--redis-url", redis_url],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "AGENTDRAFT_CONNECTOR_KEY_FILE": str(key_file), **(env or {})},
    )  # fmt: skip
    return out


def test_an_operator_connects_inspects_pulls_and_removes(
    owner: Owner, redis_server: Any, key_file: Path
) -> None:
    owner.add(vevent("cli-1", soon(1, 9), soon(1, 10)))
    url = redis_server.url
    added = cli(
        url, key_file, "add", owner.user_id, "--url", str(owner.calendar.url),
        "--username", USER, "--password-env", "CAL_PASSWORD", env={"CAL_PASSWORD": PASSWORD},
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    made = json.loads(added.stdout)
    cid = made["connector_id"]
    assert PASSWORD not in added.stdout
    listed = json.loads(cli(url, key_file, "list", owner.user_id).stdout)
    assert [c["connector_id"] for c in listed] == [cid]
    status = json.loads(cli(url, key_file, "status", cid).stdout)
    assert status["blocks"] == 1 and status["last_error"] is None
    owner.add(vevent("cli-2", soon(1, 11), soon(1, 12)))
    pulled = json.loads(cli(url, key_file, "pull", cid).stdout)
    assert pulled["added"] == 1 and pulled["full"] is False
    once = json.loads(cli(url, key_file, "sync", "--once").stdout)
    assert set(once) == {"pulls", "pushes"}
    assert cli(url, key_file, "remove", cid).returncode == 0
    gone = cli(url, key_file, "status", cid)
    assert gone.returncode == 1 and "connector_not_found" in gone.stderr


def test_a_wrong_password_from_the_environment_is_a_typed_exit(
    owner: Owner, redis_server: Any, key_file: Path
) -> None:
    bad = cli(
        redis_server.url, key_file, "add", owner.user_id, "--url", str(owner.calendar.url),
        "--username", USER, "--password-env", "CAL_PASSWORD", env={"CAL_PASSWORD": "nope"},
    )  # fmt: skip
    assert bad.returncode == 1 and "connector_auth_failed" in bad.stderr
    unset = cli(
        redis_server.url, key_file, "add", owner.user_id, "--url", str(owner.calendar.url),
        "--password-env", "NOT_SET_ANYWHERE_H7",
    )  # fmt: skip
    assert unset.returncode == 1 and "NOT_SET_ANYWHERE_H7" in unset.stderr
