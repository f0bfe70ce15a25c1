"""Jobs killed with SIGKILL part-way and rerun with the same command end exactly where an
uninterrupted run ends (CPU, fixed seeds: bit-identical weights and tables).

``generate`` is covered by tests/generate/test_gen_run.py
(``test_killed_generation_resumes_without_duplicates_or_gaps``); this file covers ``pretrain``,
``finetune`` and ``scan``. Each test starts the real command in a subprocess, kills it as soon as
its first checkpoint (``last.pt``) or first finished scan point appears, reruns the same command,
and compares with a run that was never interrupted.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import torch
from rel_helpers import TINY

from eventgnn.cli import main

SLOW_ENOUGH = (*TINY, "train.patience=1000")  # no early stop: the run is long enough to kill


def _kill_when(cmd: list[str], ready, timeout: float = 120.0) -> None:
    """Start ``eventgnn CMD`` in a subprocess and SIGKILL it as soon as ``ready()`` is true."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    log = open(Path(tempfile.mkdtemp()) / "stderr.txt", "w+")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen([sys.executable, "-m", "eventgnn.cli", *map(str, cmd)], env=env,
                            stdout=subprocess.DEVNULL, stderr=log)  # fmt: skip
    deadline = time.monotonic() + timeout
    try:
        while not ready():
            if proc.poll() is not None:
                raise AssertionError(
                    f"the job ended (exit {proc.returncode}) before it could be killed: "
                    f"{Path(log.name).read_text()[-2000:]}"
                )
            if time.monotonic() > deadline:
                raise AssertionError("the job did not reach the kill point in time")
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()


def _same_weights(a: Path, b: Path) -> None:
    sa = torch.load(a / "model.pt", weights_only=True)
    sb = torch.load(b / "model.pt", weights_only=True)
    assert sa["state_dict"].keys() == sb["state_dict"].keys()
    for k in sa["state_dict"]:
        assert torch.equal(sa["state_dict"][k], sb["state_dict"][k]), k
    assert sa["best_epoch"] == sb["best_epoch"]
    assert sa["metrics"] == sb["metrics"]


def _history(run: Path) -> list[dict]:
    with open(run / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:  # wall-clock columns differ between any two runs
        for k in [k for k in r if "time" in k or k.startswith(("wall", "elapsed"))]:
            del r[k]
    return rows


def test_killed_pretrain_resumes_to_the_same_model(datasets, tmp_path):
    args = ["pretrain", "--data", datasets["pre"], "--epochs", "40", *SLOW_ENOUGH]
    killed = tmp_path / "killed"
    _kill_when([*args, "--out", killed], lambda: (killed / "last.pt").exists())
    assert not (killed / "model.pt").exists()  # killed part-way, before the end
    epoch_at_kill = torch.load(killed / "last.pt", weights_only=True)["progress"]["epoch"]
    assert 1 <= epoch_at_kill < 40
    assert main([*map(str, args), "--out", str(killed)]) == 0
    clean = tmp_path / "clean"
    assert main([*map(str, args), "--out", str(clean)]) == 0
    _same_weights(killed, clean)
    assert _history(killed) == _history(clean) and len(_history(clean)) == 40
    assert not list(killed.glob(".*.tmp"))  # no temporary file left behind


@pytest.mark.slow  # same engine resume path as pretrain (default run); ~15 s
def test_killed_finetune_resumes_to_the_same_model(trained_run, datasets, tmp_path):
    args = ["finetune", "--task", "sig_vs_bkg", "--from", trained_run, "--data",
            datasets["down"], "--epochs", "40", "--train-size", "60", *SLOW_ENOUGH]  # fmt: skip
    killed = tmp_path / "killed"
    _kill_when([*args, "--out", killed], lambda: (killed / "last.pt").exists())
    assert not (killed / "model.pt").exists()
    assert main([*map(str, args), "--out", str(killed)]) == 0
    clean = tmp_path / "clean"
    assert main([*map(str, args), "--out", str(clean)]) == 0
    _same_weights(killed, clean)
    assert _history(killed) == _history(clean)


def _results(out: Path) -> list[dict]:
    with open(out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        del r["train_time_s"], r["run"]
    return rows


@pytest.mark.slow  # ~25 s: a subprocess plus two 4-point scans
def test_killed_scan_resumes_to_the_same_tables(datasets, tmp_path):
    args = ["scan", "--task", "sig_vs_bkg", "--sizes", "20,40", "--seeds", "2", "--setups",
            "scratch", "--data", datasets["down"], "--epochs", "20", "--",
            *SLOW_ENOUGH]  # fmt: skip
    killed = tmp_path / "killed"
    # killed while the second point trains: one point finished, one half-done, two to go
    first = killed / "runs" / "scratch" / "n20" / "seed1" / "last.pt"
    _kill_when([*args[:-len(SLOW_ENOUGH) - 1], "--out", killed, "--", *SLOW_ENOUGH],
               first.exists)  # fmt: skip
    # part-way: the last points have not run (the tables are rewritten after every point, so
    # their existence says nothing)
    assert not (killed / "runs" / "scratch" / "n40" / "seed1").exists()
    assert (killed / "runs" / "scratch" / "n20" / "seed0" / "metrics.json").exists()
    assert main([*map(str, args[:-len(SLOW_ENOUGH) - 1]), "--out", str(killed), "--",
                 *SLOW_ENOUGH]) == 0  # fmt: skip
    clean = tmp_path / "clean"
    assert main([*map(str, args[:-len(SLOW_ENOUGH) - 1]), "--out", str(clean), "--",
                 *SLOW_ENOUGH]) == 0  # fmt: skip
    assert _results(killed) == _results(clean) and len(_results(clean)) == 4
    for size in (20, 40):
        for seed in (0, 1):
            point = Path("runs") / "scratch" / f"n{size}" / f"seed{seed}"
            _same_weights(killed / point, clean / point)
    for name in ("summary.csv", "summary.md"):
        assert (killed / name).read_text() == (clean / name).read_text()


@pytest.mark.parametrize("name", ["model.pt", "last.pt", "metrics.json", "history.csv"])
def test_run_files_are_written_atomically(name, monkeypatch, datasets, tmp_path):
    """Every file of a run goes through eventgnn._core.fileio.atomic_path (temporary file + rename):
    the tracer sees each final name arrive by ``os.replace``, never opened for writing."""
    import eventgnn._core.fileio as fileio

    replaced: list[str] = []
    real = os.replace

    def tracing_replace(src, dst):
        replaced.append(Path(dst).name)
        return real(src, dst)

    monkeypatch.setattr(fileio.os, "replace", tracing_replace)
    out = tmp_path / "r"
    assert main(["pretrain", "--data", str(datasets["pre"]), "--epochs", "1", "--out", str(out),
                 *TINY]) == 0  # fmt: skip
    assert name in replaced
