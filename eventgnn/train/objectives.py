"""Training objectives: what the head predicts, the loss, and the metrics.

An objective has a kind and the names of its classes or labels; a *task* (a named pair of signal
and background samples, :class:`eventgnn.catalog.processes.Task`) is trained with the
``binary`` objective.

- ``multiclass``: one logit per process, cross-entropy; accuracy by argmax, one-vs-rest ROC AUC.
- ``multilabel``: 41 outputs (:data:`eventgnn.events.schema.TARGET_NAMES`); the loss is the
  equally weighted mean of the 41 per-label losses (MSE for the 8 multiplicities, BCE with logits
  for the 33 kinematic bins), each a mean over the events whose target is not NaN; labels with no
  valid target in the batch are left out of the mean.
- ``binary``: one logit, BCE with logits; accuracy at probability 0.5, ROC AUC, and the
  background rejection ``1 / eps_B`` at the signal efficiencies :data:`SIGNAL_EFFICIENCIES`.

Every loss and metric takes per-event weights ``w [B]`` (the record's ``weight``; None: all 1) and
is a weighted mean ``sum(w * l) / sum(w)``; unit weights give exactly the unweighted numbers.
Negative weights (NLO samples) enter as they are: the weighted mean is the unbiased estimate of
the expectation over the physical distribution. See docs/training.md, "Event weights".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .._core.errors import DatasetError
from .._core.roc import background_efficiency, rejection, weighted_auc, weighted_roc
from ..events.schema import N_REGRESSION, N_TARGETS, TARGET_NAMES

KINDS = ("multiclass", "multilabel", "binary")
PRETRAIN_KINDS = ("multiclass", "multilabel")
"""The objectives a pretraining learns (a finetune learns ``binary``)."""

SIGNAL_EFFICIENCIES = (0.5, 0.7)
"""Signal efficiencies at which binary metrics quote the background rejection ``1 / eps_B``."""

TRUTH_CHECK_EVENTS = 100_000
"""Training events whose targets a multilabel run checks for generator truth."""


@dataclass(frozen=True)
class Objective:
    """An objective: ``kind`` (one of :data:`KINDS`) and the names of its classes or labels."""

    kind: str
    names: tuple[str, ...]

    @property
    def n_outputs(self) -> int:
        return 1 if self.kind == "binary" else len(self.names)

    @property
    def target(self) -> str:
        """Which :class:`~eventgnn.graphs.batch.GraphTensors` label is ``y``."""
        return "targets" if self.kind == "multilabel" else "label"

    @property
    def has_classes(self) -> bool:
        """Whether each event belongs to one class (multiclass, binary): class totals,
        balancing, ROC curves and score plots apply. A multilabel objective has labels."""
        return self.kind != "multilabel"

    @property
    def score_shape(self) -> tuple[int, ...]:
        """The shape of one event's scores: ``()`` (binary: the signal probability) or
        ``(n_outputs,)``."""
        return () if self.kind == "binary" else (self.n_outputs,)

    def score_columns(self) -> list[str]:
        """The output columns of ``predict``: ``score`` (binary) or ``score_<name>`` each."""
        return ["score"] if self.kind == "binary" else [f"score_{n}" for n in self.names]

    def label_names(self, processes) -> tuple[str, ...]:
        """The names of the values of the events' ``label`` field: the classes, or for a
        multilabel objective (whose labels are the process indices) the ``processes``."""
        return tuple(self.names) if self.has_classes else tuple(processes)

    def check_scorable(self, y: torch.Tensor | None, where: str) -> None:
        """Refuse to score events that carry no truth for this objective, saying why."""
        if self.kind == "multilabel" and y is not None and bool(torch.isnan(y).all()):
            raise DatasetError(
                f"{where}: no event has generator truth (every multilabel target is NaN), so a "
                "multilabel model cannot be scored on it"
            )

    def check_trainable(self, graphs) -> None:
        """Refuse training data this objective cannot learn from, saying why (multilabel: when
        the first :data:`TRUTH_CHECK_EVENTS` training events have no generator truth)."""
        if len(graphs) == 0:
            raise ValueError("the training split is empty")
        if self.kind != "multilabel":
            return
        if len(graphs) > TRUTH_CHECK_EVENTS:  # a streamed split is not read whole for this
            graphs = graphs.subset(torch.arange(TRUTH_CHECK_EVENTS))
        if bool(torch.isnan(graphs.labels["targets"]).all()):
            raise ValueError(
                "multilabel training needs generator truth, but every target of the training "
                "events is NaN (the data has no generator record); use --task multiclass"
            )

    def loss(
        self, logits: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The weighted mean loss ``sum(w * l) / |sum(w)|`` (``w [B]``; None: all 1): the
        weighted mean whenever the weights sum to a positive number (see :func:`_denominator`
        for a negative or zero sum; no device sync either way)."""
        logits = logits.float()  # losses in float32 under mixed precision
        if w is None:
            w = torch.ones(len(logits), device=logits.device)
        w = w.float()
        if self.kind == "multiclass":
            # per-event weights scale the log-probabilities: nll_loss's own sum, so unit weights
            # give F.cross_entropy's mean bit for bit
            logp = torch.log_softmax(logits, 1) * w.unsqueeze(1)
            return F.nll_loss(logp, y, reduction="sum") / _denominator(w.sum())
        if self.kind == "binary":
            z = logits.squeeze(1)
            total = F.binary_cross_entropy_with_logits(z, y.float(), weight=w, reduction="sum")
            return total / _denominator(w.sum())
        return multilabel_loss(logits, y, w)

    def scores(self, logits: torch.Tensor) -> torch.Tensor:
        """Probabilities (multiclass: softmax; binary: sigmoid ``[B]``; multilabel: regression
        outputs as they are, sigmoid of the bin logits)."""
        logits = logits.float()
        if self.kind == "multiclass":
            return torch.softmax(logits, 1)
        if self.kind == "binary":
            return torch.sigmoid(logits.squeeze(1))
        return torch.cat([logits[:, :N_REGRESSION], torch.sigmoid(logits[:, N_REGRESSION:])], 1)

    def accuracy(
        self, logits: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None = None
    ) -> float:
        """Quick weighted accuracy for progress lines (the full metrics come from
        :meth:`metrics`); multilabel: over every valid (event, label) pair. Float32, as the
        unweighted mean it replaces: unit weights give that mean bit for bit."""
        s = self.scores(logits)
        w = torch.ones(len(s)) if w is None else w.float().to(s.device)
        if self.kind == "multiclass":
            return _weighted_mean((s.argmax(1) == y).float(), w)
        if self.kind == "binary":
            return _weighted_mean(((s >= 0.5).long() == y.long()).float(), w)
        pred = _multilabel_predictions(s)
        ok = ~torch.isnan(y)
        if not ok.any():
            return math.nan
        return _weighted_mean((pred[ok] == y[ok]).float(), w.unsqueeze(1).expand_as(ok)[ok])

    def metrics(self, logits: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None = None) -> dict:
        """Test metrics (plain floats), each weighted by ``w [B]`` (None: all 1): loss, accuracy,
        ROC AUC, ``n_events`` and ``sum_weights``, and per class (events, sum of weights,
        accuracy, AUC) or per label; binary adds the background efficiency ``eps_B`` and the
        rejection ``1 / eps_B`` at each of :data:`SIGNAL_EFFICIENCIES` (keys ``"0.5"``...)."""
        loss = float(self.loss(logits, y, w))
        s = self.scores(logits).cpu().numpy().astype(np.float64)
        yn = y.cpu().numpy()
        wn = np.ones(len(yn)) if w is None else w.cpu().numpy().astype(np.float64)
        totals = {"n_events": int(len(yn)), "sum_weights": float(wn.sum())}
        if self.kind == "binary":
            truth = yn == 1
            correct = (s >= 0.5) == truth
            fpr, tpr = weighted_roc(truth, s, wn)
            eff = {f"{e:g}": background_efficiency(fpr, tpr, e) for e in SIGNAL_EFFICIENCIES}
            return {
                "loss": loss,
                "accuracy": _weighted_mean(correct, wn),
                "auc": weighted_auc(truth, s, wn),
                **totals,
                "rejection": {k: rejection(v) for k, v in eff.items()},
                "background_efficiency": eff,
                "per_class": {
                    name: _class_entry(truth == bool(k), correct, wn)
                    for k, name in enumerate(self.names)
                },
            }
        if self.kind == "multiclass":
            pred = s.argmax(1)
            correct = pred == yn
            per_class = {}
            for k, name in enumerate(self.names):
                per_class[name] = {
                    **_class_entry(yn == k, correct, wn),
                    "auc": weighted_auc(yn == k, s[:, k], wn),
                }
            aucs = [v["auc"] for v in per_class.values() if not np.isnan(v["auc"])]
            return {
                "loss": loss,
                "accuracy": _weighted_mean(correct, wn),
                "auc": float(np.mean(aucs)) if aucs else float("nan"),
                **totals,
                "per_class": per_class,
            }
        pred = _multilabel_predictions(torch.from_numpy(s)).numpy()
        per_label = {}
        for k, name in enumerate(self.names):
            ok = ~np.isnan(yn[:, k])
            entry = {"n_events": int(ok.sum()), "sum_weights": float(wn[ok].sum())}
            if ok.any():
                t, wk = yn[ok, k], wn[ok]
                entry["accuracy"] = _weighted_mean(pred[ok, k] == t, wk)
                if k < N_REGRESSION:
                    entry["mse"] = _weighted_mean((s[ok, k] - t) ** 2, wk)
                else:
                    entry["auc"] = weighted_auc(t == 1, s[ok, k], wk)
            per_label[name] = entry
        accs = [v["accuracy"] for v in per_label.values() if "accuracy" in v]
        aucs = [v["auc"] for v in per_label.values() if not np.isnan(v.get("auc", np.nan))]
        return {
            "loss": loss,
            "accuracy": float(np.mean(accs)) if accs else float("nan"),
            "auc": float(np.mean(aucs)) if aucs else float("nan"),
            **totals,
            "per_label": per_label,
        }


def _multilabel_predictions(scores: torch.Tensor) -> torch.Tensor:
    """Rounded multiplicities (at least 0) and bins thresholded at 0.5."""
    reg = torch.clamp(torch.round(scores[:, :N_REGRESSION]), min=0)
    return torch.cat([reg, (scores[:, N_REGRESSION:] >= 0.5).to(scores.dtype)], 1)


def _denominator(total: torch.Tensor) -> torch.Tensor:
    """``|sum(w)|``, and 1 where it is 0: a positive total is the weighted mean's own
    denominator; a negative one (negative weights) keeps the step along ``sum(w * grad l)``, the
    unbiased gradient, instead of reversing it; a zero total gives loss 0, not NaN."""
    total = total.abs()
    return torch.where(total == 0, torch.ones_like(total), total)


def _weighted_mean(x, w) -> float:
    """``sum(w * x) / sum(w)`` (numpy or torch; NaN when the weights sum to 0). With unit weights
    it is the plain mean bit for bit (sums of 0/1 or of ``1 * x`` in the same order)."""
    total = w.sum()
    return float((w * x).sum() / total) if float(total) != 0 else math.nan


def _class_entry(mask: np.ndarray, correct: np.ndarray, w: np.ndarray) -> dict:
    """Events, sum of weights and weighted accuracy of the events ``mask`` of one class."""
    return {
        "n_events": int(mask.sum()),
        "sum_weights": float(w[mask].sum()),
        "accuracy": _weighted_mean(correct[mask], w[mask]) if mask.any() else math.nan,
    }


def multilabel_loss(
    logits: torch.Tensor, targets: torch.Tensor, w: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean over the 41 labels of each label's masked weighted mean loss (MSE or BCE with
    logits): ``sum(w * l) / sum(w)`` over the events whose target is not NaN.

    Shapes: ``logits [B, 41]``, ``targets [B, 41]`` (NaN = unknown), ``w [B]`` (None: all 1) ->
    scalar. Labels whose valid events' weights sum to 0 (none valid) drop out of the mean.
    """
    if logits.shape[1] != N_TARGETS:
        raise ValueError(f"multilabel head must have {N_TARGETS} outputs, got {logits.shape[1]}")
    if w is None:
        w = torch.ones(len(logits), device=logits.device)
    w = w.to(logits.dtype).unsqueeze(1)  # [B, 1]
    valid = ~torch.isnan(targets)
    t = torch.where(valid, targets, torch.zeros_like(targets))
    reg = (logits[:, :N_REGRESSION] - t[:, :N_REGRESSION]) ** 2
    bce = F.binary_cross_entropy_with_logits(
        logits[:, N_REGRESSION:], t[:, N_REGRESSION:], reduction="none"
    )
    per_element = torch.cat([reg, bce], 1) * valid
    label_weight = (valid * w).sum(0)  # [41]
    per_label = (per_element * w).sum(0) / _denominator(label_weight)
    has = label_weight != 0
    # no .item(): the mean over labels with data stays on the device
    return (per_label * has).sum() / has.sum().clamp(min=1)


def make_objective(kind: str, processes: tuple[str, ...] = ()) -> Objective:
    """The objective for ``kind``: class names are the processes (multiclass), the 41 target names
    (multilabel) or ``(background, signal)`` (binary)."""
    if kind == "multiclass":
        if len(processes) < 2:
            raise ValueError("a multiclass task needs at least two processes")
        return Objective("multiclass", tuple(processes))
    if kind == "multilabel":
        return Objective("multilabel", TARGET_NAMES)
    if kind == "binary":
        return Objective("binary", ("background", "signal"))
    raise ValueError(f"unknown objective '{kind}' (expected one of {', '.join(KINDS)})")
