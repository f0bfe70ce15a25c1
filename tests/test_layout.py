"""The package's shape: folders are bands of the import graph (imports only point down), a
handful of modules at the top, and a command line that starts without torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "eventgnn"

BANDS = {
    "_core": 0,
    "events": 1,
    "plots": 1,
    "config": 1,
    "catalog": 2,
    "graphs": 2,
    "generate": 3,
    "model": 3,
    "train": 4,
    "analysis": 5,
    "deploy": 5,
    "classifier": 6,  # the Python face: finetune, predict, predict_file (deploy)
    "cli": 6,
    "__main__": 7,
    "__init__": 8,  # imports its public names lazily, from every band
}
"""Each top-level folder or module and its band: a module may import from lower bands only."""


def _room(module: str) -> str:
    """``eventgnn.train.engine`` -> ``train``; ``eventgnn`` -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> set[str]:
    """Every eventgnn module ``path`` imports, at any depth (function-level imports too)."""
    rel = path.relative_to(PACKAGE.parent).with_suffix("").parts
    package = list(rel if rel[-1] == "__init__" else rel[:-1])
    if package and package[-1] == "__init__":
        package = package[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            if node.module:
                found.add(target)
            else:  # from . import a, b: each name may be a module
                found.update(f"{target}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m == "eventgnn" or m.startswith("eventgnn.")}


def test_imports_point_down_the_bands():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        here = _room(".".join(rel.parts))
        if len(rel.parts) == 2:  # a top-level module
            here = rel.parts[1]
        assert here in BANDS, f"{path}: {here} has no band; add it to BANDS (and the docs)"
        for module in _imports(path):
            there = _room(module)
            if there != here and BANDS[there] >= BANDS[here]:
                upward.append(f"{rel.as_posix()} ({here}) imports {module} ({there})")
    assert not upward, "\n".join(upward)


def test_few_modules_at_the_top():
    top = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert top == ["__init__", "__main__", "classifier", "cli", "config"]


def test_the_command_line_starts_without_torch():
    code = (
        "import sys, eventgnn, eventgnn.cli; "
        "heavy = [m for m in ('torch', 'awkward', 'uproot', 'pythia8', 'matplotlib') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    # the public names still arrive on first use
    code = "import eventgnn; print(eventgnn.read_events.__module__, eventgnn.EventGNN.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["eventgnn.events.io", "EventGNN"]
