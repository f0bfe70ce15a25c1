"""The stored notebooks: what ``notebooks/build_notebooks.py`` generates, and they run.

The notebooks are written from string literals in ``build_notebooks.py``; the stored ``.ipynb``
files must hold exactly the cells it generates (outputs and metadata aside), so that an edit to
one side only fails here. Then they are executed at their small default parameters, in order in
one working folder: the first makes a tiny scan (generating a small dataset with Pythia), the
others reuse it (the scan skips finished runs), so the three together stay near a minute.
``EVENTGNN_NOTEBOOK_TIMEOUT`` raises the per-cell limit on slow machines.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def load_generator():
    spec = importlib.util.spec_from_file_location(
        "build_notebooks", NOTEBOOKS / "build_notebooks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATOR = load_generator()
ORDER = list(GENERATOR.NOTEBOOKS)  # the order they run in: the first makes the scan


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("notebooks")


def test_every_stored_notebook_is_generated():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(ORDER)


@pytest.mark.parametrize("name", ORDER)
def test_stored_notebook_matches_its_generator(name):
    """Cell kinds and sources equal, in order; rebuild with
    ``python notebooks/build_notebooks.py`` after editing it."""
    generated = GENERATOR.build(name)
    stored = nbformat.read(NOTEBOOKS / name, as_version=4)
    want = [(c.cell_type, c.source) for c in generated.cells]
    got = [(c.cell_type, c.source) for c in stored.cells]
    assert got == want, f"{name} differs from build_notebooks.py: run it to rebuild the notebooks"


def test_notebooks_are_stored_without_outputs():
    for name in ORDER:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        assert "parameters" in nb.cells[1].metadata.get("tags", []), name
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, name


@pytest.mark.parametrize("name", ORDER)
def test_notebook_runs(name, workdir):
    nbclient = pytest.importorskip("nbclient")
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
