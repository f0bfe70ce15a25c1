"""The plots of a run directory (loss, ROC, classifier output), drawn from its scores."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .figures import plot_loss_curves, plot_output_by_process, plot_output_distribution, plot_roc


def plot_run(
    folder: str | Path,
    kind: str,
    names: Sequence[str],
    scores: np.ndarray | None,
    y: np.ndarray | None,
    history: Sequence[Mapping[str, float]],
    *,
    weights: np.ndarray | None = None,
    train_scores: np.ndarray | None = None,
    train_y: np.ndarray | None = None,
    train_weights: np.ndarray | None = None,
    best_epoch: int | None = None,
    split: str = "test",
    process: np.ndarray | None = None,
    processes: Sequence[str] = (),
    signal: Sequence[str] = (),
) -> list[Path]:
    """A run's plots in ``folder``, returned as paths:

    - ``loss.png``: training and validation loss per epoch, ``best_epoch`` marked (default: the
      epoch of the lowest validation loss); only with a history.
    - ``roc.png``: :func:`plot_roc` of the ``split`` scores (binary: signal against background;
      multiclass: each class against the rest).
    - ``scores.png``: :func:`plot_output_distribution` of the ``split`` scores, over the
      ``train_scores`` when given.
    - ``scores_by_process.png``: :func:`plot_output_by_process`, for a binary task of more than
      two processes when ``process`` (each event's index into ``processes``) is given.

    Multilabel runs get the loss curves only.
    """
    folder = Path(folder)
    written = []
    if history:
        columns = {k: [row[k] for row in history] for k in history[0]}
        best = best_epoch or int(np.argmin(columns["val_loss"])) + 1
        written.append(folder / "loss.png")
        plot_loss_curves({"": columns}, out=written[-1], best={"": best})
    if scores is None or y is None or kind == "multilabel":
        return written
    if kind == "binary":
        truth, curves = y == 1, {names[1]: scores}
    else:
        truth = {name: y == k for k, name in enumerate(names)}
        curves = {name: scores[:, k] for k, name in enumerate(names)}
    written.append(folder / "roc.png")
    plot_roc(truth, curves, written[-1], weights=weights, split=split)
    written.append(folder / "scores.png")
    plot_output_distribution(
        scores, y, names, written[-1], weights=weights, train_scores=train_scores,
        train_y=train_y, train_weights=train_weights, split=split,
    )  # fmt: skip
    if kind == "binary" and process is not None and len(processes) > 2:
        written.append(folder / "scores_by_process.png")
        plot_output_by_process(scores, process, processes, signal, written[-1], weights, split)
    return written
