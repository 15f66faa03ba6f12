"""Every module imports, and no two of the project's modules import each other.

A cycle between modules works until someone imports the "wrong" one first, and it
forces function-level imports that hide the dependency. The static check reads
every import statement (at any depth), so a cycle hidden inside a function or under
``TYPE_CHECKING`` fails it too.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.import_graph import ROOT, cycles, edges, modules

#: Modules whose framework is installed in a venv of its own (see Makefile test-adk):
#: here they may only fail for want of ``google.adk``.
SEPARATE_VENV = {"agentdraft_agents.google_adk_tools", "agentdraft_agents.testing.google_adk_llm"}

_IMPORT_ALL = """
import importlib, json, sys
failed = {}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except ImportError as exc:
        failed[name] = ["import", str(exc)]
    except Exception as exc:
        failed[name] = ["error", f"{type(exc).__name__}: {exc}"]
print(json.dumps(failed))
"""


def test_the_project_has_no_import_cycle() -> None:
    found = cycles(edges(modules()))
    assert found == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_the_cycle_check_finds_a_cycle_hidden_in_a_function(tmp_path: object) -> None:
    from pathlib import Path

    root = Path(str(tmp_path))
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "a.py").write_text("from .b import x\n")
    (root / "pkg" / "b.py").write_text("def x():\n    from pkg.a import y\n")
    assert cycles(edges(modules(root, ("pkg",)))) == [["pkg.a", "pkg.b"]]


def test_every_module_imports_in_a_fresh_interpreter() -> None:
    names = sorted(modules())
    out = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL, *names],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    failed = json.loads(out.stdout.strip().splitlines()[-1])
    broken = {
        name: why
        for name, why in failed.items()
        if not (name in SEPARATE_VENV and why[0] == "import" and "google" in why[1])
    }
    assert broken == {}
    assert len(names) > 100  # the walk found the packages


def test_every_module_opens_with_a_line_saying_what_it_owns() -> None:
    import ast

    silent = []
    for name, path in modules().items():
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        first = doc.strip().splitlines()[0] if doc and doc.strip() else ""
        if len(first) < 20:
            silent.append(name)
    assert silent == []
