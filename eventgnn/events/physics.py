"""Kinematic helpers with physics names, one place each.

Each works on numpy arrays, awkward arrays and torch tensors alike (only operators that all three
share are used), so readers, graph builders and the model call the same code; ``pt_eta_phi``
(numpy ufuncs) works on numpy and awkward arrays.
"""

from __future__ import annotations

import math

import numpy as np

TWO_PI = 2.0 * math.pi


def wrap_phi(phi):
    """Wrap an angle into [-pi, pi)."""
    return (phi + math.pi) % TWO_PI - math.pi


def delta_phi(phi1, phi2):
    """``phi1 - phi2`` wrapped into [-pi, pi)."""
    return wrap_phi(phi1 - phi2)


def delta_r(eta1, phi1, eta2, phi2):
    """Angular distance ``sqrt(Delta eta^2 + Delta phi^2)``."""
    deta = eta1 - eta2
    dphi = delta_phi(phi1, phi2)
    return (deta * deta + dphi * dphi) ** 0.5


def massless_energy(pt, eta):
    """Energy of a massless object: ``pT cosh(eta)``."""
    return pt * np.cosh(eta)


BEAM_ETA = 1e3
"""Pseudorapidity given to momenta along the beam (pT = 0), with the sign of pz."""


def pt_eta_phi(px, py, pz):
    """Transverse momentum, pseudorapidity and azimuth of momenta ``(px, py, pz)``.

    A momentum along the beam (pT = 0, for example Pythia's beam and system entries) has no
    finite pseudorapidity; it gets ``+-BEAM_ETA`` by the sign of pz instead of inf or NaN.
    """
    pt = np.hypot(px, py)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.arcsinh(pz / pt)
    eta = np.where(pt > 0, eta, np.where(pz >= 0, BEAM_ETA, -BEAM_ETA))
    return pt, eta, np.arctan2(py, px)
