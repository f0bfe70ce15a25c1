"""Plots write real image files and draw what they are given: histograms equal numpy's, ROC
points equal the efficiencies counted by hand, the best epoch where the history has it."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from eventgnn import plots
from eventgnn.plots import (
    SCORE_BINS,
    distinct_colors,
    plot_cka_matrix,
    plot_loss_curves,
    plot_output_by_process,
    plot_output_distribution,
    plot_roc,
    plot_run,
    plot_scaling,
    roc_points,
    score_histogram,
)


def test_plot_scaling(tmp_path):
    rows = [
        {"setup": s, "size": n, "accuracy_mean": m, "accuracy_std": 0.01}
        for s, off in (("scratch", 0.0), ("multiclass", 0.02))
        for n, m in ((1000, 0.7 + off), (10000, 0.75 + off))
    ]
    fig = plot_scaling(rows, out=tmp_path / "acc.png")
    assert (tmp_path / "acc.png").stat().st_size > 1000
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["scratch", "multiclass"]


def test_plot_cka_matrix(tmp_path):
    m = np.array([[1.0, 0.5], [np.nan, 0.9]])
    fig = plot_cka_matrix(m, ["a", "b"], ["c", "d"], out=tmp_path / "cka.pdf")
    assert (tmp_path / "cka.pdf").exists()
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["1.00", "0.50", "0.90"]
    with pytest.raises(ValueError, match="labels"):
        plot_cka_matrix(m, ["a"], ["c", "d"])


def test_plot_loss_curves_and_roc(tmp_path):
    history = {"train_loss": [1, 0.5, 0.4], "val_loss": [1.1, 0.7, 0.8], "elapsed_s": [2, 4, 6]}
    fig = plot_loss_curves({"run": history}, x="elapsed_s", out=tmp_path / "loss.png")
    line = fig.axes[0].lines[0]
    assert list(line.get_xdata()) == [2, 4, 6] and list(line.get_ydata()) == [1, 0.5, 0.4]
    fig = plot_loss_curves({"run": history}, best={"run": 2})
    assert list(fig.axes[0].lines[0].get_xdata()) == [1, 2, 3]
    assert list(fig.axes[0].lines[-1].get_xdata()) == [2, 2]  # the best epoch marked
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    fig = plot_roc(y, {"good": y + rng.normal(0, 0.5, 200)}, out=tmp_path / "roc.png")
    assert "AUC" in fig.axes[0].get_legend().get_texts()[0].get_text()
    assert (tmp_path / "roc.png").exists()


def test_run_plots_are_never_empty(tmp_path):
    rng = np.random.default_rng(1)
    names = [f"p{k}" for k in range(12)]
    y = rng.integers(0, 12, 600)
    scores = rng.dirichlet(np.ones(12), 600)
    scores[np.arange(600), y] += 1
    history = [{"epoch": 1, "train_loss": 1.0, "val_loss": 1.2},
               {"epoch": 2, "train_loss": 0.8, "val_loss": 1.0}]  # fmt: skip
    written = plot_run(tmp_path / "run", "multiclass", names, scores, y, history,
                       train_scores=scores[::-1], train_y=y[::-1])  # fmt: skip
    assert [p.name for p in written] == ["loss.png", "roc.png", "scores.png"]
    assert all(p.stat().st_size > 1000 for p in written)
    written = plot_run(
        tmp_path / "eval", "binary", ["background", "signal"], scores[:, 0], y == 0, []
    )
    assert [p.name for p in written] == ["roc.png", "scores.png"]
    assert not (tmp_path / "eval" / "loss.png").exists()  # no history: no empty loss plot
    assert plot_run(tmp_path / "ml", "multilabel", names, scores, y, []) == []


def _lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB [n, 3] in [0, 1] -> CIELAB (D65)."""
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], 1)


@pytest.mark.parametrize("n", [2, 10, 11, 12])
def test_distinct_colors_are_far_apart_for_up_to_twelve_classes(n):
    lab = _lab(distinct_colors(n)[:, :3])
    gaps = np.linalg.norm(lab[:, None] - lab[None], axis=-1)[np.triu_indices(n, 1)]
    # tab20's first 12 (light/dark pairs of 6 hues) come within 17 CIE76 units
    assert gaps.min() > 25


def test_score_histogram_equals_numpy_histogram_with_and_without_weights():
    rng = np.random.default_rng(2)
    s = np.concatenate([rng.random(500), [0.0, 1.0, 1.0]])  # the edges: 1.0 in the last bin
    w = rng.exponential(1.0, len(s))
    edges = np.linspace(0, 1, SCORE_BINS + 1)
    h = score_histogram(s)
    np.testing.assert_array_equal(h.values(), np.histogram(s, edges)[0])
    np.testing.assert_array_equal(h.variances(), np.histogram(s, edges)[0])
    h = score_histogram(s, w, bins=7)
    np.testing.assert_allclose(h.values(), np.histogram(s, 7, (0, 1), weights=w)[0])
    np.testing.assert_allclose(h.variances(), np.histogram(s, 7, (0, 1), weights=w**2)[0])
    assert h.values().sum() == pytest.approx(w.sum())


def _drawn(ax, label):
    """``(values, errors)`` of the histogram ``label`` on ``ax``: a filled or step histogram
    (errors None) or error-bar points."""
    for patch in ax.patches:
        if patch.get_label() == label:
            return patch.get_data().values, None
    for container in ax.containers:
        if container.get_label() == label:
            points, _, (bars,) = container
            errors = np.array([abs(seg[1, 1] - seg[0, 1]) / 2 for seg in bars.get_segments()])
            return np.asarray(points.get_ydata()), errors
    raise AssertionError(f"{label!r} not drawn; legend: {ax.get_legend_handles_labels()[1]}")


def _density(s, w=None, bins=SCORE_BINS):
    return np.histogram(s, bins, (0, 1), weights=w, density=True)[0]


@pytest.mark.parametrize("weighted", [False, True])
def test_binary_output_distribution_is_numpys_histogram_at_unit_area(weighted):
    rng = np.random.default_rng(3)
    y, yt = rng.integers(0, 2, 400), rng.integers(0, 2, 300)
    s = np.clip(rng.normal(0.3 + 0.4 * y, 0.2), 0, 1)
    st = np.clip(rng.normal(0.25 + 0.5 * yt, 0.2), 0, 1)
    w = rng.exponential(1.0, 400) if weighted else None
    wt = rng.exponential(1.0, 300) if weighted else None
    names = ["background", "signal"]
    fig = plot_output_distribution(s, y, names, weights=w, train_scores=st, train_y=yt,
                                   train_weights=wt)  # fmt: skip
    (ax,) = [a for a in fig.axes if a.get_visible()]
    width = 1 / SCORE_BINS
    for name, member in (("signal", True), ("background", False)):
        pick, pick_t = (y == 1) == member, (yt == 1) == member
        sub = lambda a, m: None if a is None else a[m]  # noqa: E731
        test, errors = _drawn(ax, f"{name} (test)")
        train, _ = _drawn(ax, f"{name} (train)")
        np.testing.assert_allclose(test, _density(s[pick], sub(w, pick)))
        np.testing.assert_allclose(train, _density(st[pick_t], sub(wt, pick_t)))
        assert (test * width).sum() == pytest.approx(1)  # unit area
        assert (train * width).sum() == pytest.approx(1)
        # statistical errors: sqrt(sum of w^2) per bin, scaled like the values
        ww = np.ones(pick.sum()) if w is None else w[pick]
        expected = np.sqrt(np.histogram(s[pick], SCORE_BINS, (0, 1), weights=ww**2)[0])
        np.testing.assert_allclose(errors, expected / (ww.sum() * width))
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "signal score"


def test_multiclass_output_distribution_has_one_panel_per_class_score_against_the_rest():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 3, 600)
    s = rng.dirichlet(np.ones(3), 600)
    s[np.arange(600), y] += 1
    s /= s.sum(1, keepdims=True)
    fig = plot_output_distribution(s, y, ["tt", "wh", "zh"], split="evaluated", log=False)
    axes = [a for a in fig.axes if a.get_visible()]
    assert [a.get_xlabel() for a in axes] == ["tt score", "wh score", "zh score"]
    for k, ax in enumerate(axes):
        np.testing.assert_allclose(_drawn(ax, f"{ax.get_xlabel()[:2]} (evaluated)")[0],
                                   _density(s[y == k, k]))  # fmt: skip
        np.testing.assert_allclose(_drawn(ax, "rest (evaluated)")[0], _density(s[y != k, k]))
        assert not [t for t in ax.get_legend_handles_labels()[1] if "train" in t]  # no overlay
        assert ax.get_yscale() == "linear"


# a hand example: signal scores 0.9, 0.8, 0.4; background 0.7, 0.3, 0.2, 0.1
HAND_Y = np.array([1, 1, 1, 0, 0, 0, 0])
HAND_S = np.array([0.9, 0.8, 0.4, 0.7, 0.3, 0.2, 0.1])
HAND_W = np.array([1.0, 2.0, 1.0, 1.0, 1.0, 2.0, 4.0])


def _by_hand(weights):
    """Every threshold's (signal efficiency, background rejection), counted directly."""
    sig, bkg = HAND_Y == 1, HAND_Y == 0
    points = set()
    for t in HAND_S:
        eff_s = weights[sig & (HAND_S >= t)].sum() / weights[sig].sum()
        eff_b = weights[bkg & (HAND_S >= t)].sum() / weights[bkg].sum()
        if eff_b > 0:
            points.add((round(eff_s, 12), round(1 / eff_b, 12)))
    return points


@pytest.mark.parametrize(
    ("weights", "corners"),
    [
        (None, {(2 / 3, 4.0), (1.0, 4.0), (1.0, 1.0)}),
        (HAND_W, {(3 / 4, 8.0), (1.0, 8.0), (1.0, 1.0)}),
    ],
)
def test_roc_points_are_efficiency_and_rejection_by_hand_and_by_sklearn(weights, corners):
    eff, rej = roc_points(HAND_Y, HAND_S, weights)
    drawn = {(round(e, 12), round(r, 12)) for e, r in zip(eff, rej, strict=True)}
    w = np.ones(len(HAND_Y)) if weights is None else weights
    assert drawn <= _by_hand(w)  # every point is a threshold's counted efficiencies
    assert {(round(e, 12), round(r, 12)) for e, r in corners} <= drawn  # the curve's corners
    fpr, tpr, _ = roc_curve(HAND_Y, HAND_S, sample_weight=weights, drop_intermediate=False)
    np.testing.assert_allclose(eff, tpr[fpr > 0])
    np.testing.assert_allclose(rej, 1 / fpr[fpr > 0])

    fig = plot_roc(HAND_Y, {"signal": HAND_S}, weights=weights)
    ax = fig.axes[0]
    curve = ax.lines[0]
    np.testing.assert_allclose(curve.get_xdata(), eff)
    np.testing.assert_allclose(curve.get_ydata(), rej)
    legend = ax.get_legend()
    auc = roc_auc_score(HAND_Y, HAND_S, sample_weight=weights)
    assert legend.get_texts()[0].get_text() == f"signal (AUC {auc:.3f})"
    assert legend.get_title().get_text() == "7 test events"
    assert ax.get_yscale() == "log" and "efficiency" in ax.get_xlabel()


def test_multiclass_roc_curves_have_distinct_colours():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 12, 1200)
    s = rng.random((1200, 12)) + np.eye(12)[y]
    names = [f"p{k}" for k in range(12)]
    fig = plot_roc(
        {n: y == k for k, n in enumerate(names)}, {n: s[:, k] for k, n in enumerate(names)}
    )
    colours = [matplotlib.colors.to_rgba(line.get_color()) for line in fig.axes[0].lines[:12]]
    assert len(set(colours)) == 12
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert texts[:12] == [f"p{k} (AUC {roc_auc_score(y == k, s[:, k]):.3f})" for k in range(12)]


def test_run_loss_plot_marks_the_best_epoch_given_or_else_the_lowest_validation_loss(
    tmp_path, monkeypatch
):
    drawn = {}

    def spy(histories, out=None, best=None, **kwargs):
        drawn["best"] = best[""]
        return plot_loss_curves(histories, out=out, best=best, **kwargs)

    monkeypatch.setattr(plots.run, "plot_loss_curves", spy)
    history = [{"epoch": e, "train_loss": 1.0 / e, "val_loss": v}
               for e, v in enumerate([1.0, 0.7, 0.69, 0.8], start=1)]  # fmt: skip
    plot_run(tmp_path, "multiclass", ["a", "b"], None, None, history)
    assert drawn["best"] == 3  # argmin of val_loss
    # early stopping with min_delta keeps epoch 2 (0.69 is no real improvement): fit says so
    plot_run(tmp_path, "multiclass", ["a", "b"], None, None, history, best_epoch=2)
    assert drawn["best"] == 2
    fig = plot_loss_curves({"": {k: [r[k] for r in history] for k in history[0]}}, best={"": 2})
    marker = fig.axes[0].lines[-1]
    assert list(marker.get_xdata()) == [2, 2] and marker.get_label() == "best epoch (2)"


def test_hep_style_is_not_left_behind_and_pyplot_holds_no_figure():
    before = dict(matplotlib.rcParams)
    plot_roc(HAND_Y, {"signal": HAND_S})
    plot_output_distribution(HAND_S, HAND_Y, ["background", "signal"])
    assert dict(matplotlib.rcParams) == before
    import matplotlib.pyplot as plt  # mplhep imports it; eventgnn never opens a figure there

    assert plt.get_fignums() == []
    fig = plot_loss_curves({"run": {"train_loss": [1.0, 0.5]}})
    assert set(fig.axes[0].xaxis.get_ticks_direction()) == {"in"}  # drawn in the HEP style


def test_output_by_process_draws_each_process_at_unit_area():
    """A background made of two sources that the network tells apart shows as two shapes."""
    rng = np.random.default_rng(4)
    process = rng.integers(0, 3, 900)  # 0 signal, 1 and 2 two backgrounds
    s = np.clip(rng.normal(np.array([0.7, 0.3, 0.5])[process], 0.15), 0, 1)
    w = rng.exponential(1.0, 900)
    names = ["sig", "bkg_nano", "bkg_delphes"]
    fig = plot_output_by_process(s, process, names, ["sig"], weights=w)
    (ax,) = fig.axes
    for k, name in enumerate(names):
        kind = "signal" if k == 0 else "background"
        drawn, _ = _drawn(ax, f"{name} ({kind}, {int((process == k).sum()):,} test)")
        np.testing.assert_allclose(drawn, _density(s[process == k], w[process == k]))
    styles = {p.get_label().split(" ")[0]: p.get_linestyle() for p in ax.patches}
    assert styles["sig"] == "-" and styles["bkg_nano"] == styles["bkg_delphes"] == "--"


def test_run_plots_per_process_only_for_binary_tasks_of_more_than_two_processes(tmp_path):
    rng = np.random.default_rng(5)
    s, y = rng.uniform(size=300), rng.integers(0, 2, 300)
    process = np.where(y == 1, 0, rng.integers(1, 3, 300))
    args = ("binary", ["background", "signal"], s, y, [])
    three = plot_run(tmp_path / "a", *args, process=process, processes=["s", "b1", "b2"],
                     signal=["s"])  # fmt: skip
    assert [p.name for p in three] == ["roc.png", "scores.png", "scores_by_process.png"]
    two = plot_run(tmp_path / "b", *args, process=np.minimum(process, 1), processes=["s", "b"],
                   signal=["s"])  # fmt: skip
    assert [p.name for p in two] == ["roc.png", "scores.png"]


def test_run_plots_with_mixed_sign_nlo_weights(tmp_path):
    """NLO weights of +-225,892 with an eighth negative: every plot is written, and the ROC
    legend's AUC is the weighted Mann-Whitney statistic (the metrics' AUC), counted by hand."""
    rng = np.random.default_rng(7)
    n = 400
    y = rng.integers(0, 2, n)
    s = np.clip(rng.normal(0.4 + 0.2 * y, 0.2), 0, 1)
    w = np.where(rng.uniform(size=n) < 0.13, -225_892.0, 225_892.0)
    process = np.where(y == 1, 0, rng.integers(1, 3, n))
    written = plot_run(tmp_path, "binary", ["background", "signal"], s, y, [], weights=w,
                       process=process, processes=["s", "b1", "b2"], signal=["s"])  # fmt: skip
    assert [p.name for p in written] == ["roc.png", "scores.png", "scores_by_process.png"]
    assert all(p.stat().st_size > 0 for p in written)
    fig = plot_roc(y == 1, {"signal": s}, weights=w)
    sig, bkg = y == 1, y == 0
    pairs = w[sig][:, None] * w[bkg][None, :]
    greater = (s[sig][:, None] > s[bkg][None, :]) + 0.5 * (s[sig][:, None] == s[bkg][None, :])
    auc = float((pairs * greater).sum() / (w[sig].sum() * w[bkg].sum()))
    label = fig.axes[0].get_legend().get_texts()[0].get_text()
    assert label == f"signal (AUC {auc:.3f})"
