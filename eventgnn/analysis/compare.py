"""Compare trained runs by CKA on the same events.

Loads run directories (``model.pt``), evaluates every model on one common set of events and
returns the 64-dimensional latents after the decoder (:meth:`eventgnn.model.EventGNN.encode`), or
the per-event activations of every stage for a layer-by-layer heatmap. The CKA itself is
:mod:`eventgnn.analysis.cka`.

The events: with ``data`` given, the events of the first run's task processes in ``data``; without
it, the first run's own test split (re-derived from the data path, split seed and fractions stored
in its checkpoint; every run of a task on the same data shares it). The first ``n_events`` are
used, and the same events go to every model.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .._core.fileio import write_text_atomic
from ..plots import plot_cka_matrix
from ..train.checkpoint import load_checkpoint, load_model
from ..train.evaluate import evaluation_graphs
from ..train.scoring import EVAL_BATCH_SIZE, score
from .cka import capture_activations, cka_matrix, layerwise_cka, pair_statistics

__all__ = ["CKAResult", "common_events", "compare_runs", "layer_activations", "run_latents"]


def common_events(run: str | os.PathLike, data: str | os.PathLike | None = None, n_events=None):
    """The :class:`~eventgnn.graphs.batch.GraphTensors` every model is evaluated on."""
    graphs = evaluation_graphs(load_checkpoint(run), data)
    if n_events is not None and n_events < len(graphs):
        # a seeded random subset, not the first events: the test split is sorted by position and
        # a dataset folder may hold processes one after another
        idx = np.sort(np.random.default_rng(0).choice(len(graphs), n_events, replace=False))
        graphs = graphs.subset(idx)
    return graphs


def run_latents(
    runs: Sequence[str | os.PathLike], graphs, batch_size: int = EVAL_BATCH_SIZE
) -> list[torch.Tensor]:
    """Each run's latent ``[n_events, latent]`` on ``graphs`` (CPU, float32)."""
    out = []
    for run in runs:
        model, _ = load_model(run)
        latent, _, _ = score(model, graphs, batch_size=batch_size, latent=True)
        out.append(latent)
    return out


def layer_activations(model: torch.nn.Module, graphs, batch_size: int = EVAL_BATCH_SIZE) -> dict:
    """Per-event activations of every stage of an EventGNN, in order: the encoded global state,
    the global state after each processor step, and the decoder output (the latent)."""
    n_blocks = len(model.processor)
    names = ["global_encoder"] + [f"processor.{k}" for k in range(n_blocks)] + ["decoder"]
    batches = (
        graphs.batch(idx, target=None) for idx in torch.arange(len(graphs)).split(batch_size)
    )
    acts = capture_activations(model, batches, forward=lambda m, b: m.encode(b), modules=names)
    out = {"encoder": acts["global_encoder"]}
    # processor blocks return (x, e, u); with shared weights one block fires once per step
    steps = sorted(
        (k for k in acts if k.startswith("processor.") and k.endswith("[2]")),
        key=lambda k: (int(k.split(".")[1].split("[")[0].split("#")[0]), _call_index(k)),
    )
    for i, k in enumerate(steps, 1):
        out[f"step{i}"] = acts[k]
    out["latent"] = acts["decoder"]
    return out


def _call_index(key: str) -> int:
    head = key.split("[")[0]
    return int(head.split("#")[1]) if "#" in head else 0


@dataclass
class CKAResult:
    """Ensemble CKA between runs ``a`` and ``b`` (``matrix[i, j]`` = CKA(a_i, b_j))."""

    kernel: str
    mean: float
    std: float
    matrix: np.ndarray
    runs_a: list[str]
    runs_b: list[str]
    n_events: int


def compare_runs(
    runs_a: Sequence[str | os.PathLike],
    runs_b: Sequence[str | os.PathLike],
    data: str | os.PathLike | None = None,
    kernel: str = "linear",
    n_events: int | None = 5000,
    threshold: float = 0.5,
) -> CKAResult:
    """CKA of the latents of two sets of runs on the same events (paper, eq. 1).

    When both sets are the same runs, the self-pairs are left out of the mean and spread.
    """
    runs_a, runs_b = [str(r) for r in runs_a], [str(r) for r in runs_b]
    graphs = common_events(runs_a[0], data, n_events)
    same = runs_a == runs_b
    la = run_latents(runs_a, graphs)
    lb = None if same else run_latents(runs_b, graphs)
    matrix = cka_matrix(la, lb, kernel=kernel, threshold=threshold)
    mean, std = (1.0, 0.0) if same and len(la) == 1 else pair_statistics(matrix, same)
    return CKAResult(kernel, mean, std, matrix, runs_a, runs_b, len(graphs))


def layerwise_runs(
    run_a: str | os.PathLike,
    run_b: str | os.PathLike,
    data: str | os.PathLike | None = None,
    kernel: str = "linear",
    n_events: int | None = 2000,
) -> tuple[np.ndarray, list[str], list[str]]:
    """Layer-by-layer CKA matrix between two runs' per-event stages (rows: ``run_a``)."""
    graphs = common_events(run_a, data, n_events)
    acts = []
    for run in (run_a, run_b):
        model, _ = load_model(run)
        acts.append(layer_activations(model, graphs))
    return layerwise_cka(acts[0], acts[1], kernel=kernel), list(acts[0]), list(acts[1])


def write_cka(
    out: str | os.PathLike,
    result: CKAResult,
    layers: bool = False,
    data: str | os.PathLike | None = None,
    n_events: int | None = 2000,
) -> None:
    """Write ``cka.json`` (mean, spread, pair matrix, runs), ``cka_pairs.csv`` and a heatmap of
    the pair matrix into ``out``; with ``layers``, also the layer-by-layer CKA between the first
    run of each set (``cka_layers.csv``, ``cka_layers.png``)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    payload = {
        "kernel": result.kernel,
        "mean": result.mean,
        "std": result.std,
        "n_events": result.n_events,
        "runs_a": result.runs_a,
        "runs_b": result.runs_b,
        "matrix": result.matrix.tolist(),
    }
    write_text_atomic(out / "cka.json", json.dumps(payload, indent=2) + "\n")
    lines = ["run_a,run_b,cka"]
    lines += [
        f"{a},{b},{result.matrix[i, j]:.6f}"
        for i, a in enumerate(result.runs_a)
        for j, b in enumerate(result.runs_b)
    ]
    write_text_atomic(out / "cka_pairs.csv", "\n".join(lines) + "\n")
    short_a = [Path(r).name or r for r in result.runs_a]
    short_b = [Path(r).name or r for r in result.runs_b]
    plot_cka_matrix(
        result.matrix, short_a, short_b, out=out / "cka.png",
        title=f"{result.kernel} CKA: {result.mean:.3f} ± {result.std:.3f}",
    )  # fmt: skip
    if layers:
        m, rows, cols = layerwise_runs(
            result.runs_a[0], result.runs_b[0], data=data, kernel=result.kernel, n_events=n_events
        )
        text = ["layer," + ",".join(cols)]
        text += [f"{r}," + ",".join(f"{v:.6f}" for v in m[i]) for i, r in enumerate(rows)]
        write_text_atomic(out / "cka_layers.csv", "\n".join(text) + "\n")
        plot_cka_matrix(
            m, [f"A {r}" for r in rows], [f"B {c}" for c in cols], out=out / "cka_layers.png",
            title=f"layer-wise {result.kernel} CKA",
        )  # fmt: skip
