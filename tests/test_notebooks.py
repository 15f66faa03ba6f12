"""Every notebook in notebooks/ runs top to bottom, and its saved copy shows its outputs.

The notebooks are documentation that executes: a change that breaks one fails here,
not in a reader's hands. Each is run offline in a fresh ``python3`` kernel exactly as
``notebooks/execute.py`` (``make notebooks``) runs it to refresh the saved copies. A
notebook added to the folder is picked up by the glob, no registration needed.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError

from coordinator.store.embedded import stop_embedded
from notebooks.execute import STAMP, execute, notebooks, sources_hash

NOTEBOOKS = notebooks()
#: Seconds one notebook may take end to end (the race notebook takes about 20 s).
NOTEBOOK_TIMEOUT = 240


def code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code"]


def errors(nb: nbformat.NotebookNode) -> list[str]:
    return [
        f"{o.ename}: {o.evalue}"
        for c in code_cells(nb)
        for o in c.outputs
        if o.output_type == "error"
    ]


def test_the_notebooks_folder_has_notebooks() -> None:
    assert [p.name for p in NOTEBOOKS], "notebooks/*.ipynb found nothing"


def run_isolated(path: Path, tmp: Path) -> nbformat.NotebookNode:
    """Execute ``path`` with ``tmp`` as the kernel's temp folder, then stop its engines.

    An embedded engine is a daemon that outlives the kernel. A notebook that starts
    one under ``tempfile`` starts it in ``tmp``, so it is stopped here even when a
    cell fails before the notebook's own clean-up cell.
    """
    try:
        return execute(path, env={"TMPDIR": str(tmp)})
    finally:
        for record in tmp.rglob("engine.json"):
            stop_embedded(record.parent)


@pytest.mark.timeout(NOTEBOOK_TIMEOUT)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_the_notebook_runs_top_to_bottom_without_errors(path: Path, tmp_path: Path) -> None:
    nb = run_isolated(path, tmp_path)
    assert errors(nb) == []
    assert all(c.execution_count for c in code_cells(nb))


@pytest.mark.timeout(NOTEBOOK_TIMEOUT)
def test_a_failing_cell_fails_the_run_and_leaves_no_engine_running(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ipynb"
    nbformat.write(
        nbformat.v4.new_notebook(
            cells=[
                nbformat.v4.new_code_cell(
                    "import tempfile\nfrom coordinator import Coordinator\n"
                    "coord = Coordinator.embedded(tempfile.mkdtemp())"
                ),
                nbformat.v4.new_code_cell("raise RuntimeError('broken on purpose')"),
                nbformat.v4.new_code_cell("print('never reached')"),
            ]
        ),
        bad,
    )
    kernel_tmp = tmp_path / "kernel-tmp"
    kernel_tmp.mkdir()
    with pytest.raises(CellExecutionError, match="broken on purpose"):
        run_isolated(bad, kernel_tmp)
    engines = [r.parent for r in kernel_tmp.rglob("engine.json")]
    assert len(engines) == 1, "the first cell did not start its engine in the kernel's TMPDIR"
    assert stop_embedded(engines[0]) is False  # already stopped: nothing was running


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_the_saved_copy_shows_outputs_of_its_current_code(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    cells = code_cells(nb)
    refresh = "re-run `make notebooks` (python notebooks/execute.py) and commit the result"
    assert [c.execution_count for c in cells] == list(range(1, len(cells) + 1)), (
        f"not run top to bottom in one kernel: {refresh}"
    )
    assert nb.metadata.get(STAMP, {}).get("sources_sha256") == sources_hash(nb), (
        f"cells changed since the outputs were saved: {refresh}"
    )
    assert errors(nb) == []
    outputs = [o for c in cells for o in c.outputs]
    assert outputs, f"saved without outputs: {refresh}"
    pngs = [o for o in outputs if "image/png" in o.get("data", {})]
    assert pngs, "no figure saved: show plots inline (%matplotlib inline)"
