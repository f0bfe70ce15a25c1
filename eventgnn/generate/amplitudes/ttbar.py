"""g g -> t tbar and q qbar -> t tbar at tree level (the engine's simplest check).

Diagrams: g g: the t- and u-channel top exchange and the s-channel gluon (triple-gluon vertex);
q qbar: the s-channel gluon. Colour bases and averages: :mod:`.heavy_pair`. Momenta ``[N, 4]``:
``k1``, ``k2`` incoming (for q qbar ``k1`` the quark), ``top``, ``antitop`` outgoing; the tops'
spinors take the mass ``sqrt(p^2)`` of their momenta (equal masses expected; see
:func:`.lorentz.common_mass` for Pythia's Breit-Wigner tops), the propagators
``params.m_t``.
"""

from __future__ import annotations

from . import heavy_pair as hp
from .errors import AmplitudeError
from .lines import colour_sum
from .lorentz import as_momenta, mass
from .parameters import STANDARD_MODEL, Parameters
from .wavefunctions import external

CHANNELS = ("gg", "qqbar")


def external_waves(channel: str, k1, k2, top, antitop):
    """The external wavefunctions ``[k1, k2, top, antitop]`` (helicity axes 0-3)."""
    k1, k2, top, antitop = as_momenta(k1=k1, k2=k2, top=top, antitop=antitop)
    n = 4
    t = external("fermion_out", top, mass(top), 2, n)
    tb = external("antifermion_out", antitop, mass(antitop), 3, n)
    if channel == "gg":
        return [external("vector_in", k1, 0.0, 0, n), external("vector_in", k2, 0.0, 1, n), t, tb]
    if channel == "qqbar":
        q = external("fermion_in", k1, 0.0, 0, n)
        qb = external("antifermion_in", k2, 0.0, 1, n)
        return [q, qb, t, tb]
    raise AmplitudeError(f"channel: expected one of {CHANNELS}, got {channel!r}")


def colour_amplitudes(channel: str, waves, params: Parameters = STANDARD_MODEL) -> list:
    """The colour-ordered ``i M`` per helicity configuration, ``[2, 2, 2, 2, N]`` each."""
    a, b, t, tb = waves
    if channel == "gg":
        return list(hp.gg_amplitudes(a, b, t, tb, [], params.m_t, params.g_s, params.width_t))
    return [hp.qqbar_amplitude(a, b, t, tb, [], params.m_t, params.g_s, params.width_t)]


def squared_amplitude(channel: str, k1, k2, top, antitop, params: Parameters = STANDARD_MODEL):
    """Spin- and colour-summed, initial-state-averaged ``|M|^2``, ``[N]`` (dimensionless)."""
    waves = external_waves(channel, k1, k2, top, antitop)
    amps = colour_amplitudes(channel, waves, params)
    if channel == "gg":
        return hp.GG_AVERAGE * colour_sum(amps, hp.GG_COLOUR)
    return hp.QQ_AVERAGE * colour_sum(amps, hp.QQ_COLOUR)
