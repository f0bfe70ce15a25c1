"""Plots write real image files and draw what they are given."""

from __future__ import annotations

import numpy as np
import pytest

from eventgnn.plots import (
    distinct_colors,
    plot_cka_matrix,
    plot_loss_curves,
    plot_roc,
    plot_run,
    plot_scaling,
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


def test_run_plots_are_never_empty_and_distinguish_twelve_classes(tmp_path):
    rng = np.random.default_rng(1)
    names = [f"p{k}" for k in range(12)]
    y = rng.integers(0, 12, 600)
    scores = rng.dirichlet(np.ones(12), 600)
    scores[np.arange(600), y] += 1
    history = [{"epoch": 1, "train_loss": 1.0, "val_loss": 1.2},
               {"epoch": 2, "train_loss": 0.8, "val_loss": 1.0}]  # fmt: skip
    plot_run(tmp_path / "run", "multiclass", names, scores, y, history)
    assert (tmp_path / "run" / "loss.png").exists() and (tmp_path / "run" / "roc.png").exists()
    plot_run(tmp_path / "eval", "binary", ["background", "signal"], scores[:, 0], y == 0, [])
    assert not (tmp_path / "eval" / "loss.png").exists()  # no history: no empty loss plot
    assert len({tuple(c) for c in distinct_colors(12)}) == 12
