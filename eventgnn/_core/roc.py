"""Weighted ROC curves, their area and working points, correct for negative event weights (NLO
samples), where scikit-learn refuses the non-monotone curve: used by the metrics
(:mod:`eventgnn.train.objectives`) and the figures (:mod:`eventgnn.plots`) alike.

Every function takes ``truth [B]`` (True for signal), scores ``s [B]`` and weights ``w [B]``.
"""

from __future__ import annotations

import math

import numpy as np


def weighted_roc(truth: np.ndarray, s: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(eps_B, eps_S)``: the weighted ROC curve, from the cut above every score (0, 0) to the
    cut below every score (1, 1), one point per distinct score (ties form one step), in order of
    decreasing threshold. ``truth [B]`` bool (signal), ``s [B]`` scores, ``w [B]`` weights.

    Efficiencies are sums of weights passing over the class totals; with negative weights they
    need not grow monotonically. NaN arrays when a class's total weight is not positive."""
    truth, s, w = np.asarray(truth, bool), np.asarray(s, np.float64), np.asarray(w, np.float64)
    order = np.argsort(-s, kind="stable")
    s, truth, w = s[order], truth[order], w[order]
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]  # the last event of each tied score
    tps = np.r_[0.0, np.cumsum(np.where(truth, w, 0.0))[last]]
    fps = np.r_[0.0, np.cumsum(np.where(truth, 0.0, w))[last]]
    total_s, total_b = w[truth].sum(), w[~truth].sum()
    if len(s) == 0 or total_s <= 0 or total_b <= 0:
        nan = np.full(len(tps), np.nan)
        return nan, nan
    return fps / total_b, tps / total_s


def background_efficiency(eps_b: np.ndarray, eps_s: np.ndarray, target: float) -> float:
    """``eps_B`` at signal efficiency ``target`` on a :func:`weighted_roc` curve: linear
    interpolation between the last point below ``target`` and the first point (in order of
    decreasing threshold) that reaches it, so the tightest cut that reaches ``target``; NaN on
    an undefined curve."""
    reached = np.nonzero(eps_s >= target)[0]  # empty on an undefined (NaN) curve
    if len(reached) == 0:
        return math.nan
    k = int(reached[0])
    if k == 0:  # target <= 0: the cut above every score
        return float(eps_b[0])
    x0, x1, y0, y1 = eps_s[k - 1], eps_s[k], eps_b[k - 1], eps_b[k]
    return float(y0 + (target - x0) * (y1 - y0) / (x1 - x0))


def rejection(eps_b: float) -> float:
    """Background rejection ``1 / eps_B``: infinite when no background passes (``eps_B <= 0``,
    possible with negative weights), NaN when ``eps_B`` is."""
    if math.isnan(eps_b):
        return math.nan
    return 1.0 / eps_b if eps_b > 0 else math.inf


def weighted_auc(truth: np.ndarray, s: np.ndarray, w: np.ndarray) -> float:
    """Weighted ROC AUC; NaN with one class present or a class of non-positive total weight.

    Non-negative weights: scikit-learn's ``roc_auc_score(sample_weight=w)`` (unit weights: the
    unweighted AUC exactly). With negative weights scikit-learn refuses the non-monotone curve;
    eventgnn then integrates the :func:`weighted_roc` curve by trapezoids, which is the weighted
    Mann-Whitney statistic ``sum_ij w_i w_j ([s_i > s_j] + [s_i = s_j] / 2) / (W_S W_B)`` over
    signal events ``i`` and background events ``j``: the unbiased estimate of
    ``P(s_S > s_B)``."""
    from sklearn.metrics import roc_auc_score

    truth = np.asarray(truth, bool)
    if truth.all() or not truth.any():
        return float("nan")  # undefined with one class present
    if w[truth].sum() <= 0 or w[~truth].sum() <= 0:
        return float("nan")
    if (w >= 0).all():
        return float(roc_auc_score(truth, s, sample_weight=w))
    eps_b, eps_s = weighted_roc(truth, s, w)
    return float(np.sum(np.diff(eps_b) * (eps_s[1:] + eps_s[:-1]) / 2))
