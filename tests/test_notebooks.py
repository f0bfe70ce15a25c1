"""Execute the notebooks at their small default parameters (what CI runs).

They run in order in one working folder: the first makes a tiny scan (generating a small dataset
with Pythia), the others reuse it (the scan skips finished runs), so the three together stay near
a minute. ``EVENTGNN_NOTEBOOK_TIMEOUT`` raises the per-cell limit on slow machines.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest

nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
ORDER = ["accuracy_vs_size.ipynb", "cka.ipynb", "training_time.ipynb"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("notebooks")


def test_notebooks_are_stored_without_outputs():
    for name in ORDER:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        assert "parameters" in nb.cells[1].metadata.get("tags", []), name
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, name


@pytest.mark.parametrize("name", ORDER)
def test_notebook_runs(name, workdir):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    shutil.copy(NOTEBOOKS / name, workdir / name)
    client = nbclient.NotebookClient(
        nb,
        timeout=int(os.environ.get("EVENTGNN_NOTEBOOK_TIMEOUT", "300")),
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute()  # raises CellExecutionError with the failing cell's traceback
    text = "".join(
        o.get("text", "") + str(o.get("data", {}).get("text/markdown", ""))
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
    )
    if name == "accuracy_vs_size.ipynb":
        assert "scratch accuracy" in text and "multiclass gain" in text
    elif name == "cka.ipynb":
        assert "| A vs A | 1.0000 | 1.0000 |" in text
        assert "scratch vs multiclass" in text
    else:
        assert "break-even tasks" in text
