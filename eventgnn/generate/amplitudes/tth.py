"""g g -> t tbar H and q qbar -> t tbar H at tree level, with an optionally CP-mixed top Yukawa.

Diagrams: g g: the Higgs and both gluons in every order along the top line (6), and the
triple-gluon gluon with the Higgs on either side (2); q qbar: the s-channel gluon and the Higgs on
the top line in both orders (2). The Higgs couples to the top only (``-i (m_t / v) (cos a + i
sin a gamma5)``, :meth:`.Parameters.yukawa`; ``a = 0`` is the SM). Colour bases and averages:
:mod:`.heavy_pair`. Momenta ``[N, 4]``: ``k1``, ``k2`` incoming (for q qbar ``k1`` the quark),
``top``, ``antitop``, ``higgs`` outgoing.
"""

from __future__ import annotations

from . import heavy_pair as hp
from .errors import AmplitudeError
from .lines import colour_sum
from .lorentz import as_momenta, mass
from .parameters import STANDARD_MODEL, Parameters
from .wavefunctions import external

CHANNELS = ("gg", "qqbar")


def external_waves(channel: str, k1, k2, top, antitop, higgs):
    """The external wavefunctions ``[k1, k2, top, antitop, higgs]`` (helicity axes 0-3)."""
    k1, k2, top, antitop, higgs = as_momenta(k1=k1, k2=k2, top=top, antitop=antitop, higgs=higgs)
    n = 4
    t = external("fermion_out", top, mass(top), 2, n)
    tb = external("antifermion_out", antitop, mass(antitop), 3, n)
    h = external("scalar_out", higgs, 0.0, 0, n)
    if channel == "gg":
        g1, g2 = external("vector_in", k1, 0.0, 0, n), external("vector_in", k2, 0.0, 1, n)
        return [g1, g2, t, tb, h]
    if channel == "qqbar":
        q = external("fermion_in", k1, 0.0, 0, n)
        qb = external("antifermion_in", k2, 0.0, 1, n)
        return [q, qb, t, tb, h]
    raise AmplitudeError(f"channel: expected one of {CHANNELS}, got {channel!r}")


def colour_amplitudes(
    channel: str, waves, params: Parameters = STANDARD_MODEL, cp_angle: float = 0.0
) -> list:
    """The colour-ordered ``i M`` per helicity configuration, ``[2, 2, 2, 2, N]`` each."""
    a, b, t, tb, h = waves
    higgs = hp.Boson(h, params.yukawa(params.m_t, cp_angle), scalar=True)
    if channel == "gg":
        return list(hp.gg_amplitudes(a, b, t, tb, [higgs], params.m_t, params.g_s, params.width_t))
    return [hp.qqbar_amplitude(a, b, t, tb, [higgs], params.m_t, params.g_s, params.width_t)]


def squared_amplitude(
    channel: str,
    k1,
    k2,
    top,
    antitop,
    higgs,
    params: Parameters = STANDARD_MODEL,
    cp_angle: float = 0.0,
):
    """Spin- and colour-summed, initial-state-averaged ``|M|^2``, ``[N]`` (GeV^-2)."""
    waves = external_waves(channel, k1, k2, top, antitop, higgs)
    amps = colour_amplitudes(channel, waves, params, cp_angle)
    if channel == "gg":
        return hp.GG_AVERAGE * colour_sum(amps, hp.GG_COLOUR)
    return hp.QQ_AVERAGE * colour_sum(amps, hp.QQ_COLOUR)
