"""Which coordinator and which agent the tools use when no client is passed."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentdraft_agents import environment
from agentdraft_agents.environment import resolve_client
from coordinator import AuthError, Coordinator

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in ("AGENTDRAFT_API_KEY", "AGENTDRAFT_BASE_URL", "AGENTDRAFT_AGENT_NAME"):
        monkeypatch.delenv(name, raising=False)
    yield monkeypatch
    # The shared coordinators outlive a test; their timers must not outlive the engine.
    environment.close_embedded_coordinators()


def test_an_explicit_client_is_used_as_is(clean_env: pytest.MonkeyPatch) -> None:
    marker = object()
    assert resolve_client(marker) is marker


def test_with_nothing_set_the_default_local_agent_is_created_once_and_reused(
    clean_env: pytest.MonkeyPatch, embedded_dir: Path
) -> None:
    first = resolve_client(data_dir=embedded_dir, agent_name="env-default-1")
    again = resolve_client(data_dir=embedded_dir, agent_name="env-default-1")
    assert first.agent_id == again.agent_id
    assert first.user_id == environment.LOCAL_OWNER_ID
    key_file = embedded_dir / "agents" / "env-default-1.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_another_process_with_the_same_name_is_the_same_agent(
    clean_env: pytest.MonkeyPatch, embedded_dir: Path
) -> None:
    mine = resolve_client(data_dir=embedded_dir, agent_name="env-shared")
    code = (
        "from agentdraft_agents.environment import resolve_client;"
        f"print(resolve_client(data_dir={str(embedded_dir)!r}).agent_id)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AGENTDRAFT_AGENT_NAME": "env-shared"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.strip() == mine.agent_id


def test_a_new_local_name_ranks_below_the_existing_local_agents(
    clean_env: pytest.MonkeyPatch, embedded_dir: Path
) -> None:
    older = resolve_client(data_dir=embedded_dir, agent_name="env-rank-a")
    newer = resolve_client(data_dir=embedded_dir, agent_name="env-rank-b")
    assert newer.agents.me().priority > older.agents.me().priority


def test_a_key_without_a_url_is_an_agent_of_the_embedded_coordinator(
    clean_env: pytest.MonkeyPatch, embedded_dir: Path
) -> None:
    with Coordinator.embedded(embedded_dir) as coord:
        owner = coord.owners.create()
        agent = coord.agents.create(owner.user_id, name="keyed", priority=1)
    clean_env.setenv("AGENTDRAFT_API_KEY", agent.api_key)
    client = resolve_client(data_dir=embedded_dir)
    assert client.agent_id == agent.agent_id
    shared = environment.embedded_coordinator(embedded_dir)
    environment.close_embedded_coordinators()  # the next call makes a new one, which works
    assert environment.embedded_coordinator(embedded_dir) is not shared
    assert resolve_client(data_dir=embedded_dir).agent_id == agent.agent_id


def test_an_unknown_key_without_a_url_says_how_to_reach_a_server(
    clean_env: pytest.MonkeyPatch, embedded_dir: Path
) -> None:
    clean_env.setenv("AGENTDRAFT_API_KEY", "avs_live_" + "x" * 43)
    with pytest.raises(AuthError, match="AGENTDRAFT_BASE_URL"):
        resolve_client(data_dir=embedded_dir)


def test_a_base_url_selects_the_official_sdk_client(clean_env: pytest.MonkeyPatch) -> None:
    agentdraft = pytest.importorskip("agentdraft", reason="the official SDK is not installed")
    clean_env.setenv("AGENTDRAFT_API_KEY", "avs_live_" + "y" * 43)
    clean_env.setenv("AGENTDRAFT_BASE_URL", "http://127.0.0.1:9/")
    client = resolve_client()
    try:
        assert isinstance(client, agentdraft.Client)
        assert client._base == "http://127.0.0.1:9"
    finally:
        client.close()


def test_a_base_url_without_the_sdk_refuses_instead_of_booking_locally(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setitem(sys.modules, "agentdraft", None)
    clean_env.setenv("AGENTDRAFT_BASE_URL", "http://127.0.0.1:9")
    with pytest.raises(ImportError, match="pip install agentdraft"):
        resolve_client()


def test_importing_the_package_imports_no_agent_framework() -> None:
    code = (
        "import sys, agentdraft_agents, agentdraft_agents.core;"
        "bad = [m for m in ('langchain_core', 'langchain', 'langgraph', 'crewai', "
        "'autogen_core', 'autogen_agentchat', 'mcp') if m in sys.modules];"
        "print(','.join(bad))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.strip() == ""


@pytest.mark.parametrize(
    ("module", "framework", "extra"),
    [
        ("langchain_tools", "langchain_core", "langchain"),
        ("crewai_tools", "crewai", "crewai"),
        ("autogen_tools", "autogen_core", "autogen"),
        ("mcp_server", "mcp", "mcp"),
    ],
)
def test_a_missing_framework_names_the_extra_to_install(
    module: str, framework: str, extra: str
) -> None:
    code = (
        f"import sys; sys.modules[{framework!r}] = None\n"
        f"try:\n    import agentdraft_agents.{module}\n"
        "except ImportError as e:\n    print(e)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert f"pip install 'agentdraft-agents[{extra}]'" in out.stdout
