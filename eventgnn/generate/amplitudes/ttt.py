"""Three tops: ``q b -> t t tbar q'`` and ``g b -> t t tbar W-`` at tree level, order
``alpha_s^2 alpha^2`` (MadGraph's ``p p > t t t~ j`` and ``p p > t t t~ w-`` in ``sm-no_b_mass``:
five flavours, unit CKM), and their charge conjugates (``tbar tbar t``).

One W turns a b into a top on the "W line"; a gluon makes the other t tbar pair (the "pair
line"). Either of the two identical tops can sit on the W line: both pairings are summed, the
second with a minus sign (Fermi statistics). Per pairing:

- ``q b -> t t tbar q'`` (:data:`CHANNELS`): the W between the light line (``u -> d``, ``dbar ->
  ubar``, or ``u dbar`` annihilating) and the W line (``b -> t``, or ``t bbar`` created); the
  pair's gluon on the light line before or after the W vertex (2) or on the W line on either side
  of it (2): 4 diagrams (8 with both pairings).
- ``g b -> t t tbar W-`` (:data:`W_CHANNELS`): the W, the gluon and the pair's gluon on the W line
  in every order (6), the gluon and the pair's gluon meeting at a triple-gluon vertex (2), the
  gluon on the pair line (4): 12 diagrams (24).

The W line's propagators are b quarks (massless) on the b side of its W vertex and tops on the
other; light quarks are massless; unitary-gauge W. Not included: the pair made by a photon, Z or
Higgs (order ``alpha^4``, not MadGraph's default for these processes). Colour: each diagram's
colour tensor over the external colours, summed numerically (:class:`.colour.Diagrams`).
Averages 1/36 (two quarks), 1/96 (g b); no identical-particle factor (the 1/2 for the two
identical tops belongs to the phase space).

Momenta ``[N, 4]``: ``k1`` the incoming light quark (for annihilation the quark) or the gluon,
``k2`` the incoming b (bbar) or, for annihilation, the light antiquark; ``top1``, ``top2`` the two
identical heavy quarks (tops; antitops in the conjugate channels); ``odd`` the third (the antitop;
the top); ``last`` the outgoing light parton, the b (bbar) made at the W, or the W.
"""

from __future__ import annotations

from . import colour
from . import vertices as vx
from .errors import AmplitudeError
from .lines import Insertion, colour_sum, vector_current
from .lorentz import as_momenta, mass
from .parameters import STANDARD_MODEL, Parameters
from .wavefunctions import Wave, external

CHANNELS = {
    "u b -> t t tbar d": ("quark", "b->t"),
    "c b -> t t tbar s": ("quark", "b->t"),
    "dbar b -> t t tbar ubar": ("antiquark", "b->t"),
    "sbar b -> t t tbar cbar": ("antiquark", "b->t"),
    "u dbar -> t t tbar bbar": ("annihilation", "t bbar"),
    "c sbar -> t t tbar bbar": ("annihilation", "t bbar"),
    "ubar bbar -> tbar tbar t dbar": ("antiquark", "bbar->tbar"),
    "cbar bbar -> tbar tbar t sbar": ("antiquark", "bbar->tbar"),
    "d bbar -> tbar tbar t u": ("quark", "bbar->tbar"),
    "s bbar -> tbar tbar t c": ("quark", "bbar->tbar"),
    "d ubar -> tbar tbar t b": ("annihilation", "b tbar"),
    "s cbar -> tbar tbar t b": ("annihilation", "b tbar"),
}
"""``p p > t t t~ j`` and ``p p > t~ t~ t j`` channels -> (light line, W line)."""
W_CHANNELS = {
    "g b -> t t tbar W-": ("gluon", "b->t"),
    "g bbar -> tbar tbar t W+": ("gluon", "bbar->tbar"),
}
"""``p p > t t t~ w-`` and ``p p > t~ t~ t w+`` channels -> (gluon, W line)."""

QQ_AVERAGE = 1.0 / (4 * 9)
GB_AVERAGE = 1.0 / (4 * 8 * 3)

SPEC = "pqrstu"
"""Colour indices of the external particles ``(k1, k2, top1, top2, odd, last)`` (a gluon ``k1``
is ``a``; a W has none)."""


def kinds(channel: str) -> tuple[str, str]:
    """(light line or ``"gluon"``, W line) of a channel."""
    found = CHANNELS.get(channel) or W_CHANNELS.get(channel)
    if found is None:
        known = [*CHANNELS, *W_CHANNELS]
        raise AmplitudeError(f"channel: expected one of {known}, got {channel!r}")
    return found


def external_waves(channel: str, k1, k2, top1, top2, odd, last, params=STANDARD_MODEL):
    """``[k1, k2, top1, top2, odd, last]`` (helicity axes 0-5)."""
    light, heavy = kinds(channel)
    k1, k2, top1, top2, odd, last = as_momenta(
        k1=k1, k2=k2, top1=top1, top2=top2, odd=odd, last=last
    )
    n = 6
    tops_out = "fermion_out" if heavy in ("b->t", "t bbar") else "antifermion_out"
    odd_out = "antifermion_out" if tops_out == "fermion_out" else "fermion_out"
    first_kind = {"gluon": "vector_in", "antiquark": "antifermion_in"}.get(light, "fermion_in")
    if light == "annihilation":
        second_kind = "antifermion_in"
    else:
        second_kind = "fermion_in" if heavy == "b->t" else "antifermion_in"
    if light == "gluon":
        final = external("vector_out", last, params.m_w, 5, n)
    else:
        final_kind = {
            "quark": "fermion_out",
            "antiquark": "antifermion_out",
            "annihilation": "antifermion_out" if heavy == "t bbar" else "fermion_out",
        }[light]
        final = external(final_kind, last, 0.0, 5, n)
    return [
        external(first_kind, k1, 0.0, 0, n),
        external(second_kind, k2, 0.0, 1, n),
        external(tops_out, top1, mass(top1), 2, n),
        external(tops_out, top2, mass(top2), 3, n),
        external(odd_out, odd, mass(odd), 4, n),
        final,
    ]


def _w_line_amplitude(fo, fi, insertions, w_at: int, heavy_side: str, params):
    """``i M`` of the W line with ``insertions`` ordered from ``<fo|`` to ``|fi>``, the W vertex at
    index ``w_at``: propagators between it and the ``heavy_side`` end (``"fo"`` or ``"fi"``) are
    tops, the others massless b quarks."""
    for idx in range(len(insertions) - 1, 0, -1):  # the propagator between idx - 1 and idx
        top = idx <= w_at if heavy_side == "fo" else idx > w_at
        m, w = (params.m_t, params.width_t) if top else (0.0, 0.0)
        fi = vx.off_fermion_in(fi, insertions[idx].wave, insertions[idx].coupling, m, w)
    return vx.amp_ffv(fo, fi, insertions[0].wave, insertions[0].coupling)


def lines_of(channel: str, waves, top_on_w: int):
    """``(light, w_line, pair)`` for the pairing with external ``top_on_w`` (2 or 3) on the W
    line: ``light = (fo, fi, row, col)`` (``None`` for the W channels), ``w_line = (fo, fi,
    row, col, heavy side)``, ``pair = (fo, fi, row, col)`` with colour indices from
    :data:`SPEC`."""
    light, heavy = kinds(channel)
    k1, k2, *_, last = waves
    t, c_t = waves[top_on_w], SPEC[top_on_w]
    top_in_pair = 5 - top_on_w
    if heavy == "b->t":
        w_line = (t, k2, c_t, SPEC[1], "fo")
    elif heavy == "bbar->tbar":
        w_line = (k2, t, SPEC[1], c_t, "fi")
    elif heavy == "t bbar":
        w_line = (t, last, c_t, SPEC[5], "fo")
    else:  # "b tbar"
        w_line = (last, t, SPEC[5], c_t, "fi")
    p, c_p = waves[top_in_pair], SPEC[top_in_pair]
    if heavy in ("b->t", "t bbar"):  # the identical quarks are tops: <ubar(t)| ... |v(tbar)>
        pair = (p, waves[4], c_p, SPEC[4])
    else:
        pair = (waves[4], p, SPEC[4], c_p)
    if light == "quark":
        light_line = (last, k1, SPEC[5], SPEC[0])
    elif light == "antiquark":
        light_line = (k1, last, SPEC[0], SPEC[5])
    elif light == "annihilation":
        light_line = (k2, k1, SPEC[1], SPEC[0])
    else:
        light_line = None
    return light_line, w_line, pair


def add_w_exchange(out, sign, light, w_line, gluon: Wave, others, params) -> None:
    """The 4 diagrams of a light line and a W line joined by a W, with ``gluon`` (colour ``x``;
    the pair's gluon, or an external one) on either line on either side of its W vertex;
    ``others``: the colour of any further line (the pair's ``(["x"], row, col)``)."""
    glu, w = params.gluon(), params.w_boson()
    lfo, lfi, lrow, lcol = light
    fo, fi, row, col, side = w_line
    g = [Insertion(gluon, glu)]
    for before in (True, False):  # the gluon on the light line
        j = vector_current(
            lfo, lfi, g if before else [], [] if before else g, w, params.m_w, 0.0,
            vector_width=params.width_w,
        )  # fmt: skip
        out.add(vx.amp_ffv(fo, fi, j, w), sign, [(["x"], lrow, lcol), ([], row, col), *others])
    j = Insertion(vx.off_vector(lfo, lfi, w, params.m_w, params.width_w), w)
    for order, w_at in (([g[0], j], 1), ([j, g[0]], 0)):  # the gluon on the W line
        amp = _w_line_amplitude(fo, fi, order, w_at, side, params)
        out.add(amp, sign, [([], lrow, lcol), (["x"], row, col), *others])


def _add_gluon_channel(out, sign, gluon: Wave, w_boson: Wave, w_line, pair, params) -> None:
    """The 12 diagrams of g b -> t t tbar W- for one pairing (gluon colour ``a``)."""
    glu, w = params.gluon(), params.w_boson()
    fo, fi, row, col, side = w_line
    pfo, pfi, prow, pcol = pair
    pair_gluon = vx.off_vector(pfo, pfi, glu, 0.0)
    items = {
        "W": Insertion(w_boson, w),
        "a": Insertion(gluon, glu),
        "x": Insertion(pair_gluon, glu),
    }
    for order in (("W", "a", "x"), ("W", "x", "a"), ("a", "W", "x"), ("x", "W", "a"),
                  ("a", "x", "W"), ("x", "a", "W")):  # fmt: skip
        amp = _w_line_amplitude(fo, fi, [items[k] for k in order], order.index("W"), side, params)
        labels = [k for k in order if k != "W"]
        out.add(amp, sign, [(labels, row, col), (["x"], prow, pcol)])
    fused = Insertion(vx.off_gluon(gluon, pair_gluon, params.g_s), glu)  # colour f^{axy}
    for order, w_at in (([items["W"], fused], 0), ([fused, items["W"]], 1)):
        amp = _w_line_amplitude(fo, fi, order, w_at, side, params)
        out.add(amp, sign, [(["y"], row, col), (["x"], prow, pcol)], "f:axy")
    g = [items["a"]]
    for before in (True, False):  # the gluon on the pair line
        j = vector_current(
            pfo, pfi, g if before else [], [] if before else g, glu, 0.0, params.m_t,
            params.width_t,
        )  # fmt: skip
        pair_colour = (["a", "x"] if before else ["x", "a"], prow, pcol)
        jx = Insertion(j, glu)
        for order, w_at in (([items["W"], jx], 0), ([jx, items["W"]], 1)):
            amp = _w_line_amplitude(fo, fi, order, w_at, side, params)
            out.add(amp, sign, [(["x"], row, col), pair_colour])


def diagrams(channel: str, waves, params: Parameters = STANDARD_MODEL):
    """``(amplitudes, colour matrix)``: ``i M`` of every diagram (both pairings) per helicity
    configuration, and the diagrams' colour matrix."""
    light_kind, _ = kinds(channel)
    spec = "a" + SPEC[1:5] if light_kind == "gluon" else SPEC
    out = colour.Diagrams(spec, fresh="mnovwz")
    for top_on_w, sign in ((2, 1.0), (3, -1.0)):
        light, w_line, pair = lines_of(channel, waves, top_on_w)
        if light is None:
            _add_gluon_channel(out, sign, waves[0], waves[5], w_line, pair, params)
        else:
            pair_gluon = vx.off_vector(pair[0], pair[1], params.gluon(), 0.0)
            add_w_exchange(
                out, sign, light, w_line, pair_gluon, [(["x"], pair[2], pair[3])], params
            )
    return out.amps, out.colour_matrix


def squared_amplitude(
    channel: str, k1, k2, top1, top2, odd, last, params: Parameters = STANDARD_MODEL
):
    """Spin- and colour-summed, initial-state-averaged ``|M|^2``, ``[N]`` (GeV^-4)."""
    waves = external_waves(channel, k1, k2, top1, top2, odd, last, params)
    amps, colour_matrix = diagrams(channel, waves, params)
    average = GB_AVERAGE if kinds(channel)[0] == "gluon" else QQ_AVERAGE
    return average * colour_sum(amps, colour_matrix)
