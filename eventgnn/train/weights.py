"""Event weights around training: per-class totals, class balancing, the imbalance warning.

The losses and metrics themselves take the weights in :mod:`.objectives`; this module looks at
the weights of a whole split:

- :func:`split_class_totals`: events and sum of weights per class and split (logged at the start
  of training, written to ``metrics.json``, shown by ``eventgnn info``);
- :func:`balance_weights`: ``train.balance=true`` rescales each class so that every class has
  the same total weight (the training and validation splits; the test split keeps the physical
  weights);
- :func:`warn_imbalance`: a :class:`~eventgnn._core.errors.ClassImbalanceWarning` when the largest
  class outweighs the smallest by more than :data:`IMBALANCE_RATIO`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import torch

from .._core.errors import ClassImbalanceWarning, DatasetError
from ..graphs.dataset import TaskData

IMBALANCE_RATIO = 5.0
"""Warn when the largest class's total training weight exceeds the smallest's by more than
this factor: beyond it an unweighted classifier's accuracy is dominated by the large class (a
10-versus-200 task scores 0.952 by calling everything background)."""

SPLITS = ("train", "val", "test")


def class_totals(labels: torch.Tensor, weights: torch.Tensor, names: Sequence[str]) -> dict:
    """``{name: {"n_events", "sum_weights"}}`` of the events with ``labels [B]`` and
    ``weights [B]`` (``labels`` index ``names``)."""
    lab = labels.cpu().numpy()
    w = weights.cpu().numpy().astype(np.float64)
    n = np.bincount(lab, minlength=len(names))
    s = np.bincount(lab, weights=w, minlength=len(names))
    return {
        name: {"n_events": int(n[k]), "sum_weights": float(s[k])} for k, name in enumerate(names)
    }


def split_class_totals(data: TaskData, names: Sequence[str]) -> dict:
    """``{split: class_totals(...)}`` for the train, validation and test splits of ``data``
    (physical weights, before any balancing)."""
    labels, weights = data.graphs.labels["label"], data.graphs.labels["weight"]
    return {
        split: class_totals(labels[data.splits[split]], weights[data.splits[split]], names)
        for split in SPLITS
    }


def format_class_totals(totals: dict) -> list[str]:
    """One line per split: ``train: wh 3,000 (3,000), zh 3,000 (3,000)`` (events, sum of
    weights)."""
    return [
        f"  {split}: "
        + ", ".join(
            f"{name} {c['n_events']:,} ({c['sum_weights']:,.6g})" for name, c in per.items()
        )
        for split, per in totals.items()
    ]


def imbalance(per_class: dict) -> float:
    """Largest over smallest total weight among the classes that have events (infinite when the
    smallest total is not positive; 1 with fewer than two classes)."""
    sums = [c["sum_weights"] for c in per_class.values() if c["n_events"]]
    if len(sums) < 2:
        return 1.0
    return max(sums) / min(sums) if min(sums) > 0 else math.inf


def warn_imbalance(per_class: dict, where: str = "training split") -> None:
    """Warn (:class:`~eventgnn._core.errors.ClassImbalanceWarning`) when :func:`imbalance` exceeds
    :data:`IMBALANCE_RATIO`, naming the classes and suggesting ``train.balance=true``."""
    ratio = imbalance(per_class)
    if ratio <= IMBALANCE_RATIO:
        return
    have = {k: v for k, v in per_class.items() if v["n_events"]}
    big = max(have, key=lambda k: have[k]["sum_weights"])
    small = min(have, key=lambda k: have[k]["sum_weights"])
    warnings.warn(
        f"{where}: the classes are imbalanced: total weight of '{big}' "
        f"{have[big]['sum_weights']:.6g} vs '{small}' {have[small]['sum_weights']:.6g} (ratio "
        f"{ratio:.3g}, above {IMBALANCE_RATIO:g}); the loss and accuracy are dominated by "
        f"'{big}'; train.balance=true gives every class the same total weight in training",
        ClassImbalanceWarning,
        stacklevel=2,
    )


def balance_weights(
    labels: torch.Tensor, weights: torch.Tensor, names: Sequence[str], where: str = "split"
) -> tuple[torch.Tensor, dict[str, float]]:
    """``(weights', factors)``: each class's weights multiplied by one factor so that every
    class present has the same total weight, ``W / K`` (``W``: the split's total, ``K``: classes
    present); the split's total weight is unchanged. Raises :class:`DatasetError` when a class's
    total weight is not positive (negative weights can make it so)."""
    totals = class_totals(labels, weights, names)
    present = {k: c for k, c in enumerate(totals.values()) if c["n_events"]}
    bad = [names[k] for k, c in present.items() if c["sum_weights"] <= 0]
    if bad:
        raise DatasetError(
            f"train.balance: class(es) {', '.join(bad)} of the {where} have a total weight <= 0 "
            "(negative event weights); they cannot be rescaled to a positive share"
        )
    target = sum(c["sum_weights"] for c in present.values()) / max(len(present), 1)
    factor = torch.ones(len(names), dtype=torch.float64)
    for k, c in present.items():
        factor[k] = target / c["sum_weights"]
    scaled = weights.double() * factor.to(weights.device)[labels]
    return scaled.to(weights.dtype), {names[k]: float(factor[k]) for k in present}
