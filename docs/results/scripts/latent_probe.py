"""Linear probes: how much of a task a model's representations hold, without training the model.

For each model, the per-event activations of every stage (the encoded global state, the global
state after each processor step, the decoder's latent; :func:`eventgnn.analysis.compare.
layer_activations`) are computed on the training and test events of a finished finetune or scan
run, whose data and split are reused; a logistic regression (standardised inputs, L2, fitted to
convergence) is trained on the training events' activations and scored on the test events. A
probe converges, unlike a frozen-backbone finetune that stops at its epoch limit, and reads every
stage, not only the latent the head sees.

    python docs/results/scripts/latent_probe.py RUN[,RUN...] MODEL [MODEL ...]

RUN: one or more runs (comma-separated; for example the seeds of one scan size, whose training
subsets differ). MODEL: a shipped model name or a run folder; ``self``: each RUN's own model;
``random``: RUN's architecture freshly initialised with RUN's seed and the input statistics of
its training events (the floor a probe reaches on random features of the same graphs). Prints a
markdown table: the probe's test accuracy and AUC (%) per model and stage, mean ± standard
deviation over the runs, and the seconds taken.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from eventgnn.analysis.compare import layer_activations
from eventgnn.config import ModelConfig, from_dict
from eventgnn.model.eventgnn import EventGNN
from eventgnn.train.checkpoint import load_checkpoint, load_model
from eventgnn.train.evaluate import run_data
from eventgnn.train.runs import fit_stats


def model_of(spec: str, run: str, ckpt: dict, data) -> torch.nn.Module:
    if spec == "random":
        torch.manual_seed(ckpt["config"]["train"]["seed"])
        config = from_dict(ModelConfig, ckpt["model_config"])
        return EventGNN(config, ckpt["n_outputs"], fit_stats(data))
    return load_model(run if spec == "self" else spec)[0]


def probe(train_x, train_y, test_x, test_y) -> tuple[float, float]:
    fit = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=5000))
    fit.fit(train_x, train_y)
    score = fit.predict_proba(test_x)[:, 1]
    return 100 * float(((score > 0.5) == test_y).mean()), 100 * roc_auc_score(test_y, score)


def probe_run(run: str, specs: list[str]) -> dict[tuple[str, str], tuple[float, float]]:
    """``{(model, stage): (accuracy, AUC)}`` of the probes on one run's events."""
    ckpt = load_checkpoint(run)
    data = run_data(ckpt)
    train, test = data.part("train"), data.part("test")
    train_y, test_y = (g.labels["label"].numpy() for g in (train, test))
    print(f"{run}: {len(train):,} training and {len(test):,} test events", file=sys.stderr)
    out = {}
    for spec in specs:
        model = model_of(spec, run, ckpt, data).eval()
        with torch.no_grad():
            acts = [layer_activations(model, g) for g in (train, test)]
        for stage in acts[0]:
            x = (acts[0][stage].numpy(), train_y, acts[1][stage].numpy(), test_y)
            out[spec, stage] = probe(*x)
    return out


def main(runs: list[str], specs: list[str]) -> None:
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    results = [probe_run(run, specs) for run in runs]
    print(f"{len(runs)} run(s): {', '.join(runs)}\n")
    print("| model | stage | probe test accuracy [%] | probe test AUC [%] |")
    print("|---|---|---|---|")
    for key in results[0]:
        acc, auc = np.array([r[key] for r in results]).T
        cells = [f"{v.mean():.2f} ± {v.std(ddof=1):.2f}" if len(v) > 1 else f"{v[0]:.2f}"
                 for v in (acc, auc)]  # fmt: skip
        print(f"| {key[0]} | {key[1]} | {cells[0]} | {cells[1]} |")
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1].split(","), sys.argv[2:])
