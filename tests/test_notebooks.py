"""The stored notebooks: what ``notebooks/build_notebooks.py`` generates, executed on the
committed results, and the small pipeline they run end to end.

The notebooks are written from string literals in ``build_notebooks.py``; the stored ``.ipynb``
files must hold exactly the cells it generates, with the outputs of a run on the committed
results (``SCAN_DIR``, a scan folder under ``docs/results/``), so that a reader on GitHub sees the
tables. Here they are executed again on those results: their tables must equal the stored
outputs and docs/results.md. Then once more with ``SCAN_DIR = None``, in order in one working
folder: the first makes a tiny scan (generating a small dataset with Pythia), the others reuse it
(the scan skips finished runs), so the three together stay near a minute.
``EVENTGNN_NOTEBOOK_TIMEOUT`` raises the per-cell limit on slow machines.
"""

from __future__ import annotations

import copy
import importlib.util
import os
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
RESULTS_MD = NOTEBOOKS.parent / "docs" / "results.md"
TIMEOUT = int(os.environ.get("EVENTGNN_NOTEBOOK_TIMEOUT", "300"))


def load_generator():
    spec = importlib.util.spec_from_file_location(
        "build_notebooks", NOTEBOOKS / "build_notebooks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATOR = load_generator()
ORDER = list(GENERATOR.NOTEBOOKS)  # the order they run in: the first makes the scan


def stored(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / name, as_version=4)


def outputs_text(nb) -> list[str]:
    """The printed text and Markdown of every code cell's outputs, in order: no images, and no
    stderr (warnings, which depend on the installed package versions, not on the results)."""
    return [
        o.get("text", "") + str(o.get("data", {}).get("text/markdown", ""))
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.get("name") != "stderr"
    ]


def table_rows(texts: list[str]) -> list[str]:
    """The data rows of the Markdown tables in ``texts`` (no header or separator rows), except
    the CKA notebook's dummy-data check, which docs/results.md does not hold."""
    rows = []
    for text in texts:
        lines = [line for line in text.splitlines() if line.startswith("|")]
        if lines and lines[0].startswith("| comparison |"):
            continue
        rows += [line for line in lines[2:] if not line.startswith("|---")]
    return rows


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
    want = [(c.cell_type, c.source) for c in generated.cells]
    got = [(c.cell_type, c.source) for c in stored(name).cells]
    assert got == want, f"{name} differs from build_notebooks.py: run it to rebuild the notebooks"


@pytest.mark.parametrize("name", ORDER)
def test_stored_notebook_is_executed_without_errors(name):
    nb = stored(name)
    assert "parameters" in nb.cells[1].metadata.get("tags", [])
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), name
    assert not [o for c in code for o in c.outputs if o.output_type == "error"], name
    assert table_rows(outputs_text(nb)), f"{name} shows no table"


@pytest.mark.slow  # ~25 s for the three: each notebook executed
@pytest.mark.parametrize("name", ORDER)
def test_notebook_on_the_committed_results_equals_docs(name):
    """Executed again on the committed results, a notebook shows what is stored, and every
    table row it shows is in docs/results.md."""
    pytest.importorskip("nbclient")
    nb = GENERATOR.execute(copy.deepcopy(stored(name)), NOTEBOOKS, timeout=TIMEOUT)
    fresh = outputs_text(nb)
    assert fresh == outputs_text(stored(name)), (
        f"{name}: its stored outputs are stale; rebuild with python notebooks/build_notebooks.py"
    )
    docs = RESULTS_MD.read_text()
    missing = [row for row in table_rows(fresh) if row not in docs]
    assert not missing, f"{name}: rows not in docs/results.md: {missing[:3]}"


@pytest.mark.slow  # ~40 s for the three: scans, pretraining and CKA end to end
@pytest.mark.parametrize("name", ORDER)
def test_notebook_runs_the_small_pipeline(name, workdir):
    """``SCAN_DIR = None`` (a cell after the parameters, as papermill injects one): generate,
    scan and analyse at the small defaults, in a scratch folder."""
    pytest.importorskip("nbclient")
    nb = GENERATOR.build(name)
    nb.cells.insert(2, nbformat.v4.new_code_cell("SCAN_DIR = None  # injected by the test"))
    GENERATOR.execute(nb, workdir, timeout=TIMEOUT)
    text = "".join(outputs_text(nb))
    if name == "accuracy_vs_size.ipynb":
        assert "scratch accuracy" in text and "multiclass gain" in text
    elif name == "cka.ipynb":
        assert "| A vs A | 1.0000 | 1.0000 |" in text
        assert "scratch vs multiclass" in text
    else:
        assert "break-even tasks" in text and "multiclass | 150 |" in text
