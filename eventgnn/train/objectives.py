"""Training objectives: what the head predicts, the loss, and the metrics.

An objective has a kind and the names of its classes or labels; a *task* (a named pair of signal
and background samples, :class:`eventgnn.catalog.Task`) is trained with the ``binary`` objective.

- ``multiclass``: one logit per process, cross-entropy; accuracy by argmax, one-vs-rest ROC AUC.
- ``multilabel``: 41 outputs (:data:`eventgnn.events.schema.TARGET_NAMES`); the loss is the
  equally weighted mean of the 41 per-label losses (MSE for the 8 multiplicities, BCE with logits
  for the 33 kinematic bins), each a mean over the events whose target is not NaN; labels with no
  valid target in the batch are left out of the mean.
- ``binary``: one logit, BCE with logits; accuracy at probability 0.5, ROC AUC.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..events.schema import N_REGRESSION, N_TARGETS, TARGET_NAMES

KINDS = ("multiclass", "multilabel", "binary")


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

    def check_trainable(self, graphs) -> None:
        """Refuse training data this objective cannot learn from, saying why."""
        if len(graphs) == 0:
            raise ValueError("the training split is empty")
        if self.kind == "multilabel" and bool(torch.isnan(graphs.labels["targets"]).all()):
            raise ValueError(
                "multilabel training needs generator truth, but every target of the training "
                "events is NaN (the data has no generator record); use --task multiclass"
            )

    def loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        logits = logits.float()  # losses in float32 under mixed precision
        if self.kind == "multiclass":
            return F.cross_entropy(logits, y)
        if self.kind == "binary":
            return F.binary_cross_entropy_with_logits(logits.squeeze(1), y.float())
        return multilabel_loss(logits, y)

    def scores(self, logits: torch.Tensor) -> torch.Tensor:
        """Probabilities (multiclass: softmax; binary: sigmoid ``[B]``; multilabel: regression
        outputs as they are, sigmoid of the bin logits)."""
        logits = logits.float()
        if self.kind == "multiclass":
            return torch.softmax(logits, 1)
        if self.kind == "binary":
            return torch.sigmoid(logits.squeeze(1))
        return torch.cat([logits[:, :N_REGRESSION], torch.sigmoid(logits[:, N_REGRESSION:])], 1)

    def accuracy(self, logits: torch.Tensor, y: torch.Tensor) -> float:
        """Quick accuracy for progress lines (the full metrics come from :meth:`metrics`)."""
        s = self.scores(logits)
        if self.kind == "multiclass":
            return float((s.argmax(1) == y).float().mean())
        if self.kind == "binary":
            return float(((s >= 0.5).long() == y.long()).float().mean())
        pred = _multilabel_predictions(s)
        ok = ~torch.isnan(y)
        return float((pred[ok] == y[ok]).float().mean()) if ok.any() else float("nan")

    def metrics(self, logits: torch.Tensor, y: torch.Tensor) -> dict:
        """Test metrics: accuracy, ROC AUC, loss, and per class or per label (plain floats)."""
        loss = float(self.loss(logits, y))
        s = self.scores(logits).cpu().numpy().astype(np.float64)
        yn = y.cpu().numpy()
        if self.kind == "binary":
            return {
                "loss": loss,
                "accuracy": float(((s >= 0.5) == (yn == 1)).mean()),
                "auc": _auc(yn, s),
                "n_events": int(len(yn)),
            }
        if self.kind == "multiclass":
            pred = s.argmax(1)
            per_class = {}
            for k, name in enumerate(self.names):
                mask = yn == k
                per_class[name] = {
                    "n_events": int(mask.sum()),
                    "accuracy": float((pred[mask] == k).mean()) if mask.any() else float("nan"),
                    "auc": _auc((yn == k).astype(int), s[:, k]),
                }
            aucs = [v["auc"] for v in per_class.values() if not np.isnan(v["auc"])]
            return {
                "loss": loss,
                "accuracy": float((pred == yn).mean()),
                "auc": float(np.mean(aucs)) if aucs else float("nan"),
                "n_events": int(len(yn)),
                "per_class": per_class,
            }
        pred = _multilabel_predictions(torch.from_numpy(s)).numpy()
        per_label = {}
        for k, name in enumerate(self.names):
            ok = ~np.isnan(yn[:, k])
            entry = {"n_events": int(ok.sum())}
            if ok.any():
                t = yn[ok, k]
                entry["accuracy"] = float((pred[ok, k] == t).mean())
                if k < N_REGRESSION:
                    entry["mse"] = float(np.mean((s[ok, k] - t) ** 2))
                else:
                    entry["auc"] = _auc(t.astype(int), s[ok, k])
            per_label[name] = entry
        accs = [v["accuracy"] for v in per_label.values() if "accuracy" in v]
        aucs = [v["auc"] for v in per_label.values() if not np.isnan(v.get("auc", np.nan))]
        return {
            "loss": loss,
            "accuracy": float(np.mean(accs)) if accs else float("nan"),
            "auc": float(np.mean(aucs)) if aucs else float("nan"),
            "n_events": int(len(yn)),
            "per_label": per_label,
        }


def _multilabel_predictions(scores: torch.Tensor) -> torch.Tensor:
    """Rounded multiplicities (at least 0) and bins thresholded at 0.5."""
    reg = torch.clamp(torch.round(scores[:, :N_REGRESSION]), min=0)
    return torch.cat([reg, (scores[:, N_REGRESSION:] >= 0.5).to(scores.dtype)], 1)


def _auc(y: np.ndarray, s: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    if len(np.unique(y)) < 2:
        return float("nan")  # undefined with one class present
    return float(roc_auc_score(y, s))


def multilabel_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over the 41 labels of each label's masked mean loss (MSE or BCE with logits).

    Shapes: ``logits [B, 41]``, ``targets [B, 41]`` (NaN = unknown) -> scalar.
    """
    if logits.shape[1] != N_TARGETS:
        raise ValueError(f"multilabel head must have {N_TARGETS} outputs, got {logits.shape[1]}")
    valid = ~torch.isnan(targets)
    t = torch.where(valid, targets, torch.zeros_like(targets))
    reg = (logits[:, :N_REGRESSION] - t[:, :N_REGRESSION]) ** 2
    bce = F.binary_cross_entropy_with_logits(
        logits[:, N_REGRESSION:], t[:, N_REGRESSION:], reduction="none"
    )
    per_element = torch.cat([reg, bce], 1) * valid
    n_valid = valid.sum(0)  # [41]
    per_label = per_element.sum(0) / n_valid.clamp(min=1)
    has = n_valid > 0
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
