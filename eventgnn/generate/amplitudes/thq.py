"""t-channel t H q (``u b -> t H d`` and relatives) and t-channel single top, at tree level.

Five-flavour scheme: massless b and light quarks, unit CKM matrix. Each channel has a light line
(``u -> d``, or an antiquark line ``dbar -> ubar``) and a heavy line (``b -> t``, or ``bbar ->
tbar``) joined by a t-channel W (unitary gauge), and the Higgs boson

1. on the top, between the W vertex and the outgoing top (Yukawa ``-i kappa_t m_t / v``), or
2. on the W (``i kappa_V g m_W g^{mu nu}``), between two W propagators.

(With a massless b there is no Higgs on the b.) The two interfere destructively in the SM; the
amplitudes' growth with energy cancels only for ``kappa_t = kappa_V`` (tested). Colour: both
lines colour-diagonal, sum 9, average 1/9; spin average 1/4. Momenta ``[N, 4]``: ``k1`` the
incoming light (anti)quark, ``k2`` the incoming b (bbar), ``top`` the outgoing t (tbar),
``higgs``, ``jet`` the outgoing light (anti)quark. :func:`single_top_squared_amplitude` is the same
process without the Higgs (diagram: the t-channel W only).

:data:`CHANNELS` lists the partonic channels (t-channel only: ``u dbar -> W* -> t bbar H`` and
``b g -> t H W-`` are other processes).
"""

from __future__ import annotations

from . import vertices as vx
from .errors import AmplitudeError
from .lines import Insertion, colour_sum, fermion_line
from .lorentz import as_momenta, mass
from .parameters import STANDARD_MODEL, Parameters
from .wavefunctions import external

CHANNELS = {
    "u b -> t H d": ("quark", "top"),
    "c b -> t H s": ("quark", "top"),
    "dbar b -> t H ubar": ("antiquark", "top"),
    "sbar b -> t H cbar": ("antiquark", "top"),
    "ubar bbar -> tbar H dbar": ("antiquark", "antitop"),
    "cbar bbar -> tbar H sbar": ("antiquark", "antitop"),
    "d bbar -> tbar H u": ("quark", "antitop"),
    "s bbar -> tbar H c": ("quark", "antitop"),
}
"""Partonic channels -> (light line: quark or antiquark, heavy line: top or antitop)."""

AVERAGE = 1.0 / 4
"""Spin average 1/4; the colour sum (9) and average (1/9) cancel."""


def _kinds(channel: str) -> tuple[str, str]:
    key = channel.replace(" H", "")
    for name, kinds in CHANNELS.items():
        if channel == name or key == name.replace(" H", ""):
            return kinds
    raise AmplitudeError(f"channel: expected one of {list(CHANNELS)}, got {channel!r}")


def external_waves(channel: str, k1, k2, top, jet, higgs=None):
    """``[light in, b in, top out, light out(, higgs)]``: ``(fo, fi)`` pairs are assembled by
    :func:`lines_of`. Helicity axes 0-3."""
    light, heavy = _kinds(channel)
    n = 4
    named = {"k1": k1, "k2": k2, "top": top, "jet": jet}
    if higgs is not None:
        named["higgs"] = higgs
    k1, k2, top, jet, *rest = as_momenta(**named)
    higgs = rest[0] if rest else None
    if light == "quark":
        a = external("fermion_in", k1, 0.0, 0, n)
        d = external("fermion_out", jet, 0.0, 3, n)
    else:
        a = external("antifermion_in", k1, 0.0, 0, n)
        d = external("antifermion_out", jet, 0.0, 3, n)
    if heavy == "top":
        b = external("fermion_in", k2, 0.0, 1, n)
        t = external("fermion_out", top, mass(top), 2, n)
    else:
        b = external("antifermion_in", k2, 0.0, 1, n)
        t = external("antifermion_out", top, mass(top), 2, n)
    waves = [a, b, t, d]
    if higgs is not None:
        waves.append(external("scalar_out", higgs, 0.0, 0, n))
    return waves


def lines_of(channel: str, waves):
    """``((fo, fi) of the light line, (fo, fi) of the heavy line)`` from :func:`external_waves`."""
    light, heavy = _kinds(channel)
    a, b, t, d = waves[:4]
    light_line = (d, a) if light == "quark" else (a, d)
    heavy_line = (t, b) if heavy == "top" else (b, t)
    return light_line, heavy_line


def amplitude(channel: str, waves, params: Parameters = STANDARD_MODEL, kappa_t=1.0, kappa_v=1.0):
    """``i M`` of t H q per helicity configuration, ``[2, 2, 2, 2, N]``."""
    (lo, li), (ho, hi) = lines_of(channel, waves)
    h = waves[4]
    w = params.w_boson()
    current = vx.off_vector(lo, li, w, params.m_w, params.width_w)
    yukawa = Insertion(h, params.yukawa(params.m_t, kappa=kappa_t), scalar=True)
    on_line = [yukawa, Insertion(current, w)]  # Higgs next to the top
    if _kinds(channel)[1] == "antitop":
        on_line = on_line[::-1]
    from_top = fermion_line(ho, hi, on_line, params.m_t, params.width_t)
    via_w = vx.off_vector_vs(current, h, kappa_v * params.hww, params.m_w, params.width_w)
    from_w = vx.amp_ffv(ho, hi, via_w, w)
    return from_top + from_w


def squared_amplitude(
    channel: str,
    k1,
    k2,
    top,
    higgs,
    jet,
    params: Parameters = STANDARD_MODEL,
    kappa_t: float = 1.0,
    kappa_v: float = 1.0,
):
    """Spin- and colour-summed, initial-state-averaged ``|M|^2`` of t H q, ``[N]`` (GeV^-2);
    ``kappa_t``, ``kappa_v`` scale the top Yukawa and the h W W coupling."""
    waves = external_waves(channel, k1, k2, top, jet, higgs)
    amp = amplitude(channel, waves, params, kappa_t, kappa_v)
    return AVERAGE * colour_sum([amp], [[9.0 / 9.0]])


def single_top_squared_amplitude(
    channel: str, k1, k2, top, jet, params: Parameters = STANDARD_MODEL
):
    """``|M|^2`` of t-channel single top (the channel's name without ``H``, e.g. ``u b -> t d``),
    ``[N]`` (dimensionless)."""
    waves = external_waves(channel, k1, k2, top, jet)
    (lo, li), (ho, hi) = lines_of(channel, waves)
    w = params.w_boson()
    amp = vx.amp_ffv(ho, hi, vx.off_vector(lo, li, w, params.m_w, params.width_w), w)
    return AVERAGE * colour_sum([amp], [[1.0]])
