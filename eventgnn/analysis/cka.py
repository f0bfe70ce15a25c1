"""Centered Kernel Alignment (CKA) between representations.

After Kornblith, Norouzi, Lee and Hinton, "Similarity of Neural Network Representations
Revisited" (ICML 2019). For two representations of the same ``n`` examples, ``X [n, p]`` and
``Y [n, q]`` (rows are examples, in the same order), with Gram matrices ``K`` and ``L`` and the
centering matrix ``H = I - 11^T / n``::

    HSIC(K, L) = tr(K H L H) / (n - 1)^2
    CKA(K, L)  = HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L))

Estimator: the *biased* HSIC estimator above (the one in Kornblith et al.'s reference code and in
the paper we reproduce); the normalisation constant cancels in the ratio. ``debiased=True`` switches
to the unbiased estimator of Song et al. (2012), which removes the small-``n`` bias towards 1 but
can come out slightly negative. All arithmetic is in float64 whatever the input dtype.

Kernels: ``linear`` (``K = X X^T``; computed in feature space, ``O(n p q)``, so ``n`` may be large)
and ``rbf`` (``K_ij = exp(-|x_i - x_j|^2 / (2 sigma^2))`` with ``sigma = threshold`` times the
median pairwise distance; precisely ``sigma^2 = threshold^2 * median(d^2)`` with the median over
all ``n^2`` entries, diagonal included, as in Kornblith et al.'s code). The RBF Gram matrix is
``n x n``: keep ``n`` to a few thousand.

Invariances (tested): both kernels are invariant to orthogonal transforms of either input and to
isotropic scaling (RBF through the median heuristic); linear CKA is not invariant to general
invertible linear maps.

Ensembles (the reference study, eq. 1): the similarity of two ensembles is the mean of CKA over all
pairs ``(a_i, b_j)``, reported with the standard deviation over pairs; an ensemble compared with
itself skips the self-pairs ``(a_i, a_i)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import contextmanager
from itertools import product
from typing import Any, Literal

import numpy as np
import torch

Kernel = Literal["linear", "rbf"]
ArrayLike = torch.Tensor | np.ndarray

__all__ = [
    "capture_activations",
    "center_gram",
    "cka_from_grams",
    "cka_matrix",
    "collect_outputs",
    "ensemble_cka",
    "gram_linear",
    "gram_rbf",
    "layerwise_cka",
    "linear_cka",
    "pair_statistics",
    "rbf_cka",
]


def _as_matrix(x: ArrayLike, name: str) -> torch.Tensor:
    """A float64 CPU tensor ``[n, features]``; higher-rank inputs are flattened per row."""
    t = torch.as_tensor(x).detach().to("cpu", torch.float64)
    if t.dim() == 1:
        t = t[:, None]
    elif t.dim() > 2:
        t = t.reshape(t.shape[0], -1)
    if t.dim() != 2 or t.shape[0] < 2:
        raise ValueError(
            f"{name}: expected a matrix [n_examples >= 2, features], got {tuple(t.shape)}"
        )
    if not torch.isfinite(t).all():
        raise ValueError(f"{name}: contains NaN or infinite values")
    return t


def _check_rows(x: torch.Tensor, y: torch.Tensor) -> None:
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"X and Y must describe the same examples: X has {x.shape[0]} rows, Y has {y.shape[0]}"
        )


def gram_linear(x: ArrayLike) -> torch.Tensor:
    """Linear-kernel Gram matrix ``X X^T`` ``[n, n]`` (float64)."""
    x = _as_matrix(x, "X")
    return x @ x.T


def gram_rbf(x: ArrayLike, threshold: float = 0.5) -> torch.Tensor:
    """RBF-kernel Gram matrix ``[n, n]`` with ``sigma = threshold * median pairwise distance``."""
    if threshold <= 0:
        raise ValueError(f"threshold must be positive, got {threshold}")
    x = _as_matrix(x, "X")
    dot = x @ x.T
    sq_norms = torch.diagonal(dot)
    sq_dist = (sq_norms[:, None] + sq_norms[None, :] - 2 * dot).clamp_min_(0)
    # median of d^2 = (median of d)^2, so sigma^2 = threshold^2 * median(d^2)
    sq_median = torch.quantile(sq_dist.flatten(), 0.5) if sq_dist.numel() <= 16_000_000 else None
    if sq_median is None:  # torch.quantile refuses very large inputs
        sq_median = torch.from_numpy(np.asarray(np.median(sq_dist.numpy())))
    if sq_median <= 0:
        raise ValueError("X: the median pairwise distance is zero (most rows identical)")
    return torch.exp(-sq_dist / (2 * threshold**2 * sq_median))


def center_gram(gram: torch.Tensor, unbiased: bool = False) -> torch.Tensor:
    """Double-centre a symmetric Gram matrix (``H K H``); ``unbiased``: Song et al.'s U-form."""
    gram = gram.clone()
    n = gram.shape[0]
    if unbiased:
        if n < 4:
            raise ValueError(f"the unbiased estimator needs at least 4 examples, got {n}")
        # U-centering (Szekely & Rizzo 2014): zero diagonal, column means with n-2, overall with n-1
        gram.fill_diagonal_(0)
        means = gram.sum(0) / (n - 2)
        means = means - means.sum() / (2 * (n - 1))
        gram -= means[:, None]
        gram -= means[None, :]
        gram.fill_diagonal_(0)
    else:
        means = gram.mean(0)
        means = means - means.mean() / 2
        gram -= means[:, None]
        gram -= means[None, :]
    return gram


def cka_from_grams(gram_x: torch.Tensor, gram_y: torch.Tensor, debiased: bool = False) -> float:
    """CKA of two ``[n, n]`` Gram matrices of the same examples."""
    if gram_x.shape != gram_y.shape or gram_x.shape[0] != gram_x.shape[1]:
        raise ValueError(
            f"Gram matrices must be square and equal in shape: {gram_x.shape}, {gram_y.shape}"
        )
    kx = center_gram(gram_x.to(torch.float64), unbiased=debiased)
    ky = center_gram(gram_y.to(torch.float64), unbiased=debiased)
    return _cka_centered(kx, ky)


def _cka_centered(kx: torch.Tensor, ky: torch.Tensor) -> float:
    hsic_xy = (kx * ky).sum()
    norm = torch.sqrt((kx * kx).sum() * (ky * ky).sum())
    if norm <= 0:
        raise ValueError(
            "a representation is constant over the examples (zero centred Gram matrix)"
        )
    return float(hsic_xy / norm)


def linear_cka(x: ArrayLike, y: ArrayLike, debiased: bool = False) -> float:
    """Linear CKA between ``X [n, p]`` and ``Y [n, q]`` (rows: the same ``n`` examples).

    Biased estimator by default, computed in feature space as
    ``|Y_c^T X_c|_F^2 / (|X_c^T X_c|_F |Y_c^T Y_c|_F)`` with column-centred ``X_c, Y_c`` (equal to
    the Gram-matrix form, without the ``n x n`` matrices).
    """
    x, y = _as_matrix(x, "X"), _as_matrix(y, "Y")
    _check_rows(x, y)
    if debiased:
        return cka_from_grams(x @ x.T, y @ y.T, debiased=True)
    x = x - x.mean(0)
    y = y - y.mean(0)
    cross = torch.linalg.matrix_norm(y.T @ x) ** 2
    norm = torch.linalg.matrix_norm(x.T @ x) * torch.linalg.matrix_norm(y.T @ y)
    if norm <= 0:
        raise ValueError("a representation is constant over the examples")
    return float(cross / norm)


def rbf_cka(x: ArrayLike, y: ArrayLike, threshold: float = 0.5, debiased: bool = False) -> float:
    """RBF-kernel CKA; ``sigma = threshold * median pairwise distance``, per input separately."""
    x, y = _as_matrix(x, "X"), _as_matrix(y, "Y")
    _check_rows(x, y)
    return cka_from_grams(gram_rbf(x, threshold), gram_rbf(y, threshold), debiased=debiased)


def _cka_function(kernel: str, threshold: float, debiased: bool) -> Callable[[Any, Any], float]:
    if kernel == "linear":
        return lambda a, b: linear_cka(a, b, debiased=debiased)
    if kernel == "rbf":
        return lambda a, b: rbf_cka(a, b, threshold=threshold, debiased=debiased)
    raise ValueError(f"unknown kernel {kernel!r}: expected 'linear' or 'rbf'")


def cka_matrix(
    latents_a: Sequence[ArrayLike],
    latents_b: Sequence[ArrayLike] | None = None,
    kernel: Kernel = "linear",
    threshold: float = 0.5,
    debiased: bool = False,
) -> np.ndarray:
    """``[len(a), len(b)]``: CKA of every pair of models ``(a_i, b_j)``, each pair computed once.

    ``latents_a[i]`` is model ``a_i``'s representation of the same events (``[n, d]``) as every
    entry of ``latents_b``. With ``latents_b`` None (or the same list object) the ensemble is
    compared with itself: CKA is symmetric, so only ``i <= j`` is computed and mirrored.
    """
    same = latents_b is None or latents_b is latents_a
    if not latents_a or (not same and not latents_b):
        raise ValueError("CKA between ensembles needs at least one model in each")
    if kernel == "rbf":
        # each model's centred, normalised Gram matrix once, instead of once per pair
        def prep(z: ArrayLike) -> torch.Tensor:
            kc = center_gram(gram_rbf(z, threshold), unbiased=debiased)
            return kc / torch.linalg.matrix_norm(kc)

        ga = [prep(z) for z in latents_a]
        gb = ga if same else [prep(z) for z in latents_b]
        for g in gb:
            if g.shape != ga[0].shape:
                raise ValueError("all models must be evaluated on the same events")

        def score(i: int, j: int) -> float:
            return float((ga[i] * gb[j]).sum())
    else:
        fn = _cka_function(kernel, threshold, debiased)
        lb = latents_a if same else latents_b

        def score(i: int, j: int) -> float:
            return fn(latents_a[i], lb[j])

    n_b = len(latents_a) if same else len(latents_b)
    matrix = np.full((len(latents_a), n_b), np.nan)
    for i, j in product(range(len(latents_a)), range(n_b)):
        if not same or i <= j:
            matrix[i, j] = score(i, j)
            if same:
                matrix[j, i] = matrix[i, j]
    return matrix


def pair_statistics(matrix: np.ndarray, same: bool) -> tuple[float, float]:
    """Mean and population standard deviation (``ddof=0``) over the model pairs of a
    :func:`cka_matrix`: every entry, or for an ensemble against itself the pairs ``i < j``."""
    if same:
        if len(matrix) < 2:
            raise ValueError("comparing an ensemble with itself needs at least two models")
        values = matrix[np.triu_indices(len(matrix), k=1)]
    else:
        values = matrix.ravel()
    return float(values.mean()), float(values.std())


def ensemble_cka(
    latents_a: Sequence[ArrayLike],
    latents_b: Sequence[ArrayLike] | None = None,
    kernel: Kernel = "linear",
    threshold: float = 0.5,
    debiased: bool = False,
) -> tuple[float, float]:
    """Mean and standard deviation of CKA over all model pairs of two ensembles (paper, eq. 1);
    an ensemble against itself (``latents_b`` None or the same list) over the pairs ``i < j``."""
    same = latents_b is None or latents_b is latents_a
    matrix = cka_matrix(latents_a, latents_b, kernel, threshold, debiased)
    return pair_statistics(matrix, same)


def layerwise_cka(
    acts_a: Mapping[str, ArrayLike],
    acts_b: Mapping[str, ArrayLike],
    kernel: Kernel = "linear",
    threshold: float = 0.5,
    max_rows: int | None = 4000,
    seed: int = 0,
) -> np.ndarray:
    """CKA between every layer of model A (rows) and every layer of model B (columns).

    Activations are ``[n, ...]`` (flattened per row). Layers whose row counts differ (for example a
    per-node layer against a per-event one) have no common examples: their entry is NaN. For the RBF
    kernel, layers with more than ``max_rows`` rows are compared on a random subset of rows (the
    same subset for both, drawn with ``seed``), because the Gram matrix is ``n x n``.
    """
    fn = _cka_function(kernel, threshold, False)
    names_a, names_b = list(acts_a), list(acts_b)
    out = np.full((len(names_a), len(names_b)), np.nan)
    gen = torch.Generator().manual_seed(seed)
    subsets: dict[int, torch.Tensor] = {}
    for i, j in product(range(len(names_a)), range(len(names_b))):
        a, b = torch.as_tensor(acts_a[names_a[i]]), torch.as_tensor(acts_b[names_b[j]])
        n = a.shape[0]
        if n != b.shape[0]:
            continue
        if kernel == "rbf" and max_rows is not None and n > max_rows:
            if n not in subsets:
                subsets[n] = torch.randperm(n, generator=gen)[:max_rows]
            a, b = a[subsets[n]], b[subsets[n]]
        out[i, j] = fn(a, b)
    return out


def _tensor_outputs(name: str, output: Any) -> dict[str, torch.Tensor]:
    if isinstance(output, torch.Tensor):
        return {name: output}
    if isinstance(output, tuple | list):
        return {f"{name}[{k}]": o for k, o in enumerate(output) if isinstance(o, torch.Tensor)}
    return {}


@contextmanager
def _hooks(model: torch.nn.Module, names: Sequence[str], store: dict[str, list[torch.Tensor]]):
    modules = dict(model.named_modules())
    missing = [n for n in names if n not in modules]
    if missing:
        raise KeyError(f"no module(s) named {missing} in {type(model).__name__}")
    calls: dict[str, int] = {}
    handles = []

    def make_hook(name: str):
        def hook(_module, _inputs, output):
            # a block iterated with shared weights fires once per iteration: keep each call
            k = calls.get(name, 0)
            calls[name] = k + 1
            key = name if k == 0 else f"{name}#{k}"
            for key2, t in _tensor_outputs(key, output).items():
                store.setdefault(key2, []).append(t.detach().to("cpu"))

        return hook

    for n in names:
        handles.append(modules[n].register_forward_hook(make_hook(n)))
    try:
        yield calls
    finally:
        for h in handles:
            h.remove()


def capture_activations(
    model: torch.nn.Module,
    batches: Iterable[Any],
    forward: Callable[[torch.nn.Module, Any], Any] | None = None,
    modules: Sequence[str] | None = None,
) -> dict[str, torch.Tensor]:
    """Outputs of named sub-modules of ``model`` over ``batches``, concatenated along dim 0.

    ``forward(model, batch)`` runs the model on one batch (default ``model(batch)``); ``modules``
    names the sub-modules (``model.named_modules()`` names; default: every direct child). A module
    called several times per forward (a block iterated with shared weights) gives one entry per
    call, ``name``, ``name#1``, ``name#2`` ...; a tuple output gives ``name[0]``, ``name[1]`` ...
    Runs in eval mode without gradients and restores the training flag afterwards.
    """
    forward = forward or (lambda m, b: m(b))
    if modules is None:
        modules = [n for n, _ in model.named_children()]
    store: dict[str, list[torch.Tensor]] = {}
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), _hooks(model, modules, store) as calls:
            for batch in batches:
                calls.clear()
                forward(model, batch)
    finally:
        model.train(was_training)
    return {k: torch.cat(v, 0) for k, v in store.items()}


def collect_outputs(fn: Callable[[Any], torch.Tensor], batches: Iterable[Any]) -> torch.Tensor:
    """``fn(batch)`` over ``batches`` without gradients, concatenated on the CPU (for latents)."""
    with torch.no_grad():
        parts = [fn(b).detach().to("cpu") for b in batches]
    if not parts:
        raise ValueError("no batches given")
    return torch.cat(parts, 0)
