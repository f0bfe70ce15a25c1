"""Standard Model parameters and the couplings of the engine's Feynman rules.

The defaults are those of MadGraph's ``sm`` model (G_mu scheme: ``m_Z = 91.188``, ``G_F =
1.16639e-5``, ``1 / alpha(m_Z) = 132.507`` give ``m_W = 80.419`` and ``sin^2 theta_W = 1 - m_W^2 /
m_Z^2 = 0.22225`` at tree level) with a top mass of 172.5 GeV (Pythia 8.317 and the ``sm`` model
use 173.0: pass ``m_t=173.0`` to compare with them, as the cross-section checks do), and
``alpha_s = 0.118``. Every field may be replaced (``dataclasses.replace``), also by ``[N]`` arrays
(one value per event, e.g. Pythia's running alpha_s), so a comparison can use another program's
values; the derived couplings follow the tree-level relations ``e = sqrt(4 pi alpha)``,
``g = e / sin theta_W``, ``v = 2 m_W / g``.

Widths enter the internal propagators only, and are zero by default: no internal line of the
processes here can go on its mass shell, and a width in a t-channel propagator breaks gauge
invariance (at order Gamma / m). MadGraph keeps them (its ``zerowidth_tchannel = F``); with
:data:`MADGRAPH_WIDTHS` (``WT = 1.4915``, ``WW = 2.0476``, ``WZ = 2.441404``, ``WH = 6.382339e-3``)
and ``m_t = 173`` the engine reproduces MadGraph's numbers (tested).

Feynman rules (the amplitude computed is ``i M``; all vertices as ``i x coupling``):

- fermion-fermion-vector: ``i gamma^mu (c_L P_L + c_R P_R)``, with ``(c_L, c_R)`` from
  :meth:`Parameters.gluon` (``g_s``, colour ``T^a`` kept apart), :meth:`Parameters.photon`
  (``-e Q``), :meth:`Parameters.w_boson` (``g / sqrt 2`` on the left, unit CKM),
  :meth:`Parameters.z_boson` (``g / cos theta_W (T3 - Q sin^2 theta_W)`` left, ``-g / cos
  theta_W Q sin^2 theta_W`` right);
- fermion-fermion-scalar: ``i (c_L P_L + c_R P_R)``; :meth:`Parameters.yukawa` gives ``-m / v``
  (``L = -(m / v) h fbar f``), optionally CP-mixed;
- vector-vector-scalar: ``i c g^{mu nu}`` with ``c = g m_W`` (h W W, :attr:`Parameters.hww`) or
  ``g m_Z / cos theta_W`` (h Z Z);
- three gluons: ``g_s f^{abc} [g^{mu nu} (k - p)^rho + g^{nu rho} (p - q)^mu + g^{rho mu} (q -
  k)^nu]``, all momenta incoming (Peskin & Schroeder);
- propagators: fermion ``i (pslash + m) / (p^2 - m^2 + i m Gamma)``; vector ``-i (g^{mu nu} -
  q^mu q^nu / M^2) / (q^2 - M^2 + i M Gamma)`` (unitary gauge), massless ``-i g^{mu nu} / q^2``
  (Feynman gauge); scalar ``i / (q^2 - m^2 + i m Gamma)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Parameters:
    """Masses and widths (GeV) and couplings; fields may be ``[N]`` arrays (see the module)."""

    alpha_s: float | np.ndarray = 0.118
    alpha_em: float | np.ndarray = 1 / 132.507
    sin2_w: float | np.ndarray = 0.22224648578577766
    m_w: float | np.ndarray = 80.41900244575616
    m_z: float | np.ndarray = 91.188
    m_t: float | np.ndarray = 172.5
    m_h: float | np.ndarray = 125.0
    width_t: float | np.ndarray = 0.0
    width_w: float | np.ndarray = 0.0
    width_z: float | np.ndarray = 0.0
    width_h: float | np.ndarray = 0.0

    @classmethod
    def g_mu_scheme(
        cls, m_z: float = 91.188, g_fermi: float = 1.16639e-5, alpha_em: float = 1 / 132.507, **kw
    ) -> Parameters:
        """``m_W`` and ``sin^2 theta_W`` at tree level from ``(m_Z, G_F, alpha)`` (MadGraph's
        ``sm``): ``m_W^2 = m_Z^2 / 2 + sqrt(m_Z^4 / 4 - pi alpha m_Z^2 / (sqrt 2 G_F))``."""
        m_w = math.sqrt(
            m_z**2 / 2
            + math.sqrt(m_z**4 / 4 - math.pi * alpha_em * m_z**2 / (math.sqrt(2) * g_fermi))
        )
        return cls(alpha_em=alpha_em, m_z=m_z, m_w=m_w, sin2_w=1 - m_w**2 / m_z**2, **kw)

    @property
    def g_s(self):
        return np.sqrt(4 * np.pi * np.asarray(self.alpha_s))

    @property
    def e(self):
        return np.sqrt(4 * np.pi * np.asarray(self.alpha_em))

    @property
    def g(self):
        """The SU(2) coupling ``e / sin theta_W``."""
        return self.e / np.sqrt(self.sin2_w)

    @property
    def v(self):
        """The Higgs vacuum expectation value ``2 m_W / g`` (246.2 GeV by default)."""
        return 2 * np.asarray(self.m_w) / self.g

    @property
    def hww(self):
        """``c`` of the h W+ W- vertex ``i c g^{mu nu}``: ``g m_W``."""
        return self.g * self.m_w

    @property
    def hzz(self):
        """``c`` of the h Z Z vertex: ``g m_Z / cos theta_W``."""
        return self.g * self.m_z / np.sqrt(1 - np.asarray(self.sin2_w))

    def gluon(self) -> tuple:
        """``(c_L, c_R)`` of the quark-gluon vertex (colour ``T^a`` apart): ``(g_s, g_s)``."""
        return self.g_s, self.g_s

    def photon(self, charge: float) -> tuple:
        """``(c_L, c_R)`` of a fermion of electric charge ``charge`` (in units of e > 0)."""
        c = -self.e * charge
        return c, c

    def w_boson(self) -> tuple:
        """``(c_L, c_R)`` of ``W f f'`` (unit CKM matrix): ``(g / sqrt 2, 0)``."""
        return self.g / np.sqrt(2), 0.0 * self.g

    def z_boson(self, isospin: float, charge: float) -> tuple:
        """``(c_L, c_R)`` of ``Z f f`` for weak isospin ``T3`` and charge ``Q``."""
        cos_w = np.sqrt(1 - np.asarray(self.sin2_w))
        return (
            self.g / cos_w * (isospin - charge * self.sin2_w),
            -self.g / cos_w * charge * self.sin2_w,
        )

    def yukawa(self, fermion_mass, cp_angle: float = 0.0, kappa: float = 1.0) -> tuple:
        """``(c_L, c_R)`` of ``h f f``: ``-kappa (m / v) (cos a + i sin a gamma5)``, i.e.
        ``c_L = -kappa (m / v) e^{-i a}``, ``c_R = -kappa (m / v) e^{+i a}`` (``a = 0``: SM)."""
        y = -kappa * np.asarray(fermion_mass) / self.v
        return y * np.exp(-1j * cp_angle), y * np.exp(1j * cp_angle)


STANDARD_MODEL = Parameters()
"""The default parameters (see the module)."""

MADGRAPH_WIDTHS = {
    "width_t": 1.4915,
    "width_w": 2.0476,
    "width_z": 2.441404,
    "width_h": 6.382339e-03,
}
"""The widths of MadGraph's ``sm`` param card: ``dataclasses.replace(params,
**MADGRAPH_WIDTHS)``."""
