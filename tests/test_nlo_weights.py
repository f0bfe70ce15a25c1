"""A task of NanoAOD-layout samples with NLO-like weights (+-225,892, an eighth negative), through
the command line as a physicist runs it: every plot written, the summary's background rejection
and per-sample score table, and normalisation to events."""

from __future__ import annotations

import json

import numpy as np
import yaml
from events.rootfiles import random_objects, write_nanoaod
from hand_events import TINY

from eventgnn.cli import main


def nlo_sample(path, n, seed, signal):
    rng = np.random.default_rng(seed + 100)
    weight = np.where(rng.uniform(size=n) < 0.125, -225_892.0, 225_892.0)
    return write_nanoaod(path, **{**random_objects(n, seed, signal), "weight": weight})


def test_mixed_sign_weights_end_to_end(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EVENTGNN_CACHE", str(tmp_path / "cache"))
    task = {
        "name": "nlo",
        "signal": [{"files": [str(nlo_sample(tmp_path / "sig.root", 200, 1, True))],
                    "process": "sig", "normalize": "events"}],
        "background": [
            {"files": [str(nlo_sample(tmp_path / "tt_a.root", 150, 2, False))],
             "process": "tt_a", "normalize": "events"},
            {"files": [str(nlo_sample(tmp_path / "tt_b.root", 150, 3, False))],
             "process": "tt_b", "normalize": "events"},
        ],
    }  # fmt: skip
    (tmp_path / "task.yaml").write_text(yaml.safe_dump(task))
    run = tmp_path / "run"
    args = ["finetune", "--task", str(tmp_path / "task.yaml"), "--from", "scratch",
            "--epochs", "3", "--out", str(run), *TINY]  # fmt: skip
    assert main([a for a in args if a != "train.plots=false"]) == 0
    said = capsys.readouterr().out
    assert "sample tt_a: weights normalised to its 150 events" in said
    assert "background rejection 1/eps_B:" in said
    assert "mean score per sample (test events, weighted): sig " in said
    plots = {p.name for p in (run / "plots").iterdir()}
    assert {"roc.png", "scores.png", "scores_by_process.png"} <= plots
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["per_sample"]) == {"sig", "tt_a", "tt_b"}
    assert 0 <= metrics["accuracy"] <= 1 and np.isfinite(metrics["auc"])
