"""VEGAS importance sampling on the unit hypercube (Lepage, J. Comput. Phys. 27 (1978) 192).

One piecewise-linear map per dimension with ``n_bins`` bins of equal probability; after each
iteration the bin edges move so that every bin holds an equal share of the integrand's
``sum f^2`` (smoothed and damped with exponent ``alpha``, as in Lepage's original). Estimates of
the iterations after the warm-up are combined weighted by their inverse variances.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Estimate:
    """An integral with its Monte Carlo standard error and the per-iteration results."""

    value: float
    error: float
    iterations: tuple[tuple[float, float], ...]
    chi2_per_dof: float

    def __str__(self) -> str:
        return f"{self.value:.6g} +- {self.error:.2g}"


class Vegas:
    """A VEGAS grid in ``dim`` dimensions.

    Args:
        dim: number of dimensions.
        n_bins: bins per dimension.
        alpha: damping exponent of the grid refinement (0: no adaptation).
    """

    def __init__(self, dim: int, n_bins: int = 64, alpha: float = 1.5):
        self.dim, self.n_bins, self.alpha = dim, n_bins, alpha
        self.edges = np.tile(np.linspace(0.0, 1.0, n_bins + 1), (dim, 1))  # [dim, n_bins + 1]

    def sample(self, n: int, rng: np.random.Generator):
        """``n`` points: ``(x, jacobian, bins)``, ``x`` ``[n, dim]`` in the unit hypercube with
        density ``1 / jacobian``, ``bins`` ``[n, dim]`` the grid bin of each coordinate."""
        y = rng.random((n, self.dim)) * self.n_bins
        bins = np.minimum(y.astype(int), self.n_bins - 1)
        frac = y - bins
        rows = np.arange(self.dim)[None, :]
        left = self.edges[rows, bins]
        width = self.edges[rows, bins + 1] - left
        return left + frac * width, np.prod(width * self.n_bins, axis=1), bins

    def refine(self, bins, values) -> None:
        """Move the bin edges towards equal ``sum f^2`` per bin (``values`` = ``f x jacobian``)."""
        if self.alpha <= 0:
            return
        f2 = values * values
        for d in range(self.dim):
            acc = np.bincount(bins[:, d], weights=f2, minlength=self.n_bins)
            if acc.sum() <= 0:
                continue
            # smooth with the neighbours, then Lepage's compression
            smooth = acc.copy()
            smooth[1:-1] = (acc[:-2] + acc[1:-1] + acc[2:]) / 3
            smooth[0], smooth[-1] = (acc[0] + acc[1]) / 2, (acc[-2] + acc[-1]) / 2
            r = smooth / smooth.sum()
            with np.errstate(divide="ignore", invalid="ignore"):
                weight = np.where(r > 0, ((r - 1) / np.log(r)) ** self.alpha, 0.0)
            weight = np.where(r >= 1 - 1e-15, 1.0, weight)
            if weight.sum() <= 0:
                continue
            # new edges: equal shares of the cumulative weight, linear inside old bins
            cum = np.concatenate([[0.0], np.cumsum(weight)])
            targets = np.linspace(0.0, cum[-1], self.n_bins + 1)
            self.edges[d] = np.interp(targets, cum, self.edges[d])
            self.edges[d, 0], self.edges[d, -1] = 0.0, 1.0

    def integrate(
        self,
        f: Callable[[np.ndarray], np.ndarray],
        n_points: int,
        iterations: int = 6,
        warmup: int = 3,
        rng: np.random.Generator | None = None,
        batch: int = 20000,
    ) -> Estimate:
        """Integrate ``f`` (``[n, dim] -> [n]``) over the unit hypercube: ``warmup`` adapting
        iterations (discarded), then ``iterations`` that adapt and are combined."""
        rng = rng or np.random.default_rng()
        results = []
        for it in range(warmup + iterations):
            values, all_bins = [], []
            for start in range(0, n_points, batch):
                x, jac, bins = self.sample(min(batch, n_points - start), rng)
                values.append(f(x) * jac)
                all_bins.append(bins)
            values, all_bins = np.concatenate(values), np.concatenate(all_bins)
            if it >= warmup:
                results.append((values.mean(), values.std(ddof=1) / np.sqrt(len(values))))
            self.refine(all_bins, values)
        means, errors = np.array(results).T
        inv = 1.0 / np.maximum(errors, 1e-300) ** 2
        value = float(np.sum(means * inv) / np.sum(inv))
        chi2 = float(np.sum((means - value) ** 2 * inv) / max(len(means) - 1, 1))
        return Estimate(value, float(np.sqrt(1.0 / np.sum(inv))), tuple(results), chi2)
