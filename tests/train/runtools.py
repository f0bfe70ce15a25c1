"""Helpers of the training tests: a run's history and weights, the check that two runs are the
same run, and two CPU ranks under ``torchrun``."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import torch

TIMES = ("wall_s", "elapsed_s")
"""History columns that differ between identical runs."""


def history(run: Path) -> list[dict]:
    with open(run / "history.csv") as f:
        return list(csv.DictReader(f))


def state(run: Path) -> dict:
    return torch.load(run / "model.pt", weights_only=True)["state_dict"]


def assert_same_run(a: Path, b: Path) -> None:
    """The runs ``a`` and ``b`` have the same history (times aside) and bit-identical weights."""
    ha, hb = history(a), history(b)
    assert len(ha) == len(hb)
    for x, y in zip(ha, hb, strict=True):
        assert {k: v for k, v in x.items() if k not in TIMES} == {
            k: v for k, v in y.items() if k not in TIMES
        }
    sa, sb = state(a), state(b)
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def torchrun_two_ranks(script: str, args: list[str], folder: Path) -> subprocess.CompletedProcess:
    """``script`` (dedented, written to ``folder``) run as two CPU ranks under ``torchrun
    --standalone`` with ``args``, one thread each, CUDA hidden."""
    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.exists():
        torchrun = shutil.which("torchrun")
    path = folder / "ranks.py"
    path.write_text(textwrap.dedent(script))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    command = [str(torchrun), "--standalone", "--nproc_per_node", "2", str(path), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
