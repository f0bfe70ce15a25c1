"""Figures for the study: accuracy/AUC versus training size, CKA matrices, loss curves, ROC.

Every function builds a :class:`matplotlib.figure.Figure` directly (no ``pyplot`` state, so it
works headless and in threads, and never changes the caller's backend), saves it when ``out`` is
given (PNG or PDF by suffix, parent folders created) and returns it; a notebook displays the
returned figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from .timing import History, read_history

__all__ = ["plot_cka_matrix", "plot_loss_curves", "plot_roc", "plot_scaling", "save"]


def save(fig: Figure, out: str | Path | None) -> Figure:
    """Write ``fig`` to ``out`` (if given) and return it."""
    if out is not None:
        out = Path(out)
        from ..fileio import atomic_path

        with atomic_path(out) as tmp:  # a killed job never leaves a truncated image
            fig.savefig(tmp, dpi=150, bbox_inches="tight", format=out.suffix[1:] or "png")
    return fig


def plot_scaling(
    summary: Sequence[Mapping],
    metric: str = "accuracy",
    out: str | Path | None = None,
    title: str | None = None,
) -> Figure:
    """Mean ``metric`` versus training size, one line per setup, error bars = ensemble spread.

    ``summary`` rows carry ``setup``, ``size``, ``{metric}_mean`` and ``{metric}_std`` (the rows
    of :func:`eventgnn.analysis.scan.summarize`).
    """
    fig = Figure(figsize=(5.5, 4))
    ax = fig.add_subplot()
    setups = list(dict.fromkeys(r["setup"] for r in summary))
    for k, setup in enumerate(setups):
        rows = sorted((r for r in summary if r["setup"] == setup), key=lambda r: r["size"])
        x = np.array([r["size"] for r in rows], dtype=float)
        # small horizontal offsets keep overlapping error bars readable on the log axis
        x = x * (1 + 0.04 * (k - (len(setups) - 1) / 2))
        ax.errorbar(
            x,
            [r[f"{metric}_mean"] for r in rows],
            yerr=[r[f"{metric}_std"] for r in rows],
            marker="o",
            capsize=3,
            label=setup,
        )
    ax.set_xscale("log")
    ax.set_xlabel("training events per class")
    ax.set_ylabel(metric.replace("_", " ").upper() if metric == "auc" else metric)
    ax.grid(alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    return save(fig, out)


def plot_cka_matrix(
    matrix: np.ndarray,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    out: str | Path | None = None,
    title: str | None = None,
    annotate: bool = True,
) -> Figure:
    """Heatmap of a CKA matrix (rows: model/ensemble A, columns: B); NaN cells are left blank."""
    matrix = np.asarray(matrix, dtype=float)
    if matrix.shape != (len(row_labels), len(col_labels)):
        raise ValueError(
            f"matrix shape {matrix.shape} does not match "
            f"{len(row_labels)} x {len(col_labels)} labels"
        )
    size = (1.2 + 0.6 * len(col_labels), 1.0 + 0.5 * len(row_labels))
    fig = Figure(figsize=(max(4.0, size[0]), max(3.0, size[1])))
    ax = fig.add_subplot()
    im = ax.imshow(np.ma.masked_invalid(matrix), vmin=0, vmax=1, cmap="viridis", origin="upper")
    fig.colorbar(im, ax=ax, label="CKA")
    ax.set_xticks(range(len(col_labels)), col_labels, rotation=60, ha="right")
    ax.set_yticks(range(len(row_labels)), row_labels)
    if annotate and matrix.size <= 400:
        for (i, j), v in np.ndenumerate(matrix):
            if np.isfinite(v):
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if v < 0.6 else "black")  # fmt: skip
    if title:
        ax.set_title(title)
    return save(fig, out)


def plot_loss_curves(
    histories: Mapping[str, History | str | Path],
    columns: Sequence[str] = ("train_loss", "val_loss"),
    out: str | Path | None = None,
    x: str = "epoch",
) -> Figure:
    """Per-epoch curves of ``columns`` for several runs (``label -> history or run dir``).

    ``x`` is ``"epoch"`` or ``"time"`` (cumulative wall time). Columns a history lacks are skipped.
    """
    fig = Figure(figsize=(5.5, 4))
    ax = fig.add_subplot()
    for label, h in histories.items():
        h = h if isinstance(h, History) else read_history(h)
        xs = h.elapsed() if x == "time" else np.arange(1, len(h) + 1)
        for c in columns:
            if c in h.columns:
                ax.plot(xs, h.columns[c], label=f"{label} {c}" if len(columns) > 1 else label)
    ax.set_xlabel("wall time [s]" if x == "time" else "epoch")
    ax.set_ylabel(", ".join(columns))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save(fig, out)


def plot_roc(
    y_true: np.ndarray,
    scores: Mapping[str, np.ndarray],
    out: str | Path | None = None,
    weights: np.ndarray | None = None,
) -> Figure:
    """ROC curves (signal efficiency vs background rejection 1/eps_B) of several classifiers."""
    from sklearn.metrics import roc_auc_score, roc_curve

    fig = Figure(figsize=(5, 4))
    ax = fig.add_subplot()
    for label, s in scores.items():
        fpr, tpr, _ = roc_curve(y_true, s, sample_weight=weights)
        auc = roc_auc_score(y_true, s, sample_weight=weights)
        keep = fpr > 0
        ax.plot(tpr[keep], 1 / fpr[keep], label=f"{label} (AUC {auc:.3f})")
    ax.set_yscale("log")
    ax.set_xlabel("signal efficiency")
    ax.set_ylabel("background rejection 1/eps_B")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save(fig, out)
