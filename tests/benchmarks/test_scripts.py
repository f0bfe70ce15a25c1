"""The benchmark scripts run the way their README says, ``python benchmarks/NAME.py``.

They are scripts, not a package: ``bench_model``, ``bench_epoch`` and ``bench_load`` import their
neighbours (``common``, ``reference``) from their own folder, which Python puts on ``sys.path``
for a script. Those three are started here in a fresh interpreter, outside the repository, so
that nothing else makes those imports work; the others import only eventgnn and are loaded in
this process (cheap), so that a moved package function fails here rather than at the next
measurement. The in-process end-to-end tests of ``bench_model``, ``bench_epoch`` and
``bench_load`` live in ``tests/test_fast_path.py``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hand_events import random_events

from eventgnn.events.parquet import write_events

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "benchmarks"
SCRIPTS = sorted(p.name for p in BENCH.glob("bench_*.py"))


def imports_a_neighbour(name: str) -> bool:
    neighbours = {p.stem for p in BENCH.glob("*.py")}
    lines = (BENCH / name).read_text().splitlines()
    imports = [line.split()[1] for line in lines if line.startswith(("import ", "from "))]
    return any(module in neighbours for module in imports)


WITH_NEIGHBOURS = [name for name in SCRIPTS if imports_a_neighbour(name)]


def run_script(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    # this checkout's eventgnn, whichever copy the environment has installed
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, str(BENCH / name), *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_scripts_are_sorted_by_their_imports():
    assert {"bench_epoch.py", "bench_load.py", "bench_model.py"} <= set(WITH_NEIGHBOURS)
    assert "bench_generate.py" in SCRIPTS and "bench_generate.py" not in WITH_NEIGHBOURS


@pytest.mark.parametrize("name", [n for n in WITH_NEIGHBOURS if n != "bench_model.py"])
def test_script_runs_from_another_folder(name, tmp_path):
    """(bench_model.py runs as a script in the sweep test below.)"""
    done = run_script(name, "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage:"), done.stdout


@pytest.mark.parametrize("name", [n for n in SCRIPTS if n not in WITH_NEIGHBOURS])
def test_standalone_script_imports(name):
    spec = importlib.util.spec_from_file_location(Path(name).stem, BENCH / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert callable(module.main)


def test_bench_model_sweep_writes_plots(tmp_path):
    """``--sweep --plots``: both sweeps measured, both figures written, the JSON names them."""
    data = tmp_path / "data"
    write_events(random_events(40, process="a", seed=1, max_objects=3), data / "a.parquet")
    write_events(random_events(40, process="b", seed=2, max_objects=3), data / "b.parquet")
    out = tmp_path / "perf.json"
    done = run_script("bench_model.py", "--data", str(data), "--events", "80",
                      "--batch-size", "16", "--eval-batch-size", "32", "--repeats", "1",
                      "--warmup", "1", "--threads", "1", "--sweep", "--sweep-group-events", "16",
                      "--plots", str(tmp_path / "plots"), "--json", str(out),
                      cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert [r["events"] for r in result["sweep_events"]["rows"]] == [80]
    assert [r["n_objects"] for r in result["sweep_multiplicity"]["rows"]] == [2, 3]
    plots = [tmp_path / "plots" / f"perf_vs_{x}.png" for x in ("events", "multiplicity")]
    assert result["plots"] == [str(p) for p in plots]
    assert all(p.stat().st_size > 0 for p in plots)
    assert "batch building" in done.stdout and "ratio (CPU s)" in done.stdout
