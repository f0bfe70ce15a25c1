"""Massive n-body phase space from the unit hypercube, vectorised over points.

Sequential two-body splittings: the system of invariant mass ``M_0 = sqrt(s)`` emits particle
0 and a remainder of mass ``M_1``, which emits particle 1 and ``M_2``, ..., until ``M_{n-2}``
decays into particles ``n-2`` and ``n-1``, each two-body decay isotropic in the remainder's rest
frame. With the recursion ``dPhi_n(P) = dPhi_2(P; p_0, Q) dQ^2 / (2 pi) dPhi_{n-1}(Q)`` and
``dPhi_2 = |p| / (16 pi^2 M) dOmega``, the weight of a point is

    prod_k (M_k,max^2 - M_k,min^2) / (2 pi)  x  prod_k |p_k| / (4 pi M_k)

for ``M_k^2`` uniform in its range and ``cos theta``, ``phi`` uniform. Normalisation:
``dPhi_n = (2 pi)^4 delta^4(P - sum p) prod d^3p / ((2 pi)^3 2E)`` (PDG), so ``Phi_2`` of two
massless particles is ``1 / (8 pi)``. An importance sampler (VEGAS) on top reshapes the uniform
variables; these mappings only make every point physical.
"""

from __future__ import annotations

import numpy as np


def dimensions(n_final: int) -> int:
    """Hypercube dimensions for ``n_final`` particles: ``n - 2`` masses, ``2 (n - 1)`` angles."""
    return 3 * n_final - 4


def kallen(a, b, c):
    """The Kallen function ``lambda(a, b, c) = a^2 + b^2 + c^2 - 2ab - 2bc - 2ca``."""
    return a * a + b * b + c * c - 2 * (a * b + b * c + c * a)


def boost(p, frame):
    """Boost ``p`` ``[N, 4]`` from the rest frame of ``frame`` ``[N, 4]`` into the frame where
    ``frame`` has its momentum."""
    mass = np.sqrt(np.maximum(frame[:, 0] ** 2 - np.sum(frame[:, 1:] ** 2, axis=1), 0.0))
    beta = frame[:, 1:] / frame[:, :1]
    gamma = frame[:, 0] / mass
    bp = np.sum(beta * p[:, 1:], axis=1)
    b2 = np.sum(beta * beta, axis=1)
    coef = np.where(b2 > 0, (gamma - 1) / np.where(b2 > 0, b2, 1.0), 0.0)
    space = p[:, 1:] + (coef * bp + gamma * p[:, 0])[:, None] * beta
    return np.concatenate([(gamma * (p[:, 0] + bp))[:, None], space], axis=1)


def _two_body(frame, mass, m1, m2, u_cos, u_phi):
    """Decay ``frame`` (invariant mass ``mass``) into ``m1``, ``m2`` with ``cos theta = 2 u - 1``,
    ``phi = 2 pi u`` in its rest frame; returns both momenta in the frame of ``frame`` and
    ``|p|``."""
    p = np.sqrt(np.maximum(kallen(mass**2, m1**2, m2**2), 0.0)) / (2 * mass)
    cos = 2 * u_cos - 1
    sin = np.sqrt(np.maximum(1 - cos * cos, 0.0))
    phi = 2 * np.pi * u_phi
    n = np.stack([sin * np.cos(phi), sin * np.sin(phi), cos], axis=1) * p[:, None]
    one = np.concatenate([np.sqrt(p * p + m1 * m1)[:, None], n], axis=1)
    two = np.concatenate([np.sqrt(p * p + m2 * m2)[:, None], -n], axis=1)
    return boost(one, frame), boost(two, frame), p


def generate(total, masses, u):
    """Final-state momenta and phase-space weights.

    Args:
        total: ``[N, 4]`` the system's four-momentum (e.g. the two incoming partons').
        masses: the ``n >= 2`` final-state masses (GeV).
        u: ``[N, 3 n - 4]`` points in the unit hypercube (:func:`dimensions`): first the
            ``n - 2`` remainder masses, then ``(cos, phi)`` per splitting.

    Returns:
        ``(momenta, weight)``: ``momenta`` ``[n, N, 4]`` in the frame of ``total``, ``weight``
        ``[N]`` the phase-space density ``dPhi_n / d^d u`` (GeV^(2n - 4)); zero where the system is
        below threshold.
    """
    masses = [float(m) for m in masses]
    n = len(masses)
    if n < 2 or u.shape[1] != dimensions(n):
        raise ValueError(f"phase space: {n} masses need {dimensions(n)} variables, got {u.shape}")
    root = np.sqrt(np.maximum(total[:, 0] ** 2 - np.sum(total[:, 1:] ** 2, axis=1), 0.0))
    alive = root > sum(masses)
    root = np.where(alive, root, sum(masses) + 1.0)  # dummy kinematics, weight set to zero
    weight = np.ones(len(root))
    frame, mass, out = total, root, []
    for k in range(n - 1):
        if k < n - 2:
            below = sum(masses[k + 1 :])
            hi2, lo2 = (mass - masses[k]) ** 2, below**2
            rest = np.sqrt(lo2 + u[:, k] * (hi2 - lo2))
            weight = weight * (hi2 - lo2) / (2 * np.pi)
            m2 = rest
        else:
            m2 = masses[k + 1]
        angles = n - 2 + 2 * k
        p_k, frame_next, p = _two_body(frame, mass, masses[k], m2, u[:, angles], u[:, angles + 1])
        weight = weight * p / (4 * np.pi * mass)
        out.append(p_k)
        frame, mass = frame_next, m2 if k < n - 2 else None
    out.append(frame)
    return np.stack(out), np.where(alive, weight, 0.0)


def massless_volume(n: int, s: float) -> float:
    """Closed form of the massless n-body phase space:
    ``(2 pi)^(4 - 3n) (pi / 2)^(n - 1) s^(n - 2) / ((n - 1)! (n - 2)!)``."""
    from math import factorial, pi

    return (
        (2 * pi) ** (4 - 3 * n)
        * (pi / 2) ** (n - 1)
        * s ** (n - 2)
        / (factorial(n - 1) * factorial(n - 2))
    )


def two_body_volume(s: float, m1: float, m2: float) -> float:
    """``Phi_2 = sqrt(lambda(s, m1^2, m2^2)) / (8 pi s)``."""
    return float(np.sqrt(kallen(s, m1 * m1, m2 * m2)) / (8 * np.pi * s))
