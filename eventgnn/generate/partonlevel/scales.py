"""Factorisation and renormalisation scales, each a function of the final-state momenta
``[n, N, 4]`` returning ``mu^2`` ``[N]`` (GeV^2).

- :func:`half_transverse_mass_sum`: ``mu = H_T / 2 = sum_i sqrt(m_i^2 + pT_i^2) / 2``, the
  choice of the MadGraph5_aMC@NLO paper's LO/NLO tables (arXiv:1405.0301, section 4.1) used for
  comparisons with published values here. MadGraph's own LO default
  (``dynamical_scale_choice = -1``) is different: the transverse mass of the 2 -> 2 system left
  after k_T clustering of the final state (for a heavy-pair-plus-X final state in general not
  H_T / 2); it is not reproduced here.
- :func:`transverse_mass_geometric_mean`: ``mu^2 = (prod_i m_T,i)^(2/n)``; for 2 -> 2 it is
  Pythia's default ``SigmaProcess:renormScale2 = 2`` and, with two equal masses, also its
  ``factorScale2 = 1`` (the smaller ``m_T^2``).
- :func:`two_smallest_transverse_mass_mean`: ``mu^2 = sqrt(m_T,a^2 m_T,b^2)`` of the two
  smallest; Pythia's 2 -> 3 default factorisation scale (``SigmaProcess:factorScale3 = 2``), where
  its renormalisation scale is :func:`transverse_mass_geometric_mean` (``renormScale3 = 3``).
- :func:`fixed_scale`: a constant ``mu``.
"""

from __future__ import annotations

import numpy as np


def transverse_masses_squared(final) -> np.ndarray:
    """``m_T^2 = E^2 - p_z^2`` per particle, ``[n, N]``."""
    return np.maximum(final[..., 0] ** 2 - final[..., 3] ** 2, 0.0)


def half_transverse_mass_sum(final) -> np.ndarray:
    return (0.5 * np.sum(np.sqrt(transverse_masses_squared(final)), axis=0)) ** 2


def transverse_mass_geometric_mean(final) -> np.ndarray:
    return np.exp(np.mean(np.log(transverse_masses_squared(final)), axis=0))


def two_smallest_transverse_mass_mean(final) -> np.ndarray:
    mt2 = np.sort(transverse_masses_squared(final), axis=0)
    return np.sqrt(mt2[0] * mt2[1])


def fixed_scale(mu: float):
    """A constant scale ``mu`` (GeV)."""
    if not mu > 0:
        raise ValueError(f"scale: mu must be positive, got {mu}")

    def scale(final):
        return np.full(final.shape[1], float(mu) ** 2)

    scale.__name__ = f"fixed_{mu:g}"
    return scale
