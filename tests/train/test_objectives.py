"""Losses and metrics of the three tasks against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from eventgnn._core.errors import DatasetError
from eventgnn.events.schema import N_REGRESSION, N_TARGETS, TARGET_NAMES
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


# -- event weights ------------------------------------------------------------------------------


def _unweighted_multilabel_loss(logits, targets):
    """The multilabel loss as it was before event weights (the reference for unit weights)."""
    valid = ~torch.isnan(targets)
    t = torch.where(valid, targets, torch.zeros_like(targets))
    reg = (logits[:, :N_REGRESSION] - t[:, :N_REGRESSION]) ** 2
    bce = F.binary_cross_entropy_with_logits(
        logits[:, N_REGRESSION:], t[:, N_REGRESSION:], reduction="none"
    )
    per_element = torch.cat([reg, bce], 1) * valid
    n_valid = valid.sum(0)
    per_label = per_element.sum(0) / n_valid.clamp(min=1)
    has = n_valid > 0
    return (per_label * has).sum() / has.sum().clamp(min=1)


def _random_outputs(kind, n=1000, seed=0):
    g = torch.Generator().manual_seed(seed)
    if kind == "binary":
        return torch.randn(n, 1, generator=g) * 2, torch.randint(0, 2, (n,), generator=g)
    if kind == "multiclass":
        return torch.randn(n, 3, generator=g) * 2, torch.randint(0, 3, (n,), generator=g)
    targets = torch.randint(0, 2, (n, N_TARGETS), generator=g).float()
    targets[:, :N_REGRESSION] = torch.randint(0, 3, (n, N_REGRESSION), generator=g).float()
    targets[torch.rand(n, N_TARGETS, generator=g) < 0.1] = float("nan")
    return torch.randn(n, N_TARGETS, generator=g), targets


@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel"])
def test_unit_weights_give_exactly_the_unweighted_numbers(kind):
    """Loss (float32, bit for bit), quick accuracy and every metric equal the unweighted
    formulas they replace, and no weights means unit weights."""
    from sklearn.metrics import roc_auc_score

    task = make_task(kind, ("a", "b", "c"))
    for n in (1, 7, 128, 1000):
        logits, y = _random_outputs(kind, n, seed=n)
        ones = torch.ones(n)
        if kind == "multiclass":
            old = F.cross_entropy(logits, y)
        elif kind == "binary":
            old = F.binary_cross_entropy_with_logits(logits.squeeze(1), y.float())
        else:
            old = _unweighted_multilabel_loss(logits, y)
        assert torch.equal(task.loss(logits, y, ones), old)
        assert torch.equal(task.loss(logits, y), old)
        s = task.scores(logits)
        if kind == "multiclass":
            old_acc = float((s.argmax(1) == y).float().mean())
        elif kind == "binary":
            old_acc = float(((s >= 0.5).long() == y.long()).float().mean())
        else:
            ok = ~torch.isnan(y)
            pred = torch.cat(
                [torch.clamp(torch.round(s[:, :8]), min=0), (s[:, 8:] >= 0.5).float()], 1
            )
            old_acc = float((pred[ok] == y[ok]).float().mean())
        assert task.accuracy(logits, y, ones) == task.accuracy(logits, y) == old_acc
    weighted, plain = task.metrics(logits, y, ones), task.metrics(logits, y)
    assert weighted == plain
    sn, yn = s.double().numpy(), y.numpy()
    if kind == "binary":
        assert plain["accuracy"] == float(((sn >= 0.5) == (yn == 1)).mean())
        assert plain["auc"] == float(roc_auc_score(yn, sn))
    elif kind == "multiclass":
        assert plain["accuracy"] == float((sn.argmax(1) == yn).mean())
        for k, name in enumerate("abc"):
            assert plain["per_class"][name]["auc"] == float(roc_auc_score(yn == k, sn[:, k]))
            mask = yn == k
            assert plain["per_class"][name]["accuracy"] == float((sn[mask].argmax(1) == k).mean())
    else:
        ok = ~np.isnan(yn[:, 0])
        assert plain["per_label"]["n_higgs"]["mse"] == float(np.mean((sn[ok, 0] - yn[ok, 0]) ** 2))
        ok = ~np.isnan(yn[:, 20])
        auc = float(roc_auc_score(yn[ok, 20], sn[ok, 20]))
        assert plain["per_label"][task.names[20]]["auc"] == auc


# eight events: binary logits, labels, weights; events 3 (signal) and 4 (background) tie
Z = [2.0, 1.2, 0.7, 0.1, 0.1, -0.8, -1.5, -2.2]
Y = [1, 1, 0, 1, 0, 1, 0, 0]
W = [0.5, 2.0, 1.5, 1.0, 3.0, 0.25, 1.0, 2.0]


def test_weighted_binary_metrics_equal_scikit_learn():
    from sklearn.metrics import accuracy_score, roc_auc_score, roc_curve

    task = make_task("binary")
    z, y, w = torch.tensor(Z).unsqueeze(1), torch.tensor(Y), torch.tensor(W)
    m = task.metrics(z, y, w)
    s = torch.sigmoid(z.squeeze(1)).double().numpy()
    yn, wn = np.array(Y), np.array(W)
    assert m["accuracy"] == pytest.approx(accuracy_score(yn, s >= 0.5, sample_weight=wn))
    assert m["auc"] == pytest.approx(roc_auc_score(yn, s, sample_weight=wn), rel=1e-12)
    assert m["n_events"] == 8 and m["sum_weights"] == pytest.approx(sum(W))
    sig = m["per_class"]["signal"]
    assert sig["n_events"] == 4 and sig["sum_weights"] == pytest.approx(3.75)
    # signal efficiency at 0.5: events 0, 1, 3 pass (weights 0.5 + 2 + 1 of 3.75)
    assert sig["accuracy"] == pytest.approx(3.5 / 3.75)
    fpr, tpr, _ = roc_curve(yn, s, sample_weight=wn, drop_intermediate=False)
    for eff in (0.5, 0.7):
        eps_b = float(np.interp(eff, tpr, fpr))
        assert m["background_efficiency"][f"{eff:g}"] == pytest.approx(eps_b, rel=1e-12)
        assert m["rejection"][f"{eff:g}"] == pytest.approx(1 / eps_b if eps_b else math.inf)
    # by hand: signal weights 0.5 and 2 (eps_S 2/3 > 0.5) before any background: eps_B(0.5) = 0
    assert m["background_efficiency"]["0.5"] == 0.0 and m["rejection"]["0.5"] == math.inf
    # then the tie: (eps_B, eps_S) from (0.2, 2/3) to (0.6, 14/15) in one step; 0.7 lies 1/8 of
    # the way along it: eps_B = 0.2 + 0.4 / 8
    assert m["background_efficiency"]["0.7"] == pytest.approx(0.25)
    assert m["rejection"]["0.7"] == pytest.approx(4.0)


def test_weighted_multiclass_and_multilabel_metrics_equal_scikit_learn():
    from sklearn.metrics import accuracy_score, mean_squared_error, roc_auc_score

    rng = np.random.default_rng(5)
    w = rng.uniform(0.1, 3.0, 200)
    logits, y = _random_outputs("multiclass", 200, seed=5)
    task = make_task("multiclass", ("a", "b", "c"))
    m = task.metrics(logits, y, torch.tensor(w))
    s, yn = torch.softmax(logits, 1).double().numpy(), y.numpy()
    assert m["accuracy"] == pytest.approx(accuracy_score(yn, s.argmax(1), sample_weight=w))
    for k, name in enumerate("abc"):
        mask = yn == k
        entry = m["per_class"][name]
        assert entry["auc"] == pytest.approx(roc_auc_score(mask, s[:, k], sample_weight=w))
        assert entry["accuracy"] == pytest.approx(
            accuracy_score(yn[mask], s[mask].argmax(1), sample_weight=w[mask])
        )
        assert entry["sum_weights"] == pytest.approx(w[mask].sum())
    assert m["auc"] == pytest.approx(np.mean([m["per_class"][n]["auc"] for n in "abc"]))

    logits, t = _random_outputs("multilabel", 200, seed=6)
    ml = make_task("multilabel").metrics(logits, t, torch.tensor(w))
    scores, tn = make_task("multilabel").scores(logits).double().numpy(), t.numpy()
    for k in (0, 20):
        ok = ~np.isnan(tn[:, k])
        entry = ml["per_label"][TARGET_NAMES[k]]
        assert entry["sum_weights"] == pytest.approx(w[ok].sum())
        if k == 0:
            want = mean_squared_error(tn[ok, k], scores[ok, k], sample_weight=w[ok])
            assert entry["mse"] == pytest.approx(want)
            pred = np.clip(np.round(scores[ok, k]), 0, None)
        else:
            want = roc_auc_score(tn[ok, k], scores[ok, k], sample_weight=w[ok])
            assert entry["auc"] == pytest.approx(want)
            pred = scores[ok, k] >= 0.5
        assert entry["accuracy"] == pytest.approx(
            accuracy_score(tn[ok, k], pred, sample_weight=w[ok])
        )


def test_weighted_losses_equal_hand_computation():
    z, y, w = [0.3, -1.2, 2.0], [1, 0, 0], [2.0, 0.5, 1.5]
    want = sum(wi * _bce(zi, yi) for zi, yi, wi in zip(z, y, w, strict=True)) / sum(w)
    got = make_task("binary").loss(torch.tensor(z).unsqueeze(1), torch.tensor(y), torch.tensor(w))
    assert float(got) == pytest.approx(want, rel=1e-6)

    logits = [[1.0, 2.0, 0.5], [0.1, 0.2, 3.0], [0.0, -1.0, 1.0]]
    yc, wc = [1, 0, 2], [3.0, 1.0, 0.5]
    lse = [math.log(sum(math.exp(v) for v in row)) for row in logits]
    want = sum(wi * (lse[i] - logits[i][yc[i]]) for i, wi in enumerate(wc)) / sum(wc)
    got = make_task("multiclass", ("a", "b", "c")).loss(
        torch.tensor(logits), torch.tensor(yc), torch.tensor(wc)
    )
    assert float(got) == pytest.approx(want, rel=1e-6)

    # multilabel: each label's weighted mean over its valid events, then the plain mean
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(3, N_TARGETS))
    targets = rng.integers(0, 2, (3, N_TARGETS)).astype(float)
    targets[0, 0], targets[:, 9], targets[1, 30] = np.nan, np.nan, np.nan
    wm = [2.0, 0.5, 1.0]
    per_label = []
    for k in range(N_TARGETS):
        num = den = 0.0
        for b in range(3):
            if np.isnan(targets[b, k]):
                continue
            zz, t = logits[b, k], targets[b, k]
            num += wm[b] * ((zz - t) ** 2 if k < N_REGRESSION else _bce(zz, t))
            den += wm[b]
        if den:
            per_label.append(num / den)
    got = multilabel_loss(torch.tensor(logits), torch.tensor(targets), torch.tensor(wm))
    assert float(got) == pytest.approx(sum(per_label) / len(per_label), rel=1e-12)


def test_negative_weights_enter_as_they_are():
    """NLO weights: the loss and accuracy are sum(w x) / sum(w) with the signs kept; the AUC
    (which scikit-learn refuses here) is the weighted Mann-Whitney statistic."""
    task = make_task("binary")
    z = torch.tensor([[1.5], [0.2], [-0.4], [0.9], [-1.0], [0.2], [2.5], [-2.0]])
    y = torch.tensor([1, 1, 1, 0, 0, 0, 1, 0])
    w = torch.tensor([1.0, -0.5, 1.2, 1.0, -0.7, 2.0, 0.8, 1.0])
    zn, yn, wn = z.squeeze(1).tolist(), y.tolist(), w.tolist()
    losses = [_bce(a, b) for a, b in zip(zn, yn, strict=True)]
    want = sum(a * b for a, b in zip(wn, losses, strict=True)) / sum(wn)
    assert float(task.loss(z, y, w)) == pytest.approx(want, rel=1e-6)
    m = task.metrics(z, y, w)
    correct = [(a >= 0) == (b == 1) for a, b in zip(zn, yn, strict=True)]
    assert m["accuracy"] == pytest.approx(np.dot(correct, wn) / sum(wn))
    num = 0.0  # pairs (signal i, background j), ties (0.2 vs 0.2) count one half
    for i in range(8):
        for j in range(8):
            if yn[i] == 1 and yn[j] == 0:
                num += wn[i] * wn[j] * (1.0 if zn[i] > zn[j] else 0.5 if zn[i] == zn[j] else 0.0)
    w_s, w_b = np.dot(wn, yn), np.dot(wn, 1 - np.array(yn))
    assert m["auc"] == pytest.approx(num / (w_s * w_b), rel=1e-12)
    # a batch with a negative total: divided by |sum(w)|, the step follows sum(w grad l)
    neg = -torch.ones(8)
    assert float(task.loss(z, y, neg)) == pytest.approx(-float(task.loss(z, y)), rel=1e-6)
    # weights summing to 0: loss 0, not NaN
    assert float(task.loss(z[:2], y[:2], torch.tensor([1.0, -1.0]))) == pytest.approx(
        _bce(1.5, 1) - _bce(0.2, 1), rel=1e-6
    )


def test_rejection_is_infinite_without_background_and_json_writes_null():
    import json

    from eventgnn.train.checkpoint import metrics_json

    task = make_task("binary")
    z = torch.tensor([[3.0], [2.0], [1.0], [-1.0], [-2.0]])  # perfectly separated
    m = task.metrics(z, torch.tensor([1, 1, 1, 0, 0]))
    assert m["rejection"] == {"0.5": math.inf, "0.7": math.inf}
    assert m["background_efficiency"] == {"0.5": 0.0, "0.7": 0.0}
    one_class = task.metrics(z, torch.ones(5, dtype=torch.int64))
    assert math.isnan(one_class["auc"]) and math.isnan(one_class["rejection"]["0.5"])
    text = metrics_json({**m, "auc_undefined": one_class["auc"]})
    back = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert back["rejection"] == {"0.5": None, "0.7": None}
    assert back["background_efficiency"]["0.5"] == 0.0 and back["auc_undefined"] is None


def test_kind_specific_decisions_are_the_objectives():
    binary = make_task("binary")
    multiclass = make_task("multiclass", ("wh", "zh", "tt"))
    multilabel = make_task("multilabel")
    assert binary.score_columns() == ["score"] and binary.score_shape == ()
    assert multiclass.score_columns() == ["score_wh", "score_zh", "score_tt"]
    assert multiclass.score_shape == (3,) and multilabel.score_shape == (41,)
    assert binary.has_classes and multiclass.has_classes and not multilabel.has_classes
    # the label field holds class indices, or process indices for a multilabel objective
    assert binary.label_names(("a", "b")) == ("background", "signal")
    assert multilabel.label_names(("a", "b")) == ("a", "b")
    multilabel.check_scorable(torch.zeros(2, 41), "here")
    with pytest.raises(DatasetError, match="here: no event has generator truth"):
        multilabel.check_scorable(torch.full((2, 41), float("nan")), "here")
    binary.check_scorable(torch.full((2,), float("nan")), "here")  # binary truth is the label
