"""Tree-level g g -> t tbar phi and q qbar -> t tbar phi with a CP-mixed top Yukawa coupling.

The interaction is ``L = -(y_t / sqrt 2) tbar (cos a + i sin a gamma5) t phi``: ``a = 0`` is the
Standard Model Higgs, ``a = 90`` degrees a pure pseudoscalar with the same coupling strength. The
squared amplitudes are summed over the final and averaged over the initial spins and colours, and
computed for many phase-space points at once with explicit 4x4 Dirac matrices (``numpy.einsum``
and batched ``matmul``; no Python loop over events):

- g g: the eight Feynman diagrams (the Higgs on any of the three places of the top line for both
  gluon orderings, and the two with a triple-gluon vertex), split into the two colour-ordered
  amplitudes of ``(T^a T^b)_ij`` and ``(T^b T^a)_ij``, contracted with the colour matrix
  ``[[16/3, -2/3], [-2/3, 16/3]]``; the gluons' physical (transverse) polarisations are summed
  explicitly, so no ghosts are needed.
- q qbar: the two diagrams of the s-channel gluon; the light-quark current is summed into its
  tensor ``4 (k1^r k2^s + k2^r k1^s - g^rs k1.k2)``.

Since the amplitude is linear in the coupling, ``|M_a|^2 = cos^2 a E + sin^2 a O + 2 sin a cos a
X``, with ``E`` (CP-even, the SM), ``O`` (CP-odd) and ``X`` (interference) returned by
:func:`squared_amplitude_terms`. ``X`` vanishes at every phase-space point (tested): the
interference is odd under CP and the only candidate structure, ``epsilon(k1, k2, p_t, p_tbar)``, is
odd under naive time reversal, which a tree amplitude without absorptive parts cannot produce.

Conventions: four-momenta are ``[..., 4]`` arrays ``(E, px, py, pz)`` in GeV, metric ``(+, -, -,
-)``; ``k1``, ``k2`` are the incoming partons (for q qbar: ``k1`` the quark), ``top``,
``antitop``, ``higgs`` the outgoing particles. Vertices as in Peskin & Schroeder (quark-gluon
``i g_s gamma^mu T^a``, three-gluon ``g_s f^abc [...]`` with all momenta incoming). Returned
values are in units of ``g_s^4 y_t^2 / 2`` (multiply by ``(4 pi alpha_s)^2 y_t^2 / 2`` for the
physical ``|M|^2``; :func:`squared_amplitude` does). Pythia 8 generates top quarks with
Breit-Wigner masses; :func:`common_mass` applies Pythia's own map to a common mass (its
``Sigma3gg2HQQbar``), so the SM result equals Pythia's matrix element point by point (tested to
1e-8).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

# the Minkowski product and Pythia's common-mass map, shared with the amplitude engine
from .amplitudes.lorentz import common_mass as common_mass
from .amplitudes.lorentz import dot

METRIC = np.array([1.0, -1.0, -1.0, -1.0])

_I2 = np.eye(2)
_Z2 = np.zeros((2, 2))
_PAULI = (
    np.array([[0, 1], [1, 0]], dtype=complex),
    np.array([[0, -1j], [1j, 0]], dtype=complex),
    np.array([[1, 0], [0, -1]], dtype=complex),
)
GAMMA = np.stack(
    [np.block([[_I2, _Z2], [_Z2, -_I2]]).astype(complex)]
    + [np.block([[_Z2, s], [-s, _Z2]]) for s in _PAULI]
)
"""Dirac matrices ``gamma^mu`` (Dirac representation), shape ``[4 (mu), 4, 4]``."""
GAMMA5 = 1j * GAMMA[0] @ GAMMA[1] @ GAMMA[2] @ GAMMA[3]
IDENTITY = np.eye(4, dtype=complex)

GG_COLOUR = np.array([[16.0, -2.0], [-2.0, 16.0]]) / 3.0
"""Colour sums of the g g structures ``T^a T^b``, ``T^b T^a`` (``sum |T^a T^b|^2 = 16/3``)."""
GG_AVERAGE = 1.0 / (4 * 64)
"""Average over the incoming gluons' spins (2 x 2) and colours (8 x 8)."""
QQ_COLOUR = 2.0
"""``sum_colours |T^c_ji T^c_kl|^2 = Tr(T^c T^d) Tr(T^c T^d) = 2``."""
QQ_AVERAGE = 1.0 / (4 * 9)
"""Average over the incoming quarks' spins (2 x 2) and colours (3 x 3)."""

CHANNELS = ("gg", "qqbar")


class YukawaTerms(NamedTuple):
    """``|M_a|^2 = cos^2 a * even + sin^2 a * odd + 2 sin a cos a * interference``."""

    even: np.ndarray
    odd: np.ndarray
    interference: np.ndarray

    def at(self, angle: float | np.ndarray) -> np.ndarray:
        """``|M_a|^2`` at the mixing angle ``angle`` (radians)."""
        c, s = np.cos(angle), np.sin(angle)
        return c * c * self.even + s * s * self.odd + 2 * s * c * self.interference


_GAMMA_LOWER_FLAT = (GAMMA * METRIC[:, None, None]).reshape(4, 16)


def slash(a: np.ndarray) -> np.ndarray:
    """``a_mu gamma^mu`` for ``[..., 4]`` vectors (real or complex): ``[..., 4, 4]``."""
    return (a @ _GAMMA_LOWER_FLAT).reshape(a.shape[:-1] + (4, 4))


def _bar(m: np.ndarray) -> np.ndarray:
    """Dirac adjoint of a matrix: ``gamma^0 M^dagger gamma^0``."""
    return GAMMA[0] @ np.conj(np.swapaxes(m, -1, -2)) @ GAMMA[0]


def _propagator(p: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Top propagator without its ``i``: ``(pslash + m) / (p^2 - m^2)``."""
    num = slash(p) + m[..., None, None] * IDENTITY
    return num / (dot(p, p) - m * m)[..., None, None]


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a x b`` for ``[..., 3]`` arrays (``numpy.cross`` costs more for small batches)."""
    ax, ay, az = a[..., 0], a[..., 1], a[..., 2]
    bx, by, bz = b[..., 0], b[..., 1], b[..., 2]
    return np.stack([ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx], axis=-1)


def transverse_polarisations(k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two real, orthonormal polarisation vectors ``(0, e)`` with ``e`` perpendicular to ``k``."""
    khat = k[..., 1:] / np.sqrt(np.sum(k[..., 1:] ** 2, axis=-1, keepdims=True))
    # any reference axis not along k: x unless k points (nearly) along x
    ref = np.where(np.abs(khat[..., :1]) < 0.9, [1.0, 0.0, 0.0], [0.0, 1.0, 0.0])
    e1 = _cross(khat, ref)
    e1 /= np.sqrt(np.sum(e1**2, axis=-1, keepdims=True))
    e2 = _cross(khat, e1)
    zero = np.zeros(k.shape[:-1] + (1,))
    return np.concatenate([zero, e1], axis=-1), np.concatenate([zero, e2], axis=-1)


YUKAWA_VERTICES = np.stack([IDENTITY, 1j * GAMMA5])
"""The CP-even (``1``) and CP-odd (``i gamma5``) Yukawa vertices, ``[2, 4, 4]``."""


def gg_colour_amplitudes(k1, k2, top, antitop, higgs, m, eps1, eps2, vertex) -> tuple:
    """The two colour-ordered g g amplitudes as Dirac matrices between ``ubar(top)`` and
    ``v(antitop)``: ``M = (T^a T^b) A1 + (T^b T^a) A2`` (common factor ``-i g_s^2 y / sqrt 2``).

    ``eps1``, ``eps2`` are the gluons' polarisation vectors (any vectors: replacing ``eps1`` by
    ``k1`` tests gauge invariance); ``vertex`` the 4x4 Yukawa vertex. Every argument broadcasts
    against the others (momenta ``[..., 4]``, ``m`` ``[...]``, ``vertex`` ``[..., 4, 4]``);
    returns two ``[..., 4, 4]`` arrays.
    """
    g1, g2, h = slash(eps1), slash(eps2), vertex

    def line(first, mom1, second, mom2, third):
        # ubar(top) first S(top - q1) second S(top - q1 - q2) third v(antitop); q = momentum in
        p_a = top - mom1
        return first @ _propagator(p_a, m) @ second @ _propagator(p_a - mom2, m) @ third

    out_h = -higgs  # the Higgs takes momentum out of the line
    a1 = line(g1, k1, g2, k2, h) + line(g1, k1, h, out_h, g2) + line(h, out_h, g1, k1, g2)
    a2 = line(g2, k2, g1, k1, h) + line(g2, k2, h, out_h, g1) + line(h, out_h, g2, k2, g1)
    # triple-gluon vertex: an off-shell gluon of momentum K = k1 + k2 and "polarisation" V / K^2;
    # f^abc T^c = -i [T^a, T^b] adds it to A1 and subtracts it from A2
    kk = k1 + k2
    v = (
        dot(eps1, eps2)[..., None] * (k1 - k2)
        + dot(k1 + 2 * k2, eps1)[..., None] * eps2
        - dot(2 * k1 + k2, eps2)[..., None] * eps1
    ) / dot(kk, kk)[..., None]
    gv = slash(v)
    three = h @ _propagator(top + higgs, m) @ gv + gv @ _propagator(top - kk, m) @ h
    return a1 + three, a2 - three


def qqbar_currents(k1, k2, top, antitop, higgs, m, vertex) -> np.ndarray:
    """The top-line matrices ``B_rho`` (index down) of q qbar -> t tbar phi, ``[..., 4 (rho), 4,
    4]``: ``M = T^c_ji T^c_kl [vbar(k2) gamma^rho u(k1)] ubar(top) B_rho v(antitop) / K^2``
    (common factor ``-i g_s^2 y / sqrt 2``)."""
    kk = k1 + k2
    g_lower = GAMMA * METRIC[:, None, None]  # gamma_rho
    s_h = _propagator(top + higgs, m)[..., None, :, :]
    s_g = _propagator(top - kk, m)[..., None, :, :]
    vertex = np.asarray(vertex)[..., None, :, :]
    return vertex @ s_h @ g_lower + g_lower @ s_g @ vertex


def _sandwich(top, antitop, m, a):
    """``(ptop + m) A (pantitop - m)`` for ``[..., 4, 4]`` matrices (the spin sum's left half)."""
    mm = m[..., None, None] * IDENTITY
    return (slash(top) + mm) @ a @ (slash(antitop) - mm)


def _terms(matrix: np.ndarray, norm) -> YukawaTerms:
    """``YukawaTerms`` from the ``[..., 2, 2]`` matrix of (even, odd) x (even, odd) spin sums."""
    return YukawaTerms(
        even=norm * matrix[..., 0, 0].real,
        odd=norm * matrix[..., 1, 1].real,
        interference=norm * matrix[..., 0, 1].real,
    )


def _gg_terms(k1, k2, top, antitop, higgs, m) -> YukawaTerms:
    # axes after the event axes: vertex (even, odd), polarisation of gluon 1, of gluon 2
    pol1 = np.stack(transverse_polarisations(k1), axis=-2)[..., None, :, None, :]
    pol2 = np.stack(transverse_polarisations(k2), axis=-2)[..., None, None, :, :]
    k1, k2, top, antitop, higgs = (
        p[..., None, None, None, :] for p in (k1, k2, top, antitop, higgs)
    )
    m = m[..., None, None, None]
    vertex = YUKAWA_VERTICES[:, None, None]
    amps = gg_colour_amplitudes(k1, k2, top, antitop, higgs, m, pol1, pol2, vertex)
    # [..., colour, vertex, pol1, pol2, 4, 4]
    a = np.stack(amps, axis=-6)
    left = np.stack([_sandwich(top, antitop, m, x) for x in amps], axis=-6)
    # Tr[left(c, v) bar(A(c', v'))] summed over the polarisations: [..., c, v, c', v']
    spin = np.einsum("...cvabij,...dwabji->...cvdw", left, _bar(a))
    return _terms(np.einsum("cd,...cvdw->...vw", GG_COLOUR, spin), GG_AVERAGE)


def _qqbar_terms(k1, k2, top, antitop, higgs, m) -> YukawaTerms:
    kk = k1 + k2
    # light-quark tensor L^{rs} = Tr[k2slash gamma^r k1slash gamma^s], indices up
    light = 4 * (
        k2[..., :, None] * k1[..., None, :]
        + k1[..., :, None] * k2[..., None, :]
        - dot(k1, k2)[..., None, None] * np.diag(METRIC)
    )
    # axes after the event axes: vertex (even, odd), then rho
    b = qqbar_currents(
        k1[..., None, :], k2[..., None, :], top[..., None, :], antitop[..., None, :],
        higgs[..., None, :], m[..., None], YUKAWA_VERTICES,
    )  # fmt: skip
    left = _sandwich(top[..., None, None, :], antitop[..., None, None, :], m[..., None, None], b)
    hadronic = np.einsum("...vrij,...wsji->...vwrs", left, _bar(b))
    norm = QQ_AVERAGE * QQ_COLOUR / dot(kk, kk) ** 2
    return _terms(np.einsum("...rs,...vwrs->...vw", light, hadronic), norm)


def squared_amplitude_terms(channel: str, k1, k2, top, antitop, higgs) -> YukawaTerms:
    """The CP-even, CP-odd and interference parts of the spin- and colour-averaged ``|M|^2`` of
    ``channel`` ("gg" or "qqbar"), in units of ``g_s^4 y_t^2 / 2``, shape ``[...]``.

    The top pair is first mapped to a common mass (:func:`common_mass`); the top mass in the
    propagators and spinors is that mass. Inputs: ``[..., 4]`` four-momenta (see the module).
    """
    arrays = [np.asarray(p, dtype=np.float64) for p in (k1, k2, top, antitop, higgs)]
    for name, p in zip(("k1", "k2", "top", "antitop", "higgs"), arrays, strict=True):
        if p.shape[-1:] != (4,):
            raise ValueError(f"{name}: expected four-momenta of shape [..., 4], got {p.shape}")
    k1, k2, top, antitop, higgs = np.broadcast_arrays(*arrays)
    top, antitop, m = common_mass(top, antitop)
    if channel == "gg":
        return _gg_terms(k1, k2, top, antitop, higgs, m)
    if channel == "qqbar":
        return _qqbar_terms(k1, k2, top, antitop, higgs, m)
    raise ValueError(f"channel: expected one of {CHANNELS}, got {channel!r}")


def squared_amplitude(
    channel: str,
    k1,
    k2,
    top,
    antitop,
    higgs,
    angle: float,
    *,
    alpha_s: float | np.ndarray,
    yukawa: float | np.ndarray,
) -> np.ndarray:
    """The physical spin- and colour-averaged ``|M_a|^2`` at mixing angle ``angle`` (radians),
    with the strong coupling ``alpha_s`` and the top Yukawa coupling ``yukawa`` (``y_t = sqrt 2
    m_t / v``), dimensionless."""
    terms = squared_amplitude_terms(channel, k1, k2, top, antitop, higgs)
    return (4 * np.pi * alpha_s) ** 2 * yukawa**2 / 2 * terms.at(angle)


def cp_weight(channel: str, k1, k2, top, antitop, higgs, angle: float) -> np.ndarray:
    """``w = |M_a|^2 / |M_SM|^2`` (couplings cancel; exactly 1 at ``angle = 0``)."""
    terms = squared_amplitude_terms(channel, k1, k2, top, antitop, higgs)
    c, s = np.cos(angle), np.sin(angle)
    return c * c + (s * s * terms.odd + 2 * s * c * terms.interference) / terms.even
