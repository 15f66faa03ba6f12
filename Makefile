# The two commands a newcomer needs (see README.md):
#   make demo   - five agents race for one slot on the embedded coordinator
#   make test   - lint, then the whole test suite against real Redis engines it starts itself,
#                 including real LangChain/LangGraph, CrewAI, AutoGen and MCP agent loops
# Each creates .venv with the interpreter in $(PY) and installs what it needs.

PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --disable-pip-version-check -q

.PHONY: demo test test-adk lint bench notebooks clean

# caldav (the `connectors` extra) pulls in niquests and urllib3-future, whose wheel ships a
# .pth file that overwrites the real urllib3 at every interpreter start and breaks
# requests-based libraries. Built from its sdist with URLLIB3_NO_OVERRIDE=1 it installs
# beside urllib3 as `urllib3_future` (which niquests uses), so install it that way first.
$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q --upgrade pip
	URLLIB3_NO_OVERRIDE=1 $(PIP) --no-binary urllib3-future 'urllib3-future>=2.25.904,<3'

demo: $(BIN)/python
	$(PIP) -e .
	$(BIN)/python examples/race.py

# The suite drives every agent framework's real loop, so it installs their extras
# (crewai is the big one: ~800 MB; a fresh venv installs in about a minute here), and
# runs every notebook in a python3 kernel (ipykernel in the venv provides it).
TEST_EXTRAS := dev,server,agents,notebooks,connectors,mail

test: $(BIN)/python
	$(PIP) -e '.[$(TEST_EXTRAS)]'
	$(MAKE) lint
	$(BIN)/python -m pytest
	$(MAKE) test-adk

# google-adk 1.14.1 (the newest whose OpenTelemetry cap fits beside crewai) downgrades
# fastapi and starlette and pulls the google-cloud stack, so its tests and example run in
# a venv of their own (about a minute to install, under a minute to run).
ADK_VENV ?= .venv-adk

test-adk:
	test -x $(ADK_VENV)/bin/python || $(PY) -m venv $(ADK_VENV)
	$(ADK_VENV)/bin/python -m pip install --disable-pip-version-check -q \
		-e '.[server,sdk,google-adk]' 'pytest>=8' 'pytest-timeout>=2.3'
	$(ADK_VENV)/bin/python -m pytest tests/agents/test_google_adk_tools.py \
		tests/agents/test_same_words.py tests/test_agent_examples.py -k google_adk

# What CI checks before the tests (`make test` runs this target): lint, formatting, no
# import cycle among the project's modules, and mypy at the strictness set in pyproject.toml.
lint: $(BIN)/python
	$(PIP) -e '.[dev]'
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m tests.support.import_graph
	$(BIN)/mypy coordinator agentdraft_agents

# Re-run notebooks/*.ipynb top to bottom and save them with their outputs (plots).
notebooks: $(BIN)/python
	$(PIP) -e '.[notebooks]'
	$(BIN)/python notebooks/execute.py

bench: $(BIN)/python
	$(PIP) -e '.[bench]'
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) $(ADK_VENV) .pytest_cache .ruff_cache .hypothesis
