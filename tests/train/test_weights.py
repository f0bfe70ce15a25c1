"""Event weights around training: class totals, ``train.balance``, the imbalance warning, and what
a weighted run writes and shows."""

from __future__ import annotations

import json
import warnings

import awkward as ak
import numpy as np
import pytest
import torch
import yaml
from hand_events import TINY, separable_events

from eventgnn._core.errors import ClassImbalanceWarning, ConfigError, DatasetError
from eventgnn.catalog.resolve import resolve_task
from eventgnn.cli import main
from eventgnn.config import RunConfig, apply_overrides, build_run_config
from eventgnn.events.parquet import write_events
from eventgnn.graphs.dataset import load_task_data
from eventgnn.train.finetune import finetune
from eventgnn.train.runs import _rejection_line, run_info
from eventgnn.train.weights import IMBALANCE_RATIO, balance_weights, class_totals, imbalance


def test_balance_gives_every_class_the_same_total_weight():
    labels = torch.tensor([0, 0, 0, 1, 2, 2, 0])
    weights = torch.tensor([1.0, 2.0, 0.5, 10.0, -0.5, 3.0, 1.5])
    names = ("a", "b", "c")
    scaled, factors = balance_weights(labels, weights, names)
    totals = class_totals(labels, scaled, names)
    want = float(weights.sum()) / 3
    for name in names:
        assert totals[name]["sum_weights"] == pytest.approx(want)
    assert float(scaled.sum()) == pytest.approx(float(weights.sum()))
    assert factors == pytest.approx({"a": want / 5.0, "b": want / 10.0, "c": want / 2.5})
    # within a class the weights keep their ratios and signs
    assert float(scaled[4] / scaled[5]) == pytest.approx(-0.5 / 3.0)
    # a class absent from the split is left out; one of total weight <= 0 cannot be balanced
    _, factors = balance_weights(torch.tensor([0, 0, 2]), torch.ones(3), names)
    assert set(factors) == {"a", "c"}
    with pytest.raises(DatasetError, match="class\\(es\\) b .* total weight <= 0"):
        balance_weights(torch.tensor([0, 1, 1]), torch.tensor([1.0, 1.0, -2.0]), names)


def test_imbalance_ratio_of_total_weights():
    per = {"a": {"n_events": 10, "sum_weights": 10.0}, "b": {"n_events": 10, "sum_weights": 60.0}}
    assert imbalance(per) == 6.0 > IMBALANCE_RATIO
    per["c"] = {"n_events": 0, "sum_weights": 0.0}  # absent classes do not count
    assert imbalance(per) == 6.0
    per["c"] = {"n_events": 3, "sum_weights": -1.0}
    assert imbalance(per) == float("inf")


def test_balance_is_a_dotted_override_and_refused_for_multilabel():
    assert apply_overrides(RunConfig(), ["train.balance=true"]).train.balance is True
    with pytest.raises(ConfigError, match="train.balance: expected bool"):
        apply_overrides(RunConfig(), ["train.balance=3"])
    with pytest.raises(ConfigError, match="multilabel objective has no classes"):
        build_run_config("pretrain", overrides=["train.balance=true"], objective="multilabel")


@pytest.fixture(scope="module")
def weighted_data(tmp_path_factory):
    """``sig`` and ``bkg``, 40 events each, separable; every ``bkg`` event weighs 10."""
    folder = tmp_path_factory.mktemp("weighted")
    sig = separable_events(40, "sig", seed=1, shift=60.0)
    bkg = separable_events(40, "bkg", seed=2)
    bkg = ak.with_field(bkg, np.full(40, 10.0, np.float32), "weight")
    write_events(sig, folder / "sig.parquet")
    write_events(bkg, folder / "bkg.parquet")
    return folder


def _fit(tiny_cfg, data, out, *overrides):
    lines = []
    config = tiny_cfg(data, out, *overrides, command="finetune", task="sig_vs_bkg")
    return finetune(config, resolve_task(config.task), log=lines.append), lines


def test_imbalanced_weights_warn_and_are_counted(tiny_cfg, weighted_data, tmp_path):
    """Equal event counts, background weights 10: the warning is about weights, the counts per
    class and split are logged, written and shown, and a binary run reports its rejection."""
    with pytest.warns(ClassImbalanceWarning, match=r"'background' 240 vs 'signal' 24.*balance"):
        run, lines = _fit(tiny_cfg, weighted_data, tmp_path / "w")
    text = "\n".join(lines)
    assert "events per class (sum of weights):" in text
    assert "  train: background 24 (240), signal 24 (24)" in text
    assert "  test: background 8 (80), signal 8 (8)" in text
    assert "background rejection 1/eps_B:" in text
    m = json.loads((run / "metrics.json").read_text())
    assert m["class_counts"]["val"] == {
        "background": {"n_events": 8, "sum_weights": 80.0},
        "signal": {"n_events": 8, "sum_weights": 8.0},
    }
    assert m["sum_weights"] == pytest.approx(88.0) and set(m["rejection"]) == {"0.5", "0.7"}
    assert m["per_class"]["background"]["sum_weights"] == pytest.approx(80.0)
    info = run_info(str(run))
    assert "background rejection 1/eps_B:" in info and "at eps_S 0.7" in info
    assert "  val: background 8 (80), signal 8 (8)" in info


def test_balanced_run_does_not_warn_and_keeps_physical_test_weights(
    tiny_cfg, weighted_data, tmp_path
):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ClassImbalanceWarning)
        run, lines = _fit(tiny_cfg, weighted_data, tmp_path / "b", "train.balance=true")
    assert any("train.balance: class weights scaled by background x0.55, signal x5.5" in s
               for s in lines)  # fmt: skip
    m = json.loads((run / "metrics.json").read_text())
    assert m["sum_weights"] == pytest.approx(88.0)  # the test split: physical weights
    assert m["class_counts"]["train"]["background"]["sum_weights"] == pytest.approx(240.0)
    # a balanced run's history differs from the unbalanced one's (the weights reach the loss)
    with pytest.warns(ClassImbalanceWarning):
        plain, _ = _fit(tiny_cfg, weighted_data, tmp_path / "p", "train.balance=false")
    assert (run / "history.csv").read_text() != (plain / "history.csv").read_text()


def test_an_infinite_rejection_says_what_it_rests_on():
    """No background test event above the cut: the rejection is infinite, and the line says
    on how many events; negative weights are named when they make ``eps_B`` negative."""
    m = {"background_efficiency": {"0.5": 0.0, "0.7": 0.165, "0.9": -0.01},
         "per_class": {"background": {"n_events": 1200}}}  # fmt: skip
    assert _rejection_line(m) == (
        "background rejection 1/eps_B: inf (none of the 1,200 background test events passes) "
        "at eps_S 0.5, 6.061 at eps_S 0.7, inf (the passing background events' weights sum "
        "below zero) at eps_S 0.9"
    )


@pytest.mark.parametrize("scale, total", [(0.0, "0"), (-1.0, "-40")])
def test_a_class_whose_total_weight_is_not_positive_is_refused(weighted_data, scale, total):
    """A ``scale`` of 0 or below (or weights summing to zero or less) leaves nothing to learn:
    refused before training, naming the class and its processes with their totals."""
    with pytest.raises(
        DatasetError,
        match=f"class 'signal: sig' has a total event weight of {total}, expected a positive "
        f"total to train on \\(its processes' totals: 'sig' {total} \\(scale {scale:g}\\)\\)",
    ):
        load_task_data(weighted_data, ["sig", "bkg"], ["sig"], scales={"sig": scale})
    # a multiclass task: the class is the process; a NaN total is not positive either
    with pytest.raises(DatasetError, match="class 'bkg' has a total event weight of nan"):
        load_task_data(weighted_data, ["sig", "bkg"], scales={"bkg": float("nan")})


def test_a_task_file_with_a_zero_scale_exits_1(weighted_data, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EVENTGNN_CACHE", str(tmp_path / "cache"))
    task = {
        "name": "zero",
        "signal": [{"files": [str(weighted_data / "sig.parquet")], "process": "sig", "scale": 0}],
        "background": [{"files": [str(weighted_data / "bkg.parquet")], "process": "bkg"}],
    }
    path = tmp_path / "zero.yaml"
    path.write_text(yaml.safe_dump(task))
    argv = ["finetune", "--task", str(path), "--from", "scratch", "--epochs", "1",
            "--out", str(tmp_path / "run"), *TINY]  # fmt: skip
    assert main(argv) == 1
    assert "class 'signal: sig' has a total event weight of 0" in capsys.readouterr().err
    assert not (tmp_path / "run" / "model.pt").exists()
