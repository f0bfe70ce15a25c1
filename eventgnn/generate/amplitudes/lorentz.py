"""Four-vectors and Dirac matrices, the conventions of the whole engine in one place.

- Four-momenta are ``[..., 4]`` float arrays ``(E, px, py, pz)`` in GeV; the metric is
  ``(+, -, -, -)``; polarisation vectors and currents carry an upper index (``eps^mu``).
- Dirac matrices are in the chiral (Weyl) representation used by HELAS and ALOHA:
  ``gamma^0 = [[0, 1], [1, 0]]``, ``gamma^k = [[0, sigma^k], [-sigma^k, 0]]``,
  ``gamma5 = diag(-1, -1, 1, 1)``, so ``P_L = (1 - gamma5) / 2`` keeps the upper two components.
"""

from __future__ import annotations

import numpy as np

from .errors import AmplitudeError

METRIC = np.array([1.0, -1.0, -1.0, -1.0])
"""The diagonal of ``g_{mu nu}``."""

_I2 = np.eye(2, dtype=complex)
_Z2 = np.zeros((2, 2), dtype=complex)
PAULI = (
    np.array([[0, 1], [1, 0]], dtype=complex),
    np.array([[0, -1j], [1j, 0]], dtype=complex),
    np.array([[1, 0], [0, -1]], dtype=complex),
)
GAMMA = np.stack(
    [np.block([[_Z2, _I2], [_I2, _Z2]])] + [np.block([[_Z2, s], [-s, _Z2]]) for s in PAULI]
)
"""``gamma^mu`` (chiral representation), shape ``[4 (mu), 4, 4]``."""
GAMMA5 = np.diag([-1.0, -1.0, 1.0, 1.0]).astype(complex)
IDENTITY = np.eye(4, dtype=complex)
P_LEFT = np.diag([1.0, 1.0, 0.0, 0.0]).astype(complex)
P_RIGHT = np.diag([0.0, 0.0, 1.0, 1.0]).astype(complex)

_GAMMA_LOWER_FLAT = (GAMMA * METRIC[:, None, None]).reshape(4, 16)


def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Minkowski product ``a.b`` of ``[..., 4]`` arrays (real or complex, no conjugation)."""
    return (
        a[..., 0] * b[..., 0]
        - a[..., 1] * b[..., 1]
        - a[..., 2] * b[..., 2]
        - a[..., 3] * b[..., 3]
    )


def mass(p: np.ndarray) -> np.ndarray:
    """``sqrt(p.p)`` of ``[..., 4]`` momenta (0 where ``p.p`` rounds below zero)."""
    return np.sqrt(np.maximum(dot(p, p), 0.0))


def slash(a: np.ndarray) -> np.ndarray:
    """``a_mu gamma^mu`` for ``[..., 4]`` vectors (real or complex): ``[..., 4, 4]``."""
    return (a @ _GAMMA_LOWER_FLAT).reshape(a.shape[:-1] + (4, 4))


def chiral(c_left, c_right) -> np.ndarray:
    """``c_L P_L + c_R P_R`` as ``[..., 4, 4]`` (couplings are scalars or ``[...]`` arrays)."""
    c_left, c_right = np.asarray(c_left), np.asarray(c_right)
    return c_left[..., None, None] * P_LEFT + c_right[..., None, None] * P_RIGHT


def common_mass(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pythia's map of a pair with different (Breit-Wigner) masses to a common mass.

    ``m^2 = (s_a + s_b) / 2 - (s_a - s_b)^2 / (4 s)`` with ``s = (p_a + p_b)^2``; ``p_a' = p_a +
    e P``, ``p_b' = p_b - e P`` with ``P = p_a + p_b`` and ``e = (s_b - s_a) / (2 s)`` keep the pair
    momentum (Pythia's ``Sigma3gg2HQQbar::sigmaKin``; for 2 -> 2 it gives the same ``t - m^2`` as
    ``Sigma2gg2QQbar``). Returns ``(p_a', p_b', m)``.
    """
    sa, sb = dot(a, a), dot(b, b)
    pair = a + b
    s = dot(pair, pair)
    m2 = 0.5 * (sa + sb) - 0.25 * (sa - sb) ** 2 / s
    eps = (0.5 * (sb - sa) / s)[..., None]
    return a + eps * pair, b - eps * pair, np.sqrt(m2)


def as_momenta(**named) -> list[np.ndarray]:
    """The named arrays as float64 ``[..., 4]`` four-momenta, broadcast to one shape; an
    :class:`~.errors.AmplitudeError` names the first that is not one."""
    out = []
    for name, p in named.items():
        p = np.asarray(p, dtype=np.float64)
        if p.shape[-1:] != (4,):
            raise AmplitudeError(f"{name}: expected four-momenta of shape [..., 4], got {p.shape}")
        out.append(p)
    try:
        return list(np.broadcast_arrays(*out))
    except ValueError as err:
        shapes = {k: np.shape(v) for k, v in named.items()}
        raise AmplitudeError(f"four-momenta of different shapes: {shapes}") from err
