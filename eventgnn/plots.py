"""Every figure eventgnn draws: loss curves, ROC curves, accuracy versus training size, CKA
matrices, and the plots of a run directory.

Each function takes plain arrays, builds a :class:`matplotlib.figure.Figure` directly (no
``pyplot`` state, so it works headless and in threads, and never changes the caller's backend),
saves it when ``out`` is given (PNG or PDF by suffix, parent folders created, at one resolution)
and returns it; a notebook displays the returned figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from .fileio import atomic_path

__all__ = [
    "distinct_colors",
    "plot_cka_matrix",
    "plot_loss_curves",
    "plot_roc",
    "plot_run",
    "plot_scaling",
    "save",
]

DPI = 150


def save(fig: Figure, out: str | Path | None) -> Figure:
    """Write ``fig`` to ``out`` (if given) and return it."""
    if out is not None:
        out = Path(out)
        with atomic_path(out) as tmp:  # a killed job never leaves a truncated image
            fig.savefig(tmp, dpi=DPI, bbox_inches="tight", format=out.suffix[1:] or "png")
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
    histories: Mapping[str, Mapping[str, Sequence[float]]],
    columns: Sequence[str] = ("train_loss", "val_loss"),
    out: str | Path | None = None,
    x: str = "epoch",
    best: Mapping[str, int] | None = None,
) -> Figure:
    """Per-epoch curves of ``columns`` for several runs.

    ``histories``: label -> columns (name -> one value per epoch), for example a run's
    ``history.csv`` as :func:`eventgnn.analysis.timing.read_history` gives it in ``.columns``.
    ``x``: ``"epoch"`` (1, 2, ...) or the name of a column of every history (for example
    ``"elapsed_s"``, the cumulative wall time). Columns a history lacks are skipped. ``best``:
    label -> best epoch, marked with a dotted line (with ``x="epoch"``).
    """
    fig = Figure(figsize=(5.5, 4))
    ax = fig.add_subplot()
    for label, h in histories.items():
        n = len(next(iter(h.values()), []))
        xs = np.arange(1, n + 1) if x == "epoch" else np.asarray(h[x], dtype=float)
        for c in columns:
            if c in h:
                ax.plot(xs, h[c], label=f"{label} {c}".strip() if len(columns) > 1 else label)
        if best and best.get(label) and x == "epoch":
            ax.axvline(best[label], color="0.5", ls=":", lw=1, label=f"{label} best epoch".strip())
    ax.set_xlabel("epoch" if x == "epoch" else x.replace("_", " "))
    ax.set_ylabel(", ".join(columns))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save(fig, out)


def plot_roc(
    y_true: np.ndarray | Mapping[str, np.ndarray],
    scores: Mapping[str, np.ndarray],
    out: str | Path | None = None,
    weights: np.ndarray | None = None,
) -> Figure:
    """ROC curves as signal efficiency against background rejection 1/eps_B (log scale), with
    each curve's AUC. ``y_true``: one truth array for every curve, or one per curve (for
    one-versus-rest curves of several classes); curves whose truth holds one class are skipped."""
    from sklearn.metrics import roc_auc_score, roc_curve

    fig = Figure(figsize=(5, 4))
    ax = fig.add_subplot()
    colors = distinct_colors(len(scores))
    for color, (label, s) in zip(colors, scores.items(), strict=True):
        truth = y_true[label] if isinstance(y_true, Mapping) else y_true
        if len(np.unique(truth)) < 2:
            continue
        fpr, tpr, _ = roc_curve(truth, s, sample_weight=weights)
        auc = roc_auc_score(truth, s, sample_weight=weights)
        keep = fpr > 0
        ax.plot(tpr[keep], 1 / fpr[keep], color=color, label=f"{label} (AUC {auc:.3f})")
    ax.set_yscale("log")
    ax.set_xlabel("signal efficiency")
    ax.set_ylabel("background rejection 1/eps_B")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save(fig, out)


def distinct_colors(n: int) -> np.ndarray:
    """``n`` distinct colours (tab10 up to 10, tab20 up to 20, then a continuous map)."""
    from matplotlib import colormaps

    name = "tab10" if n <= 10 else "tab20" if n <= 20 else "turbo"
    cmap = colormaps[name]
    return cmap(np.arange(n)) if n <= 20 else cmap(np.linspace(0, 1, n))


def plot_run(
    folder: str | Path,
    kind: str,
    names: Sequence[str],
    scores: np.ndarray | None,
    y: np.ndarray | None,
    history: Sequence[Mapping[str, float]],
) -> None:
    """A run's plots in ``folder``: ``loss.png`` (train and validation loss per epoch, the best
    epoch marked; only with a history) and ``roc.png`` (test split; binary: signal against
    background, multiclass: each class against the rest; not for multilabel)."""
    folder = Path(folder)
    if history:
        columns = {k: [row[k] for row in history] for k in history[0]}
        best = int(np.argmin(columns["val_loss"])) + 1
        plot_loss_curves({"": columns}, out=folder / "loss.png", best={"": best})
    if scores is None or y is None or kind == "multilabel":
        return
    if kind == "binary":
        plot_roc(y == 1, {"signal": scores}, out=folder / "roc.png")
    else:
        truth = {name: y == k for k, name in enumerate(names)}
        plot_roc(truth, {name: scores[:, k] for k, name in enumerate(names)}, folder / "roc.png")
