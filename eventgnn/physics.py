"""Kinematic helpers with physics names, one place each.

Each works on numpy arrays, awkward arrays and torch tensors alike (only operators that all three
share are used), so readers, graph builders and the model call the same code.
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
