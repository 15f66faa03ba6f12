# The two commands a newcomer needs (see README.md):
#   make demo   - five agents race for one slot on the embedded coordinator
#   make test   - lint, then the whole test suite against real Redis engines it starts itself,
#                 including real LangChain/LangGraph, CrewAI, AutoGen and MCP agent loops
# Each creates .venv with the interpreter in $(PY) and installs what it needs.

PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --disable-pip-version-check -q

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q --upgrade pip

demo: $(BIN)/python
	$(PIP) -e .
	$(BIN)/python examples/race.py

# The suite drives every agent framework's real loop, so it installs their extras
# (crewai is the big one: ~800 MB; a fresh venv installs in about a minute here).
TEST_EXTRAS := dev,server,agents

test: $(BIN)/python
	$(PIP) -e '.[$(TEST_EXTRAS)]'
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(BIN)/python
	$(PIP) -e '.[dev]'
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(BIN)/python
	$(PIP) -e '.[bench]'
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
