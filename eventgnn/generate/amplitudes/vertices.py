"""Vertices and off-shell currents (HELAS's ``FFV1_0``, ``FFV1_1``, ``FFV1_2``, ``FFV1_3``, ...).

Each function either closes a diagram (``amp_*``: the value of ``i M`` for one diagram, broadcast
over helicity and event axes) or joins wavefunctions at a vertex into an off-shell wavefunction
with its propagator (``off_*``), which can enter the next vertex like an external one. Couplings
and propagators are those of :mod:`.parameters`; every factor of ``i`` is kept, so diagrams add
with their relative phases. Masses, widths and couplings may be scalars or ``[N]`` arrays.

Momentum flow follows :mod:`.wavefunctions`: an off-shell ``|fi>`` carries ``p = p_fi + p_V``
(the momentum in the propagator along the arrow), an off-shell ``<fo|`` ``p = p_fo - p_V``, an
off-shell boson the momentum it brings into its next vertex.
"""

from __future__ import annotations

import numpy as np

from .lorentz import GAMMA, IDENTITY, chiral, dot, slash
from .wavefunctions import Wave


def _mv(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    return (matrix @ vector[..., None])[..., 0]


def _vm(vector: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    return (vector[..., None, :] @ matrix)[..., 0, :]


def _denominator(p2, mass, width):
    mass = np.asarray(mass)
    return p2 - mass * mass + 1j * mass * np.asarray(width)


def _ffv_matrix(v: Wave, coupling) -> np.ndarray:
    """``i Vslash (c_L P_L + c_R P_R)``, ``[..., 4, 4]``."""
    return 1j * slash(v.value) @ chiral(*coupling)


def _ffs_matrix(s: Wave, coupling) -> np.ndarray:
    """``i S (c_L P_L + c_R P_R)``, ``[..., 4, 4]``."""
    return 1j * np.asarray(s.value)[..., None, None] * chiral(*coupling)


def _fermion_propagator(p, mass, width) -> np.ndarray:
    """``i (pslash + m) / (p^2 - m^2 + i m Gamma)``, ``[..., 4, 4]``."""
    mass = np.asarray(mass)
    num = slash(p) + mass[..., None, None] * IDENTITY
    return 1j * num / _denominator(dot(p, p), mass, width)[..., None, None]


def _vector_propagate(current: np.ndarray, q: np.ndarray, mass, width) -> np.ndarray:
    """``D^{mu nu}(q) c_nu`` for ``c^mu`` (upper index): ``-i (c^mu - q^mu q.c / M^2) / (q^2 -
    M^2 + i M Gamma)`` (unitary gauge); ``M = 0``: ``-i c^mu / q^2`` (Feynman gauge)."""
    mass = np.asarray(mass, dtype=np.float64)
    q2 = dot(q, q)
    if np.all(mass == 0):
        return -1j * current / q2[..., None]
    longitudinal = (dot(q, current) / (mass * mass))[..., None] * q
    return -1j * (current - longitudinal) / _denominator(q2, mass, width)[..., None]


# -- fermion-fermion-vector ------------------------------------------------------------------------


def amp_ffv(fo: Wave, fi: Wave, v: Wave, coupling) -> np.ndarray:
    """``<fo| i Vslash (c_L P_L + c_R P_R) |fi>`` (HELAS ``FFV_0``)."""
    return np.sum(fo.value * _mv(_ffv_matrix(v, coupling), fi.value), axis=-1)


def off_fermion_in(fi: Wave, v: Wave, coupling, mass, width=0.0) -> Wave:
    """``S(p) i Vslash (c_L P_L + c_R P_R) |fi>`` with ``p = p_fi + p_V`` (HELAS ``FFV_1``)."""
    p = fi.momentum + v.momentum
    spinor = _mv(_fermion_propagator(p, mass, width), _mv(_ffv_matrix(v, coupling), fi.value))
    return Wave(spinor, p)


def off_fermion_out(fo: Wave, v: Wave, coupling, mass, width=0.0) -> Wave:
    """``<fo| i Vslash (c_L P_L + c_R P_R) S(p)`` with ``p = p_fo - p_V`` (HELAS ``FFV_2``)."""
    p = fo.momentum - v.momentum
    spinor = _vm(_vm(fo.value, _ffv_matrix(v, coupling)), _fermion_propagator(p, mass, width))
    return Wave(spinor, p)


def off_vector(fo: Wave, fi: Wave, coupling, mass, width=0.0) -> Wave:
    """The vector current ``D^{mu nu}(q) <fo| i gamma_nu (c_L P_L + c_R P_R) |fi>``, ``q =
    p_fi - p_fo`` (HELAS ``FFV_3``)."""
    q = fi.momentum - fo.momentum
    gamma_chiral = GAMMA @ chiral(*coupling)[..., None, :, :]  # [..., 4 (mu), 4, 4]
    current = 1j * np.sum(fo.value[..., None, :] * _mv(gamma_chiral, fi.value[..., None, :]), -1)
    return Wave(_vector_propagate(current, q, mass, width), q)


# -- fermion-fermion-scalar ------------------------------------------------------------------------


def amp_ffs(fo: Wave, fi: Wave, s: Wave, coupling) -> np.ndarray:
    """``<fo| i S (c_L P_L + c_R P_R) |fi>`` (HELAS ``FFS_0``)."""
    return np.sum(fo.value * _mv(_ffs_matrix(s, coupling), fi.value), axis=-1)


def off_fermion_in_s(fi: Wave, s: Wave, coupling, mass, width=0.0) -> Wave:
    """``S(p) i S (c_L P_L + c_R P_R) |fi>``, ``p = p_fi + p_S``."""
    p = fi.momentum + s.momentum
    spinor = _mv(_fermion_propagator(p, mass, width), _mv(_ffs_matrix(s, coupling), fi.value))
    return Wave(spinor, p)


def off_fermion_out_s(fo: Wave, s: Wave, coupling, mass, width=0.0) -> Wave:
    """``<fo| i S (c_L P_L + c_R P_R) S(p)``, ``p = p_fo - p_S``."""
    p = fo.momentum - s.momentum
    spinor = _vm(_vm(fo.value, _ffs_matrix(s, coupling)), _fermion_propagator(p, mass, width))
    return Wave(spinor, p)


def off_scalar(fo: Wave, fi: Wave, coupling, mass, width=0.0) -> Wave:
    """``i / (q^2 - m^2 + i m Gamma) <fo| i (c_L P_L + c_R P_R) |fi>``, ``q = p_fi - p_fo``."""
    q = fi.momentum - fo.momentum
    value = np.sum(fo.value * _mv(1j * chiral(*coupling), fi.value), axis=-1)
    return Wave(1j * value / _denominator(dot(q, q), mass, width), q)


# -- vector-vector-scalar --------------------------------------------------------------------------


def amp_vvs(v1: Wave, v2: Wave, s: Wave, coupling) -> np.ndarray:
    """``i c (V1.V2) S`` (HELAS ``VVS1_0``)."""
    return 1j * np.asarray(coupling) * dot(v1.value, v2.value) * s.value


def off_vector_vs(v: Wave, s: Wave, coupling, mass, width=0.0) -> Wave:
    """``D^{mu nu}(q) i c V_nu S``, ``q = p_V + p_S`` (HELAS ``VVS1_2``)."""
    q = v.momentum + s.momentum
    current = 1j * np.asarray(coupling)[..., None] * v.value * np.asarray(s.value)[..., None]
    return Wave(_vector_propagate(current, q, mass, width), q)


def off_scalar_vv(v1: Wave, v2: Wave, coupling, mass, width=0.0) -> Wave:
    """``i / (q^2 - m^2 + i m Gamma) i c (V1.V2)``, ``q = p_V1 + p_V2`` (HELAS ``VVS1_3``)."""
    q = v1.momentum + v2.momentum
    value = 1j * np.asarray(coupling) * dot(v1.value, v2.value)
    return Wave(1j * value / _denominator(dot(q, q), mass, width), q)


# -- three gluons ----------------------------------------------------------------------------------


def amp_vvv(v1: Wave, v2: Wave, v3: Wave, coupling) -> np.ndarray:
    """The triple-gluon vertex without its colour factor ``f^{abc}`` (``a, b, c`` the colours of
    ``v1, v2, v3``): ``g [(V1.V2) (k1 - k2).V3 + (V2.V3) (k2 - k3).V1 + (V3.V1) (k3 - k1).V2]``,
    ``k_i`` the incoming momenta (HELAS ``VVV1_0`` up to its phase convention)."""
    k1, k2, k3 = v1.momentum, v2.momentum, v3.momentum
    e1, e2, e3 = v1.value, v2.value, v3.value
    return np.asarray(coupling) * (
        dot(e1, e2) * dot(k1 - k2, e3)
        + dot(e2, e3) * dot(k2 - k3, e1)
        + dot(e3, e1) * dot(k3 - k1, e2)
    )


def off_gluon(v1: Wave, v2: Wave, coupling) -> Wave:
    """The off-shell gluon of colour ``c`` from gluons ``a`` (``v1``) and ``b`` (``v2``), colour
    factor ``f^{abc}`` apart: ``-i / q^2`` times the vertex with the third leg open, ``q = k1 +
    k2`` (the third leg's incoming momentum is ``-q``) (HELAS ``VVV1_1``)."""
    k1, k2 = v1.momentum, v2.momentum
    k3 = -(k1 + k2)
    e1, e2 = v1.value, v2.value
    vertex = np.asarray(coupling)[..., None] * (
        dot(e1, e2)[..., None] * (k1 - k2)
        + dot(k2 - k3, e1)[..., None] * e2
        + dot(k3 - k1, e2)[..., None] * e1
    )
    q = k1 + k2
    return Wave(_vector_propagate(vertex, q, 0.0, 0.0), q)


def off_gluon_4(v1: Wave, v2: Wave, v3: Wave, coupling) -> tuple[Wave, Wave, Wave]:
    """The off-shell gluon (colour ``d``) from the four-gluon vertex with gluons ``a, b, c``
    (``v1, v2, v3``), one current per colour structure ``f^{abe} f^{cde}``, ``f^{ace} f^{bde}``,
    ``f^{ade} f^{bce}`` (Peskin & Schroeder's ``-i g^2 [...]``), times ``-i / q^2``, ``q = k1 +
    k2 + k3``."""
    e1, e2, e3 = v1.value, v2.value, v3.value
    q = v1.momentum + v2.momentum + v3.momentum
    factor = (-(np.asarray(coupling) ** 2) / dot(q, q))[..., None]  # (-i g^2)(-i / q^2)
    d12, d13, d23 = (dot(x, y)[..., None] for x, y in ((e1, e2), (e1, e3), (e2, e3)))
    return (
        Wave(factor * (d13 * e2 - d23 * e1), q),
        Wave(factor * (d12 * e3 - d23 * e1), q),
        Wave(factor * (d12 * e3 - d13 * e2), q),
    )
