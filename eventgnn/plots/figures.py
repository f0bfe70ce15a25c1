"""Every figure eventgnn draws: loss curves, ROC curves, classifier-output distributions,
accuracy versus training size, CKA matrices (the plots of a run directory: :mod:`.run`).

Each function takes plain arrays, builds a :class:`matplotlib.figure.Figure` directly (no
``pyplot`` state, so it works headless and in threads, and never changes the caller's backend),
saves it when ``out`` is given (PNG or PDF by suffix, parent folders created, at one resolution)
and returns it; a notebook displays the returned figure. The figures of a run (loss, ROC,
classifier output) are drawn in a HEP style (:func:`hep_style`, mplhep), with histograms as
:class:`hist.Hist` objects.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from matplotlib.figure import Figure

from .._core.fileio import atomic_path
from .._core.roc import weighted_auc, weighted_roc

if TYPE_CHECKING:  # imported where used: mplhep and hist take a second to import
    import hist

__all__ = [
    "SCORE_BINS",
    "distinct_colors",
    "hep_style",
    "plot_cka_matrix",
    "plot_loss_curves",
    "plot_output_by_process",
    "plot_output_distribution",
    "plot_roc",
    "plot_scaling",
    "roc_points",
    "save",
    "score_histogram",
    "unit_area",
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


_STYLE_LOCK = threading.RLock()


@contextlib.contextmanager
def hep_style(**rc) -> Iterator[None]:
    """A context in which figures are built and saved in a HEP style: mplhep's ATLAS style
    (TeX Gyre Heros sans-serif, ticks inside on all four sides with minor ticks, axis labels at
    the ends of the axes, no legend frame), plus ``rc`` overrides.

    matplotlib's settings are process-global: they are set only inside the context and restored
    after it (never with ``mplhep.style.use``), so the caller's own figures keep their style. A
    lock keeps two threads that draw eventgnn figures from mixing their settings; a thread that
    draws other figures at the same moment can still see them.
    """
    import mplhep
    from matplotlib import style

    # mathtext in DejaVu Sans, not mplhep's "custom" fontset: a text keeps the fontset it was
    # made with, and drawn after the context (a notebook displaying the figure) the custom
    # set's calligraphic font is the generic "cursive" family, which few machines have
    # (matplotlib logs "findfont: Font family ['cursive'] not found" for every such figure)
    quiet = {"mathtext.fontset": "dejavusans"}
    with _STYLE_LOCK, style.context([mplhep.style.ATLAS, quiet, rc]):
        yield


def _label(ax) -> None:
    """The experiment-neutral label "**eventgnn** *Simulation*" above the top-left corner of
    ``ax``, in the sizes of mplhep's experiment labels."""
    from matplotlib import rcParams
    from matplotlib.offsetbox import AnchoredOffsetbox, HPacker, TextArea

    size = rcParams["font.size"]
    words = HPacker(
        children=[TextArea("eventgnn", textprops={"fontweight": "bold", "fontsize": 1.3 * size}),
                  TextArea("Simulation", textprops={"fontstyle": "italic", "fontsize": size})],
        align="baseline", pad=0, sep=0.4 * size,
    )  # fmt: skip
    # an offset box keeps the words apart whatever the layout and resolution (mplhep's exp_text
    # spaces them in axes fractions measured before the layout moves the axes)
    box = AnchoredOffsetbox("lower left", child=words, pad=0, borderpad=0, frameon=False,
                            bbox_to_anchor=(0, 1.005), bbox_transform=ax.transAxes)  # fmt: skip
    ax.add_artist(box)


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
    label -> best epoch, marked with a dotted vertical line (with ``x="epoch"``).
    """
    names = {c: _COLUMN_NAMES.get(c, c.replace("_", " ")) for c in columns}
    with hep_style():
        fig = Figure(figsize=(7, 5))
        ax = fig.add_subplot()
        for label, h in histories.items():
            n = len(next(iter(h.values()), []))
            xs = np.arange(1, n + 1) if x == "epoch" else np.asarray(h[x], dtype=float)
            for c in columns:
                if c in h:
                    line = f"{label} {names[c]}".strip() if len(columns) > 1 else label
                    ax.plot(xs, h[c], label=line)
            if best and best.get(label) and x == "epoch":
                ax.axvline(best[label], color="0.4", ls=":", lw=1.5,
                           label=f"{label} best epoch ({best[label]})".strip())  # fmt: skip
        ax.set_xlabel("epoch" if x == "epoch" else x.replace("_", " "))
        ax.set_ylabel("loss" if all("loss" in c for c in columns) else ", ".join(names.values()))
        ax.legend(fontsize="small")
        _label(ax)
        return save(fig, out)


_COLUMN_NAMES = {"train_loss": "training loss", "val_loss": "validation loss",
                 "val_acc": "validation accuracy"}  # fmt: skip


def roc_points(
    y_true: np.ndarray, scores: np.ndarray, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(signal efficiency eps_S, background rejection 1/eps_B)`` at every distinct score
    (:func:`eventgnn._core.roc.weighted_roc`), weighted by ``weights`` when given (negative
    weights too); the points where no background passes (infinite rejection) are left out."""
    w = np.ones(len(scores)) if weights is None else np.asarray(weights, np.float64)
    eps_b, eps_s = weighted_roc(y_true, scores, w)
    keep = eps_b > 0
    return eps_s[keep], 1 / eps_b[keep]


def plot_roc(
    y_true: np.ndarray | Mapping[str, np.ndarray],
    scores: Mapping[str, np.ndarray],
    out: str | Path | None = None,
    weights: np.ndarray | None = None,
    split: str = "test",
) -> Figure:
    """ROC curves as signal efficiency eps_S (x) against background rejection 1/eps_B (y, log
    scale; :func:`roc_points`), each labelled with its AUC, the legend titled with the number of
    ``split`` events, and the random classifier (1/eps_B = 1/eps_S) dashed.

    ``y_true``: one truth array (1 or True for signal) for every curve, or one per curve (for
    one-versus-rest curves of several classes); curves whose truth holds one class are skipped.
    ``weights``: per-event weights (None: every event counts once; negative NLO weights
    included) for the efficiencies and AUC.
    """
    with hep_style():
        fig = Figure(figsize=(7, 5))
        ax = fig.add_subplot()
        n_events = max((len(s) for s in scores.values()), default=0)
        for color, (label, s) in zip(distinct_colors(len(scores)), scores.items(), strict=True):
            truth = y_true[label] if isinstance(y_true, Mapping) else y_true
            if len(np.unique(truth)) < 2:
                continue
            w = np.ones(len(s)) if weights is None else np.asarray(weights, np.float64)
            auc = weighted_auc(truth, s, w)
            ax.plot(*roc_points(truth, s, weights), color=color, label=f"{label} (AUC {auc:.3f})")
        eff = np.linspace(0.01, 1, 100)
        ax.plot(eff, 1 / eff, color="0.5", ls="--", lw=1, label="random")
        ax.set_yscale("log")
        ax.set_xlim(0, 1)
        ax.set_ylim(bottom=1)
        ax.set_xlabel(r"signal efficiency $\varepsilon_S$")
        ax.set_ylabel(r"background rejection $1/\varepsilon_B$")
        # many curves: the legend beside the axes, where it hides none of them
        outside = {"loc": "upper left", "bbox_to_anchor": (1.02, 1)} if len(scores) > 4 else {}
        ax.legend(title=f"{n_events:,} {split} events", fontsize="small", title_fontsize="small",
                  **outside)  # fmt: skip
        _label(ax)
        return save(fig, out)


SCORE_BINS = 25
"""Bins of the classifier-output histograms, equal in width on [0, 1]."""


def score_histogram(
    scores: np.ndarray, weights: np.ndarray | None = None, bins: int = SCORE_BINS
) -> hist.Hist:
    """A :class:`hist.Hist` of classifier scores on [0, 1] in ``bins`` equal bins, holding per
    bin the sum of ``weights`` (None: the count) and of their squares; a score of exactly 1
    falls in the last bin, as in :func:`numpy.histogram`."""
    import hist

    h = hist.Hist(hist.axis.Regular(bins, 0.0, 1.0, underflow=False, overflow=False),
                  storage=hist.storage.Weight())  # fmt: skip
    # a saturated sigmoid or softmax gives exactly 1.0, the axis's upper edge: keep it inside
    h.fill(np.clip(scores, 0.0, np.nextafter(1.0, 0.0)), weight=1.0 if weights is None else weights)
    return h


def unit_area(h: hist.Hist) -> hist.Hist:
    """``h`` scaled to unit area (the sum of value x bin width is 1; variances scale by the
    square of the factor); an empty histogram as it is."""
    area = float(np.sum(h.values() * h.axes[0].widths))
    return h / area if area > 0 else h


class _Panel(NamedTuple):
    """One output of a classifier, split into the events of its class and the rest."""

    name: str  # the class whose score this is
    rest: str  # what the other events are called
    score: np.ndarray  # [N]
    member: np.ndarray  # [N] bool, True for events of the class
    weights: np.ndarray | None  # [N]

    def histogram(self, member: bool, bins: int) -> hist.Hist | None:
        """Unit-area histogram of the class's events (``member``) or the rest's; None if none."""
        select = self.member if member else ~self.member
        if not select.any():
            return None
        weights = None if self.weights is None else self.weights[select]
        return unit_area(score_histogram(self.score[select], weights, bins))


def _panels(scores, y, names, weights) -> list[_Panel]:
    """Binary ``scores [N]``: one panel, signal (``y == 1``) against background. Multiclass
    ``scores [N, K]``: panel k is class k's score, class-k events against all others."""
    scores, y = np.asarray(scores), np.asarray(y)
    weights = None if weights is None else np.asarray(weights, dtype=float)
    if scores.ndim == 1:
        return [_Panel(names[1], names[0], scores, y == 1, weights)]
    return [_Panel(name, "rest", scores[:, k], y == k, weights) for k, name in enumerate(names)]


def plot_output_distribution(
    scores: np.ndarray,
    y: np.ndarray,
    names: Sequence[str],
    out: str | Path | None = None,
    weights: np.ndarray | None = None,
    train_scores: np.ndarray | None = None,
    train_y: np.ndarray | None = None,
    train_weights: np.ndarray | None = None,
    split: str = "test",
    bins: int = SCORE_BINS,
    log: bool = True,
) -> Figure:
    """Classifier-output distributions, each normalised to unit area: the overtraining check.

    Binary (``scores [N]`` the signal probability, ``y`` 1 for signal, ``names`` ``(background,
    signal)``): one panel, the score of signal and of background events. Multiclass (``scores
    [N, K]`` class probabilities, ``y`` the true class index): one panel per class k with the
    score of class k for class-k events (in the class's colour) and for all other events
    (black), the one-versus-rest view that a cut on that output selects by.

    The ``split`` events are points with statistical error bars (the square root of the sum of
    squared weights, scaled with the histogram). With ``train_scores`` and ``train_y``, the
    training events are histograms beneath them (the class filled, the rest outlined): where
    points and histograms differ by more than the error bars, the network has learned its
    training sample. ``weights`` and
    ``train_weights``: per-event weights (None: every event counts once). Histograms are
    :func:`score_histogram` in ``bins`` bins; ``log``: a logarithmic y axis, which shows the
    tails where the classes overlap (a well-trained network piles each class up at 0 and 1).
    """
    from matplotlib.colors import to_hex

    test = _panels(scores, y, names, weights)
    train = None if train_scores is None else _panels(train_scores, train_y, names, train_weights)
    cols = min(len(test), 4)
    rows = -(-len(test) // cols)
    grid = len(test) > 1  # one small panel per class: smaller type
    with hep_style(**({"font.size": 10} if grid else {})):
        size = (4.2 * cols, 3.6 * rows) if grid else (7, 5)
        fig = Figure(figsize=size, layout="constrained")
        axes = fig.subplots(rows, cols, squeeze=False).ravel()
        # hex strings: older mplhep reads an RGBA array as one colour per histogram
        colors = [to_hex(c) for c in distinct_colors(len(test))]
        for k, ax in enumerate(axes):
            if k >= len(test):
                ax.set_visible(False)
                continue
            t = None if train is None else train[k]
            _output_panel(ax, test[k], t, colors[k], split, bins, log)
        _label(axes[0])
        return save(fig, out)


def _output_panel(
    ax, test: _Panel, train: _Panel | None, color, split: str, bins: int, log: bool
) -> None:
    """One panel of :func:`plot_output_distribution`: the class filled and in its colour, the
    rest as a black outline; training events as histograms, ``test`` as points."""
    import mplhep

    groups = ((True, test.name, {"color": color, "marker": "o"}),
              (False, test.rest, {"color": "black", "marker": "s"}))  # fmt: skip
    for member, label, style in groups:
        h = train.histogram(member, bins) if train is not None else None
        if h is not None:
            kind = {"histtype": "fill", "alpha": 0.35} if member else {"histtype": "step"}
            mplhep.histplot(h, ax=ax, yerr=False, color=style["color"], label=f"{label} (train)",
                            **kind)  # fmt: skip
        h = test.histogram(member, bins)
        if h is not None:
            mplhep.histplot(h, ax=ax, histtype="errorbar", yerr=np.sqrt(h.variances()),
                            markersize=4, label=f"{label} ({split})", **style)  # fmt: skip
    ax.set_xlim(0, 1)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(f"{test.name} score")
    ax.set_ylabel("normalised to unit area")
    ax.legend(fontsize="small")


def plot_output_by_process(
    scores: np.ndarray,
    process: np.ndarray,
    processes: Sequence[str],
    signal: Sequence[str],
    out: str | Path | None = None,
    weights: np.ndarray | None = None,
    split: str = "test",
    bins: int = SCORE_BINS,
    log: bool = True,
) -> Figure:
    """A binary classifier's signal score for the events of each process (``process [N]``: the
    index into ``processes``), each normalised to unit area: signal processes solid, background
    processes dashed. Where two processes of one class differ (say a NanoAOD and a Delphes
    background), the network may have learned where the events came from, not what they are."""
    import mplhep
    from matplotlib.colors import to_hex

    colors = [to_hex(c) for c in distinct_colors(len(processes))]
    with hep_style():
        fig = Figure(figsize=(7, 5), layout="constrained")
        ax = fig.add_subplot()
        for k, name in enumerate(processes):
            select = process == k
            if not select.any():
                continue
            w = None if weights is None else weights[select]
            h = unit_area(score_histogram(scores[select], w, bins))
            mplhep.histplot(h, ax=ax, histtype="step", yerr=False, color=colors[k],
                            linestyle="-" if name in signal else "--",
                            label=f"{name} ({'signal' if name in signal else 'background'}, "
                                  f"{int(select.sum()):,} {split})")  # fmt: skip
        ax.set_xlim(0, 1)
        if log:
            ax.set_yscale("log")
        ax.set_xlabel("signal score")
        ax.set_ylabel("normalised to unit area")
        ax.legend(fontsize="small")
        _label(ax)
        return save(fig, out)


def distinct_colors(n: int) -> np.ndarray:
    """``n`` distinct RGBA colours: tab10 up to 10, tab10 with magenta and dark goldenrod up to
    12 (the 12 pretraining classes stay at least 27 CIE76 units apart, where tab20's light and
    dark pairs come within 17), tab20 up to 20, then a continuous map."""
    from matplotlib import colormaps
    from matplotlib.colors import to_rgba_array

    if n <= 10:
        return colormaps["tab10"](np.arange(n))
    if n <= 12:
        return to_rgba_array([*colormaps["tab10"].colors, "magenta", "darkgoldenrod"][:n])
    if n <= 20:
        return colormaps["tab20"](np.arange(n))
    return colormaps["turbo"](np.linspace(0, 1, n))
