"""deploy/: the container recipe and the systemd unit start the server CI starts.

No container engine runs here, so the image is never built; these tests check that
what the files run is what CI runs (the package with its server extra, ``coordinator
serve`` with options it accepts) and that the compose Redis keeps an append-only file.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path

from coordinator.cli import build_parser
from coordinator.store.embedded import HASH_LISTPACK_ENTRIES
from tests.support.servers import RedisServer

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_the_dockerfile_installs_the_server_extra_and_runs_serve() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert "pip install --no-cache-dir '.[server]'" in text
    extras = tomllib.loads((DEPLOY.parent / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert "server" in extras
    cmd = json.loads(re.search(r"^CMD (.+)$", text, re.M).group(1))  # type: ignore[union-attr]
    assert cmd[:2] == ["coordinator", "serve"]
    args = build_parser().parse_args(cmd[1:])
    assert (args.host, args.port) == ("0.0.0.0", 8080)


def test_the_compose_redis_has_the_append_only_file_on() -> None:
    text = (DEPLOY / "compose.yaml").read_text()
    assert '"--appendonly", "yes"' in text
    assert "AGENTDRAFT_REDIS_URL: redis://redis:6379/0" in text
    assert "/readyz" in text


def test_the_compose_redis_command_starts_a_redis_with_its_settings() -> None:
    """The compose file's Redis arguments, given to a real redis-server: it starts, with
    the append-only file on and busy hashes as hash tables (README, Production)."""
    text = (DEPLOY / "compose.yaml").read_text()
    command = json.loads(re.search(r"command: (\[.*?\])", text, re.S).group(1))  # type: ignore[union-attr]
    assert command[0] == "redis-server"
    with RedisServer(extra_args=command[1:]) as server:
        config = server.client().config_get("*")
    assert config["appendonly"] == "yes"
    assert config["hash-max-listpack-entries"] == str(HASH_LISTPACK_ENTRIES)


def test_the_systemd_unit_runs_a_valid_serve_command() -> None:
    text = (DEPLOY / "agentdraft-coordinator.service").read_text()
    exec_start = re.search(r"^ExecStart=(.+)$", text, re.M).group(1)  # type: ignore[union-attr]
    argv = shlex.split(exec_start)
    assert argv[0].endswith("/coordinator") and argv[1] == "serve"
    args = build_parser().parse_args(argv[1:])
    assert args.workers == 2


def test_the_readme_configuration_table_lists_every_variable() -> None:
    from coordinator.server.config import VARIABLES

    readme = (DEPLOY.parent / "README.md").read_text()
    for name, flag, _ in VARIABLES:
        row = f"| `{name}` | {f'`{flag}`' if flag else ''} |"
        assert row in readme, row
