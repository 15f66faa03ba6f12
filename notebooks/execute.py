"""Re-run the notebooks top to bottom and save them in place with their outputs.

    python notebooks/execute.py                 # every notebooks/*.ipynb
    python notebooks/execute.py race.ipynb      # just these (names or paths)
    make notebooks                              # the same, in the project's .venv

The copies in the repository keep their outputs so a reader sees the plots without
running anything (GitHub renders them). Each run happens in a fresh ``python3`` kernel
(ipykernel, offline) with ``MPLBACKEND=Agg`` and this checkout first on ``PYTHONPATH``,
so the outputs come from the code next to them. The run stamps a hash of the cells'
sources into the notebook's metadata; ``tests/test_notebooks.py`` runs every notebook
the same way and fails when a saved copy's outputs no longer match its sources.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat import NotebookNode

NOTEBOOKS = Path(__file__).resolve().parent
ROOT = NOTEBOOKS.parent
KERNEL = "python3"
#: Longest one cell may run (seconds); the race notebook's longest cell takes ~20 s.
CELL_TIMEOUT = 300
#: Notebook metadata key holding the hash of the sources the saved outputs came from.
STAMP = "agentdraft"


def notebooks() -> list[Path]:
    """Every notebook in this folder, by name (a new one is picked up without registering)."""
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def sources_hash(nb: NotebookNode) -> str:
    """SHA-256 over the cells' types and sources: what the outputs must have come from."""
    h = hashlib.sha256()
    for cell in nb.cells:
        h.update(f"{cell.cell_type}\0{cell.source}\0".encode())
    return h.hexdigest()


def kernel_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The kernel's environment: headless matplotlib and this checkout importable first."""
    env = dict(os.environ)
    env["MPLBACKEND"] = "Agg"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.update(extra or {})
    return env


def execute(
    path: Path, *, timeout: int = CELL_TIMEOUT, env: Mapping[str, str] | None = None
) -> NotebookNode:
    """Run ``path`` top to bottom in a fresh kernel (cwd: its folder) and return it run.

    Raises ``nbclient.exceptions.CellExecutionError`` on the first failing cell. The
    file itself is not touched; see :func:`save`.
    """
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=KERNEL,
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute(env=kernel_env(env))
    nb.metadata[STAMP] = {"sources_sha256": sources_hash(nb)}
    return nb


def save(nb: NotebookNode, path: Path) -> None:
    nbformat.validate(nb)
    nbformat.write(nb, path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="names or paths (default: all)")
    args = parser.parse_args(argv)
    paths = [Path(p) if Path(p).exists() else NOTEBOOKS / p for p in args.notebooks]
    for path in paths or notebooks():
        started = time.perf_counter()
        save(execute(path), path)
        print(f"{path.name}: executed and saved in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
