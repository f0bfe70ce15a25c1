"""External wavefunctions in the HELAS/ALOHA helicity basis, vectorised over events.

A :class:`Wave` is a wavefunction and the momentum it carries. Helicity axes come first and events
last: the external particle number ``i`` of ``n`` has its helicities on axis ``i`` and size 1 on the
other ``n - 1`` axes, so every product of wavefunctions broadcasts to ``[h_1, ..., h_n, N]``, one
amplitude per helicity configuration and event (:func:`external`).

Momentum flow (as HELAS's ``fi(5:6) = p * nsf``): a fermion wavefunction that flows *into* a vertex
(``|fi>``: ``u`` of an incoming fermion, ``v`` of an outgoing antifermion) carries the momentum
flowing along the fermion-number arrow into that vertex (``p``, resp. ``-p``); one that flows *out*
(``<fo|``: ``ubar`` of an outgoing fermion, ``vbar`` of an incoming antifermion) the momentum
flowing out along the arrow (``p``, resp. ``-p``). Vectors and scalars carry the momentum flowing
into the vertex (``p`` incoming, ``-p`` outgoing). Spinors are columns ``u``/``v`` or rows
``ubar``/``vbar`` (Dirac adjoints, ready to multiply), in the chiral representation of
:mod:`.lorentz`; vectors are ``eps^mu`` (incoming) or ``eps^mu*`` (outgoing), upper index.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .errors import AmplitudeError

SQRT_HALF = np.sqrt(0.5)


class Wave(NamedTuple):
    """A wavefunction ``value`` (``[..., 4]`` spinor or vector, ``[...]`` scalar) and its
    ``momentum`` (``[..., 4]``, flow as in the module docstring)."""

    value: np.ndarray
    momentum: np.ndarray


def _check(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if p.shape[-1:] != (4,):
        raise AmplitudeError(f"expected four-momenta of shape [..., 4], got {p.shape}")
    return p


def _two_component(p: np.ndarray, nh: int, conjugate: bool):
    """``|p|``, and HELAS's ``chi`` (the helicity ``nh`` two-spinor along ``p``), ``[..., 2]``."""
    px, py, pz = p[..., 1], p[..., 2], p[..., 3]
    pp = np.sqrt(px * px + py * py + pz * pz)
    pp3 = np.maximum(pp + pz, 0.0)
    along_minus_z = pp3 == 0.0
    at_rest = pp == 0.0
    safe = np.where(along_minus_z | at_rest, 1.0, 2.0 * pp * pp3)
    sign = -1.0 if conjugate else 1.0
    chi1 = np.where(along_minus_z, -nh + 0j, (nh * px + 1j * sign * py) / np.sqrt(safe))
    chi0 = np.sqrt(np.where(at_rest, 1.0, pp3 * 0.5 / np.where(at_rest, 1.0, pp))) + 0j
    chi1 = np.where(at_rest, 0.0, chi1)  # at rest: spin along +z
    return pp, chi0, chi1


def ixxxxx(p, mass, nhel: int, nsf: int) -> np.ndarray:
    """HELAS ``ixxxxx``: the flowing-in spinor ``u(p, nhel)`` (``nsf = +1``, incoming fermion) or
    ``v(p, nhel)`` (``nsf = -1``, outgoing antifermion); ``p`` ``[..., 4]``, ``mass`` a scalar or
    ``[...]``; returns ``[..., 4]`` complex. One formula serves massive and massless fermions (the
    massive one at ``m = 0``)."""
    a, b, lower, upper = _spinor_parts(p, mass, nhel, nsf, conjugate=False)
    return np.stack([a * lower, a * upper, b * lower, b * upper], axis=-1)


def oxxxxx(p, mass, nhel: int, nsf: int) -> np.ndarray:
    """HELAS ``oxxxxx``: the flowing-out row spinor ``ubar(p, nhel)`` (``nsf = +1``, outgoing
    fermion) or ``vbar(p, nhel)`` (``nsf = -1``, incoming antifermion), ``[..., 4]`` complex."""
    a, b, lower, upper = _spinor_parts(p, mass, nhel, nsf, conjugate=True)
    return np.stack([b * lower, b * upper, a * lower, a * upper], axis=-1)


def _spinor_parts(p, mass, nhel: int, nsf: int, conjugate: bool) -> tuple:
    """``(a, b, chi_lower, chi_upper)`` of HELAS's ``ixxxxx``/``oxxxxx``: the weights
    ``sf omega`` of the two chiral halves and the two-component spinor ``chi`` (conjugated for
    ``oxxxxx``), ordered by helicity, from which both stack their four components."""
    p = _check(p)
    nh = nhel * nsf
    pp, chi0, chi1 = _two_component(p, nh, conjugate=conjugate)
    sf = ((1 + nsf + (1 - nsf) * nh) * 0.5, (1 + nsf - (1 - nsf) * nh) * 0.5)
    root = np.sqrt(p[..., 0] + pp)
    omega = (root, np.asarray(mass) / root)
    ip, im = (1 + nh) // 2, (1 - nh) // 2
    chi = (chi0, chi1)
    return sf[0] * omega[ip], sf[1] * omega[im], chi[im], chi[ip]


def vxxxxx(p, mass, nhel: int, nsv: int) -> np.ndarray:
    """HELAS ``vxxxxx``: the polarisation vector ``eps^mu(p, nhel)`` (``nsv = +1``, incoming) or
    ``eps^mu(p, nhel)*`` (``nsv = -1``, outgoing), ``[..., 4]`` complex; ``nhel`` in (-1, 0, 1),
    0 only for a massive vector (``mass`` > 0)."""
    p = _check(p)
    if nhel not in (-1, 0, 1):
        raise AmplitudeError(f"vector helicity must be -1, 0 or 1, got {nhel}")
    px, py, pz = p[..., 1], p[..., 2], p[..., 3]
    pt = np.sqrt(px * px + py * py)
    pp = np.sqrt(pt * pt + pz * pz)
    if nhel == 0:
        m = np.asarray(mass, dtype=np.float64)
        if np.any(m <= 0):
            raise AmplitudeError("a longitudinal polarisation needs a massive vector")
        safe = np.where(pp == 0, 1.0, pp)
        emp = p[..., 0] / (m * safe)
        eps = np.stack([pp / m, px * emp, py * emp, np.where(pp == 0, 1.0, pz * emp)], axis=-1)
        return eps + 0j
    at_z = pt == 0.0
    safe_pt = np.where(at_z, 1.0, pt)
    safe_pp = np.where(pp == 0, 1.0, pp)
    pzpt = pz / (safe_pp * safe_pt) * SQRT_HALF * nhel
    e1 = np.where(at_z, -nhel * SQRT_HALF + 0j, -px * pzpt - 1j * nsv * py / safe_pt * SQRT_HALF)
    e2 = np.where(
        at_z,
        1j * nsv * np.where(pz < 0, -SQRT_HALF, SQRT_HALF),
        -py * pzpt + 1j * nsv * px / safe_pt * SQRT_HALF,
    )
    e3 = nhel * pt / safe_pp * SQRT_HALF + 0j
    return np.stack([np.zeros_like(e3), e1, e2, e3], axis=-1)


def _on_axis(stack: np.ndarray, axis: int, n: int) -> np.ndarray:
    """``[h, ...]`` -> ``[1, ..., h (axis), ..., 1 (n axes), ...]``."""
    shape = [1] * n
    shape[axis] = stack.shape[0]
    return stack.reshape(tuple(shape) + stack.shape[1:])


FERMION_HELICITIES = (-1, 1)
MASSLESS_VECTOR_HELICITIES = (-1, 1)
MASSIVE_VECTOR_HELICITIES = (-1, 0, 1)

KINDS = (
    "fermion_in",
    "antifermion_in",
    "fermion_out",
    "antifermion_out",
    "vector_in",
    "vector_out",
    "scalar_in",
    "scalar_out",
)


def external(kind: str, p, mass, axis: int, n: int) -> Wave:
    """The wavefunctions of external particle number ``axis`` of ``n``, all helicities on axis
    ``axis`` (see the module): ``kind`` one of :data:`KINDS` (a fermion or antifermion, vector or
    scalar, incoming or outgoing); ``p`` ``[N, 4]``; ``mass`` scalar or ``[N]`` (for vectors a
    scalar: zero means two, non-zero three polarisations). A scalar's value is ones, ``[N]``."""
    p = _check(p)
    if kind == "fermion_in":
        value = np.stack([ixxxxx(p, mass, h, 1) for h in FERMION_HELICITIES])
        flow = p
    elif kind == "antifermion_out":
        value = np.stack([ixxxxx(p, mass, h, -1) for h in FERMION_HELICITIES])
        flow = -p
    elif kind == "fermion_out":
        value = np.stack([oxxxxx(p, mass, h, 1) for h in FERMION_HELICITIES])
        flow = p
    elif kind == "antifermion_in":
        value = np.stack([oxxxxx(p, mass, h, -1) for h in FERMION_HELICITIES])
        flow = -p
    elif kind in ("vector_in", "vector_out"):
        nsv = 1 if kind == "vector_in" else -1
        massive = np.any(np.asarray(mass) != 0)
        hels = MASSIVE_VECTOR_HELICITIES if massive else MASSLESS_VECTOR_HELICITIES
        value = np.stack([vxxxxx(p, mass, h, nsv) for h in hels])
        flow = nsv * p
    elif kind in ("scalar_in", "scalar_out"):
        return Wave(np.ones(p.shape[:-1], dtype=complex), p if kind == "scalar_in" else -p)
    else:
        raise AmplitudeError(f"kind: expected one of {KINDS}, got {kind!r}")
    return Wave(_on_axis(value, axis, n), flow)
