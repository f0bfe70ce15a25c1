"""g g -> t tbar gamma gamma and q qbar -> t tbar gamma gamma at tree level, order alpha_s^2
alpha^2 (MadGraph's ``p p > t t~ a a``).

Diagrams: g g: the two gluons and two photons in every order along the top line (24) and the
triple-gluon gluon with the photons in every place around it (6); q qbar: each photon on the
light or the top line, every order on each line, the s-channel gluon joining them (20). Photon
couplings ``-i e Q gamma^mu`` (``Q_t = 2/3``; the light quark's charge from the channel). Colour
bases and averages: :mod:`.heavy_pair`. The identical-photon factor 1/2 is *not* included (it
belongs to the phase space). Channels :data:`CHANNELS`: ``"gg"``, ``"uubar"`` (up-type quark, also
c cbar), ``"ddbar"`` (down-type, also s sbar, b bbar). Momenta ``[N, 4]``: ``k1``, ``k2``
incoming (``k1`` the quark), ``top``, ``antitop``, ``a1``, ``a2`` outgoing.
"""

from __future__ import annotations

from . import heavy_pair as hp
from .errors import AmplitudeError
from .lines import colour_sum
from .lorentz import as_momenta, mass
from .parameters import STANDARD_MODEL, Parameters
from .wavefunctions import external

CHARGE_TOP = 2.0 / 3.0
CHANNELS = {"gg": None, "uubar": 2.0 / 3.0, "ddbar": -1.0 / 3.0}
"""Channels and the light quark's electric charge."""


def external_waves(channel: str, k1, k2, top, antitop, a1, a2):
    """``[k1, k2, top, antitop, a1, a2]`` (helicity axes 0-5)."""
    k1, k2, top, antitop, a1, a2 = as_momenta(k1=k1, k2=k2, top=top, antitop=antitop, a1=a1, a2=a2)
    if channel not in CHANNELS:
        raise AmplitudeError(f"channel: expected one of {list(CHANNELS)}, got {channel!r}")
    n = 6
    if channel == "gg":
        first = [external("vector_in", k1, 0.0, 0, n), external("vector_in", k2, 0.0, 1, n)]
    else:
        first = [external("fermion_in", k1, 0.0, 0, n), external("antifermion_in", k2, 0.0, 1, n)]
    return first + [
        external("fermion_out", top, mass(top), 2, n),
        external("antifermion_out", antitop, mass(antitop), 3, n),
        external("vector_out", a1, 0.0, 4, n),
        external("vector_out", a2, 0.0, 5, n),
    ]


def colour_amplitudes(channel: str, waves, params: Parameters = STANDARD_MODEL) -> list:
    """The colour-ordered ``i M`` per helicity configuration, ``[2, 2, 2, 2, 2, 2, N]`` each."""
    a, b, t, tb, p1, p2 = waves
    heavy = params.photon(CHARGE_TOP)
    if channel == "gg":
        photons = [hp.Boson(p1, heavy), hp.Boson(p2, heavy)]
        return list(hp.gg_amplitudes(a, b, t, tb, photons, params.m_t, params.g_s, params.width_t))
    light = params.photon(CHANNELS[channel])
    photons = [hp.Boson(p1, heavy, light), hp.Boson(p2, heavy, light)]
    return [hp.qqbar_amplitude(a, b, t, tb, photons, params.m_t, params.g_s, params.width_t)]


def squared_amplitude(
    channel: str, k1, k2, top, antitop, a1, a2, params: Parameters = STANDARD_MODEL
):
    """Spin- and colour-summed, initial-state-averaged ``|M|^2``, ``[N]`` (GeV^-4)."""
    amps = colour_amplitudes(channel, external_waves(channel, k1, k2, top, antitop, a1, a2), params)
    if channel == "gg":
        return hp.GG_AVERAGE * colour_sum(amps, hp.GG_COLOUR)
    return hp.QQ_AVERAGE * colour_sum(amps, hp.QQ_COLOUR)
