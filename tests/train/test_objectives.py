"""Losses and metrics of the three tasks against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from eventgnn.events.schema import N_REGRESSION, N_TARGETS
from eventgnn.train.objectives import make_objective as make_task
from eventgnn.train.objectives import multilabel_loss


def _bce(z, t):
    p = 1 / (1 + math.exp(-z))
    return -(t * math.log(p) + (1 - t) * math.log(1 - p))


def test_multilabel_loss_equals_hand_computation_with_nan_masking():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, N_TARGETS))
    targets = np.zeros((3, N_TARGETS))
    targets[:, :N_REGRESSION] = rng.integers(0, 3, (3, N_REGRESSION))
    targets[:, N_REGRESSION:] = rng.integers(0, 2, (3, N_TARGETS - N_REGRESSION))
    targets[0, 0] = np.nan  # label 0 has two valid events
    targets[:, 9] = np.nan  # label 9 has none: left out of the mean
    targets[2, 20] = np.nan
    per_label = []
    for k in range(N_TARGETS):
        vals = []
        for b in range(3):
            t = targets[b, k]
            if np.isnan(t):
                continue
            z = logits[b, k]
            vals.append((z - t) ** 2 if k < N_REGRESSION else _bce(z, t))
        if vals:
            per_label.append(sum(vals) / len(vals))
    want = sum(per_label) / len(per_label)
    assert len(per_label) == N_TARGETS - 1
    got = multilabel_loss(torch.tensor(logits), torch.tensor(targets))
    assert float(got) == pytest.approx(want, rel=1e-12)
    task = make_task("multilabel")
    assert float(task.loss(torch.tensor(logits), torch.tensor(targets))) == pytest.approx(
        want, rel=1e-6
    )


def test_multilabel_loss_all_nan_is_zero_not_nan():
    logits = torch.randn(2, N_TARGETS)
    assert float(multilabel_loss(logits, torch.full((2, N_TARGETS), float("nan")))) == 0.0


def test_binary_and_multiclass_losses():
    z = torch.tensor([[0.3], [-1.2], [2.0]])
    y = torch.tensor([1, 0, 0])
    want = np.mean([_bce(0.3, 1), _bce(-1.2, 0), _bce(2.0, 0)])
    assert float(make_task("binary").loss(z, y)) == pytest.approx(want, rel=1e-6)
    logits = torch.tensor([[1.0, 2.0, 0.5], [0.1, 0.2, 3.0]])
    yc = torch.tensor([1, 0])
    lse = [math.log(sum(math.exp(v) for v in row)) for row in logits.tolist()]
    want = np.mean([lse[0] - 2.0, lse[1] - 0.1])
    assert float(make_task("multiclass", ("a", "b", "c")).loss(logits, yc)) == pytest.approx(want)


def test_binary_metrics_accuracy_at_half_and_auc():
    task = make_task("binary")
    # probabilities 0.73, 0.23, 0.88, 0.45 for labels 1, 0, 0, 1
    z = torch.tensor([[1.0], [-1.2], [2.0], [-0.2]])
    y = torch.tensor([1, 0, 0, 1])
    m = task.metrics(z, y)
    assert m["accuracy"] == pytest.approx(0.5)
    # positives (1.0, -0.2) vs negatives (-1.2, 2.0): 2 of 4 pairs ordered right
    assert m["auc"] == pytest.approx(0.5)


def test_multiclass_metrics_per_class():
    task = make_task("multiclass", ("a", "b"))
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 3.0]])
    y = torch.tensor([0, 1, 1, 1])
    m = task.metrics(logits, y)
    assert m["accuracy"] == pytest.approx(0.75)
    assert m["per_class"]["a"]["accuracy"] == 1.0
    assert m["per_class"]["b"]["accuracy"] == pytest.approx(2 / 3)
    assert m["per_class"]["b"]["n_events"] == 3


def test_multilabel_metrics_skip_nan_and_round_multiplicities():
    task = make_task("multilabel")
    logits = torch.zeros(2, N_TARGETS)
    logits[:, 0] = torch.tensor([0.9, 2.2])  # rounds to 1, 2
    targets = torch.zeros(2, N_TARGETS)
    targets[:, 0] = torch.tensor([1.0, 1.0])
    targets[:, 1] = float("nan")
    m = task.metrics(logits, targets)
    assert m["per_label"]["n_higgs"]["accuracy"] == 0.5
    assert m["per_label"]["n_top"]["n_events"] == 0 and "accuracy" not in m["per_label"]["n_top"]
