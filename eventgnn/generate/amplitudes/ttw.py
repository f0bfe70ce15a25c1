"""q qbar' -> t tbar W+- at tree level, order alpha_s^2 alpha (MadGraph's ``p p > t t~ w+``).

At this order the W comes from the light-quark line (a W on the top line would need a b quark), so
there are two diagrams per channel: the W emitted before or after the s-channel gluon along the
light line, the gluon splitting into t tbar. Channels (four-flavour proton, unit CKM matrix as in
MadGraph's ``sm`` model), all with the same ``|M|^2`` since the light quarks are massless:
:data:`CHANNELS`, ``k1`` always the quark and ``k2`` the antiquark (for the swapped beams pass
them swapped). Colour: ``T^c_{kl} T^c_{ij}``, colour sum 2; average 1/36 (:mod:`.heavy_pair`).
No symmetry factor. Momenta ``[N, 4]``: ``k1``, ``k2`` incoming, ``top``, ``antitop``, ``w``
outgoing.
"""

from __future__ import annotations

from . import heavy_pair as hp
from .lines import colour_sum
from .lorentz import as_momenta, mass
from .parameters import STANDARD_MODEL, Parameters
from .wavefunctions import external

CHANNELS = {
    "u dbar -> t tbar W+": (2, -1, 24),
    "c sbar -> t tbar W+": (4, -3, 24),
    "d ubar -> t tbar W-": (1, -2, -24),
    "s cbar -> t tbar W-": (3, -4, -24),
}
"""Partonic channels and their PDG ids ``(quark, antiquark, W)``."""


def external_waves(k1, k2, top, antitop, w, params: Parameters = STANDARD_MODEL):
    """The external wavefunctions ``[q, qbar', top, antitop, W]`` (helicity axes 0-4; the W has
    three polarisations, its mass is ``params.m_w``)."""
    k1, k2, top, antitop, w = as_momenta(k1=k1, k2=k2, top=top, antitop=antitop, w=w)
    n = 5
    return [
        external("fermion_in", k1, 0.0, 0, n),
        external("antifermion_in", k2, 0.0, 1, n),
        external("fermion_out", top, mass(top), 2, n),
        external("antifermion_out", antitop, mass(antitop), 3, n),
        external("vector_out", w, params.m_w, 4, n),
    ]


def colour_amplitudes(waves, params: Parameters = STANDARD_MODEL) -> list:
    """``[i M]`` (one colour structure) per helicity configuration, ``[2, 2, 2, 2, 3, N]``."""
    q, qb, t, tb, w = waves
    boson = hp.Boson(w, heavy=None, light=params.w_boson())
    return [hp.qqbar_amplitude(q, qb, t, tb, [boson], params.m_t, params.g_s, params.width_t)]


def squared_amplitude(k1, k2, top, antitop, w, params: Parameters = STANDARD_MODEL):
    """Spin- and colour-summed, initial-state-averaged ``|M|^2``, ``[N]`` (GeV^-2)."""
    amps = colour_amplitudes(external_waves(k1, k2, top, antitop, w, params), params)
    return hp.QQ_AVERAGE * colour_sum(amps, hp.QQ_COLOUR)
