"""Scoring: one function, :func:`score`, turns a model and graphs into outputs for every caller
(training's validation, ``evaluate``, ``predict``, :meth:`EventClassifier.predict`, CKA), and
:func:`write_plots` draws a run's figures from the scores.

:func:`score` moves the model to the device it scores on (so a model loaded on the CPU scores on
a GPU when asked) and batches ``batch_size`` events at a time: the run's own
``train.eval_batch_size`` where the caller has the run (:func:`eval_batch_size`), else
:data:`EVAL_BATCH_SIZE`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .._core.fileio import clip
from ..config import TrainConfig
from ..graphs.batch import GraphTensors
from ..plots import plot_run
from .distributed import resolve_device
from .objectives import Objective

EVAL_BATCH_SIZE = TrainConfig().eval_batch_size
"""Events per inference batch when no run says otherwise."""


def eval_batch_size(ckpt: Mapping) -> int:
    """The inference batch size of the run whose checkpoint is ``ckpt`` (its
    ``train.eval_batch_size``; :data:`EVAL_BATCH_SIZE` for a checkpoint without one)."""
    train = (ckpt.get("config") or {}).get("train") or {}
    return int(train.get("eval_batch_size") or EVAL_BATCH_SIZE)


SEPARATED_SIGMA = 5.0
"""Two samples of one class whose mean scores differ by more than this many standard errors are
said to be told apart by the model (:func:`source_check`)."""


def per_sample_scores(
    scores: np.ndarray, process: np.ndarray, processes: Sequence[str], weights: np.ndarray
) -> dict[str, dict]:
    """Per process (a task file's sample): events, sum of weights, the weighted mean of the
    binary scores ``scores [B]`` and its standard error ``sqrt(sum w^2 (s - mean)^2) / sum w``
    (``process [B]``: each event's index into ``processes``)."""
    out = {}
    for k, name in enumerate(processes):
        mine = process == k
        s, w = scores[mine].astype(np.float64), weights[mine].astype(np.float64)
        total = w.sum()
        if not mine.any() or total == 0:
            continue
        mean = float((w * s).sum() / total)
        error = float(np.sqrt((w**2 * (s - mean) ** 2).sum()) / abs(total))
        out[name] = {"n_events": int(mine.sum()), "sum_weights": float(total),
                     "mean_score": mean, "error": error}  # fmt: skip
    return out


def source_check(per_sample: Mapping[str, dict], signal: Sequence[str]) -> list[str]:
    """Lines for the end of a binary run whose classes mix samples: each sample's mean score,
    and a warning naming two samples of one class that the model tells apart by more than
    :data:`SEPARATED_SIGMA` standard errors (the same physics from two sources, say real and
    simulated ttbar, should not be: the model has learned the source)."""
    classes = {"signal": [n for n in per_sample if n in signal],
               "background": [n for n in per_sample if n not in signal]}  # fmt: skip
    if all(len(names) < 2 for names in classes.values()):
        return []
    means = (f"{n} {m['mean_score']:.3f} +- {m['error']:.3f}" for n, m in per_sample.items())
    lines = ["mean score per sample (test events, weighted): " + ", ".join(means)]
    for side, names in classes.items():
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                ma, mb = per_sample[a], per_sample[b]
                pull = abs(ma["mean_score"] - mb["mean_score"]) / max(
                    np.hypot(ma["error"], mb["error"]), 1e-12
                )
                if pull > SEPARATED_SIGMA:
                    lines.append(
                        f"warning: {side} samples {a} and {b} have mean scores "
                        f"{ma['mean_score']:.3f} and {mb['mean_score']:.3f} ({pull:.0f} standard "
                        "errors apart): the model tells them apart; if they are the same physics "
                        "from two sources, it has learned the source"
                    )
    return lines


def autocast(device: torch.device, amp: bool):
    """bfloat16 autocast on a GPU that has it when ``amp``; float32 everywhere else."""
    # bfloat16 needs no loss scaling; older GPUs without it train in float32
    if amp and device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    if device.type in ("cpu", "cuda"):  # float32 even inside a caller's autocast
        return torch.autocast(device.type, enabled=False)
    return contextlib.nullcontext()  # devices autocast does not know (meta)


@torch.no_grad()
def score(
    model: nn.Module,
    graphs: GraphTensors,
    target: str | None = None,
    *,
    batch_size: int = EVAL_BATCH_SIZE,
    device: torch.device | str | None = None,
    amp: bool = False,
    latent: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """``(outputs, y, w)`` for every event of ``graphs``, in order, on the CPU: the model outputs
    (or latents with ``latent``), ``labels[target]`` (None without a target) and the event
    weights ``labels["weight"]`` (None when ``graphs`` has none), for the weighted metrics.

    ``device``: where to score (``"auto"``: CUDA when present); None scores where the model's
    parameters are. The model is moved there and stays there."""
    if batch_size < 1:
        raise ValueError(f"batch_size: expected a positive number of events, got {batch_size}")
    if device is None:
        device = next(model.parameters()).device
    device = resolve_device(device) if isinstance(device, str) else torch.device(device)
    model.to(device)
    was_training = model.training
    model.eval()
    outs, ys = [], []
    for idx in torch.arange(len(graphs)).split(batch_size):
        b = graphs.batch(idx, target=target).to(device)
        with autocast(device, amp):
            out = model.encode(b) if latent else model(b)
        outs.append(out.float().cpu())
        if target is not None:
            ys.append(b.y.cpu())
    model.train(was_training)
    width = model.config.latent if latent else model.n_outputs
    w = graphs.labels["weight"].cpu() if "weight" in graphs.labels else None
    y = torch.cat(ys) if ys else None
    return (torch.cat(outs) if outs else torch.zeros(0, width)), y, w


def write_plots(
    folder: Path,
    objective: Objective,
    scored: tuple | None,
    history,
    log=print,
    train: tuple | None = None,
    best_epoch: int | None = None,
    split: str = "test",
    process=None,
    processes=(),
    signal=(),
) -> None:
    """The run's loss curves, ROC curves and classifier-output distributions of the weighted
    events ``scored = (logits, y, w)`` (:func:`eventgnn.plots.plot_run`), over the training
    events' ``train = (logits, y, w)`` when given; a failure is a warning: plots are a
    convenience, and a trained run is never lost to them."""

    def arrays(part):
        if part is None or part[1] is None:
            return None, None, None
        logits, y, w = part
        return objective.scores(logits).numpy(), y.numpy(), w.numpy()

    scores, truth, weights = arrays(scored)
    train_scores, train_y, train_w = arrays(train)
    try:
        plot_run(folder, objective.kind, objective.names, scores, truth, history,
                 weights=weights, train_scores=train_scores, train_y=train_y,
                 train_weights=train_w, best_epoch=best_epoch, split=split, process=process,
                 processes=processes, signal=signal)  # fmt: skip
    except Exception as err:
        log(f"warning: plots not written ({clip(' '.join(str(err).split()))})")
