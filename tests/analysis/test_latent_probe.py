"""docs/results/scripts/latent_probe.py (the linear probes behind docs/results.md's CP section) on
small runs: every stage is probed, and the probes read a separable task."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from hand_events import random_events

from eventgnn.cli import main
from eventgnn.events.io import write_events

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "results" / "scripts" / "latent_probe.py"
TINY = ["model.hidden=16", "model.latent=16", "model.mlp_layers=2", "model.iterations=2"]


def _script():
    spec = importlib.util.spec_from_file_location("latent_probe", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_probes_every_stage_and_reads_a_separable_task(tmp_path, capsys):
    # wh and zh 150 GeV apart in every object's pT: separable from any representation that
    # keeps the pT scale, so a probe that keeps events and labels in step reads it
    data = tmp_path / "data"
    for k, process in enumerate(("wh", "zh")):
        events = random_events(200, process, seed=20 + k, shift=150.0 * k)
        write_events(events, data / f"{process}.parquet")
    runs = []
    for seed in (0, 1):
        run = tmp_path / f"seed{seed}"
        args = ["finetune", "--task", "wh_vs_zh", "--from", "scratch", "--data", str(data)]
        args += ["--epochs", "3", "--seed", str(seed), "--out", str(run), *TINY]
        assert main(args + ["train.plots=false"]) == 0
        runs.append(str(run))
    probe = _script()
    out = probe.probe_run(runs[0], ["random", "self"])
    stages = ["encoder", "step1", "step2", "latent"]
    assert list(out) == [(m, s) for m in ("random", "self") for s in stages]
    for model in ("random", "self"):
        best = max(out[model, s][0] for s in stages)
        assert best > 80, (model, out)
    assert all(0 <= acc <= 100 and 0 <= auc <= 100 for acc, auc in out.values())
    capsys.readouterr()
    probe.main(runs, ["self"])
    table = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| self")]
    assert len(table) == len(stages) and all(" ± " in line for line in table)
