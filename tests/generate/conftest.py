"""Shared helpers for the generator tests: the real MadGraph LHE files and a hand-made record."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
LHE_DIR = REPO / ".." / "shared" / "data" / "lhe"


def lhe_files() -> list[Path]:
    if not LHE_DIR.is_dir():
        return []
    return sorted(p for p in LHE_DIR.iterdir() if p.name.endswith((".lhe", ".lhe.gz")))


@pytest.fixture
def lhe_dir() -> Path:
    if not lhe_files():
        pytest.skip(f"no MadGraph LHE files in {LHE_DIR.resolve()} (the shared data folder)")
    return LHE_DIR


def fake_prt(rows: list[tuple]) -> ak.Array:
    """One event shaped like ``Pythia.nextBatch(...)["prt"]`` from rows of
    ``(id, status, mother1, daughter1, daughter2, px, py, pz, e)`` (Pythia's 1-based-with-system
    convention: index 0 is the system entry, 0 means "none")."""
    fields = ("id", "status", "mother1", "daughter1", "daughter2", "px", "py", "pz", "e")
    cols = {f: np.array([r[i] for r in rows]) for i, f in enumerate(fields)}
    n = len(rows)
    rec = {
        "id": cols["id"].astype(np.int32),
        "status": cols["status"].astype(np.int32),
        "mother1": cols["mother1"].astype(np.int32),
        "mother2": np.zeros(n, np.int32),
        "daughter1": cols["daughter1"].astype(np.int32),
        "daughter2": cols["daughter2"].astype(np.int32),
        "p": ak.zip({k: cols[k].astype(np.float64) for k in ("px", "py", "pz", "e")}),
    }
    return ak.unflatten(ak.zip(rec, depth_limit=1), [n])


@pytest.fixture(name="fake_prt")
def fake_prt_fixture():
    return fake_prt
