"""g g -> t tbar t tbar and q qbar -> t tbar t tbar at tree level, order alpha_s^4 (MadGraph's
``p p > t t~ t t~`` at its default, pure-QCD order).

The two tops pair with the two antitops in two ways (``t1 tbar2 + t3 tbar4`` and ``t1 tbar4 + t3
tbar2``), whose amplitudes differ by a minus sign (Fermi statistics). For each pairing the two top
lines A and B are joined by gluons; the diagrams (72 for g g, the count MadGraph gives; 14 for q
qbar) are:

- g g, per pairing: both gluons on one line with the gluon joining the lines anywhere on it
  (6 + 6); one gluon on each line (8); the two gluons fused by a triple-gluon vertex onto one
  line (2 + 2); one gluon meeting the joining gluon at a triple-gluon vertex, the other gluon on
  either line (8); both gluons on the joining gluon (2); the four-gluon vertex (1, in its three
  colour structures); the two gluons fused and then meeting the joining gluon (1).
- q qbar, per pairing: the light line's gluon on line A or B, with the joining gluon (2 + 2), or
  meeting it at a triple-gluon vertex (1); the light line emitting two gluons, one to each top line
  (2).

Colour: every diagram carries its colour tensor over the external indices (:mod:`.colour`), and
the diagrams' colour matrix is summed numerically over the explicit colours. Averages 1/(4 x 64)
(g g) and 1/(4 x 9) (q qbar); no identical-particle factor (the 1/4 for two identical tops and
two identical antitops belongs to the phase space). Momenta ``[N, 4]``: ``k1``, ``k2`` incoming
(for q qbar ``k1`` the quark), ``t1``, ``tbar2``, ``t3``, ``tbar4`` outgoing.
"""

from __future__ import annotations

import itertools

from . import colour
from . import vertices as vx
from .errors import AmplitudeError
from .lines import Insertion, colour_sum, fermion_line, vector_current
from .lorentz import as_momenta, mass
from .parameters import STANDARD_MODEL, Parameters
from .wavefunctions import external

CHANNELS = ("gg", "qqbar")
GG_AVERAGE = 1.0 / (4 * 64)
QQ_AVERAGE = 1.0 / (4 * 9)


def external_waves(channel: str, k1, k2, t1, tbar2, t3, tbar4):
    """``[k1, k2, t1, tbar2, t3, tbar4]`` (helicity axes 0-5)."""
    k1, k2, t1, tbar2, t3, tbar4 = as_momenta(k1=k1, k2=k2, t1=t1, tbar2=tbar2, t3=t3, tbar4=tbar4)
    n = 6
    if channel == "gg":
        first = [external("vector_in", k1, 0.0, 0, n), external("vector_in", k2, 0.0, 1, n)]
    elif channel == "qqbar":
        first = [external("fermion_in", k1, 0.0, 0, n), external("antifermion_in", k2, 0.0, 1, n)]
    else:
        raise AmplitudeError(f"channel: expected one of {CHANNELS}, got {channel!r}")
    return first + [
        external("fermion_out", t1, mass(t1), 2, n),
        external("antifermion_out", tbar2, mass(tbar2), 3, n),
        external("fermion_out", t3, mass(t3), 4, n),
        external("antifermion_out", tbar4, mass(tbar4), 5, n),
    ]


def _gg_pairing(out: colour.Diagrams, g1, g2, line_a, line_b, sign, params) -> None:
    """The 36 diagrams of one pairing; ``line_x = (fo, fi, row, col, mass, width)``."""
    glu = params.gluon()

    def on_line(line, items):  # all orders of (wave, label) items on a line
        fo, fi, row, col, m, w = line
        for order in itertools.permutations(items):
            amp = fermion_line(fo, fi, [Insertion(x, glu) for x, _ in order], m, w)
            yield amp, ([lab for _, lab in order], row, col)

    def current(line, gluon=None):  # the line's gluon (colour x), optionally with a gluon on it
        fo, fi, row, col, m, w = line
        if gluon is None:
            yield vx.off_vector(fo, fi, glu, 0.0), (["x"], row, col)
            return
        wave, lab = gluon
        for before in (True, False):
            ins = [Insertion(wave, glu)]
            j = vector_current(fo, fi, ins if before else [], [] if before else ins, glu, 0.0, m, w)
            yield j, ([lab, "x"] if before else ["x", lab], row, col)

    gluons = ((g1, "a"), (g2, "b"))
    for this, other in ((line_a, line_b), (line_b, line_a)):
        # both gluons on `this`, the joining gluon from `other`
        for j, other_colour in current(other):
            for amp, this_colour in on_line(this, [*gluons, (j, "x")]):
                out.add(amp, sign, [this_colour, other_colour])
        # the two gluons fused onto `this`
        fused = vx.off_gluon(g1, g2, params.g_s)
        for j, other_colour in current(other):
            for amp, this_colour in on_line(this, [(fused, "y"), (j, "x")]):
                out.add(amp, sign, [this_colour, other_colour], "f:aby")
    for (gin, lin), (gout, lout) in (((g1, "a"), (g2, "b")), ((g2, "b"), (g1, "a"))):
        # `gin` on line A, `gout` on line B
        for j, b_colour in current(line_b, (gout, lout)):
            for amp, a_colour in on_line(line_a, [(gin, lin), (j, "x")]):
                out.add(amp, sign, [a_colour, b_colour])
        # `gin` meets the joining gluon; `gout` on line A ...
        for j, b_colour in current(line_b):
            v = vx.off_gluon(gin, j, params.g_s)
            for amp, a_colour in on_line(line_a, [(gout, lout), (v, "y")]):
                out.add(amp, sign, [a_colour, b_colour], f"f:{lin}xy")
        # ... or on line B
        for j, b_colour in current(line_b, (gout, lout)):
            v = vx.off_gluon(gin, j, params.g_s)
            for amp, a_colour in on_line(line_a, [(v, "y")]):
                out.add(amp, sign, [a_colour, b_colour], f"f:{lin}xy")
        # both gluons on the joining gluon, `gin` nearer line B
        for j, b_colour in current(line_b):
            v = vx.off_gluon(gout, vx.off_gluon(gin, j, params.g_s), params.g_s)
            for amp, a_colour in on_line(line_a, [(v, "z")]):
                out.add(amp, sign, [a_colour, b_colour], f"f:{lin}xy", f"f:{lout}yz")
    for j, b_colour in current(line_b):
        # the four-gluon vertex (legs a, b, x, z), its three colour structures
        currents = vx.off_gluon_4(g1, g2, j, params.g_s)
        structures = (("f:abe", "f:xze"), ("f:axe", "f:bze"), ("f:aze", "f:bxe"))
        for v, factors in zip(currents, structures, strict=True):
            for amp, a_colour in on_line(line_a, [(v, "z")]):
                out.add(amp, sign, [a_colour, b_colour], *factors)
        # the two gluons fused, then meeting the joining gluon
        v = vx.off_gluon(vx.off_gluon(g1, g2, params.g_s), j, params.g_s)
        for amp, a_colour in on_line(line_a, [(v, "z")]):
            out.add(amp, sign, [a_colour, b_colour], "f:aby", "f:yxz")


def _qq_pairing(out: colour.Diagrams, quark, antiquark, line_a, line_b, sign, params) -> None:
    """The 7 diagrams of one pairing; the light line is ``<vbar(qbar)| ... |u(q)>`` with colour
    indices ``r`` (qbar) ``s`` (q); ``line_x = (fo, fi, row, col, mass, width)``."""
    glu = params.gluon()
    light = vx.off_vector(antiquark, quark, glu, 0.0)  # colour c
    light_colour = (["c"], "r", "s")
    lines = {"A": line_a, "B": line_b}
    joining = {k: vx.off_vector(line[0], line[1], glu, 0.0) for k, line in lines.items()}
    for this, other in (("A", "B"), ("B", "A")):
        fo, fi, row, col, m, w = lines[this]
        for order in itertools.permutations([(light, "c"), (joining[other], "x")]):
            amp = fermion_line(fo, fi, [Insertion(x, glu) for x, _ in order], m, w)
            this_colour = ([lab for _, lab in order], row, col)
            other_colour = (["x"], lines[other][2], lines[other][3])
            out.add(amp, sign, [light_colour, this_colour, other_colour])
    # the light gluon meets the joining gluon (from B) and goes on to A
    v = vx.off_gluon(light, joining["B"], params.g_s)
    fo, fi, row, col, m, w = line_a
    amp = fermion_line(fo, fi, [Insertion(v, glu)], m, w)
    out.add(amp, sign, [light_colour, (["y"], row, col), (["x"], line_b[2], line_b[3])], "f:cxy")
    # the light line emits one gluon to each top line
    for order in itertools.permutations([(joining["A"], "x"), (joining["B"], "y")]):
        amp = fermion_line(antiquark, quark, [Insertion(x, glu) for x, _ in order], 0.0)
        out.add(
            amp,
            sign,
            [
                ([lab for _, lab in order], "r", "s"),
                (["x"], line_a[2], line_a[3]),
                (["y"], line_b[2], line_b[3]),
            ],
        )


def diagrams(channel: str, waves, params: Parameters = STANDARD_MODEL):
    """``(amplitudes, colour matrix)``: ``i M`` of every diagram per helicity configuration
    (``[2] * 6 + [N]``) and the diagrams' colour matrix, from their colour tensors over ``(a, b,
    i, j, k, l)`` (g g: gluon colours, then t1, tbar2, t3, tbar4) or ``(r, s, i, j, k, l)`` (q
    qbar: qbar, q, then the tops)."""
    a, b, t1, tb2, t3, tb4 = waves
    m, w = params.m_t, params.width_t
    # pairing 1: lines (t1, tbar2), (t3, tbar4); pairing 2: (t1, tbar4), (t3, tbar2), sign -1
    pairings = (
        ((t1, tb2, "i", "j", m, w), (t3, tb4, "k", "l", m, w), 1.0),
        ((t1, tb4, "i", "l", m, w), (t3, tb2, "k", "j", m, w), -1.0),
    )
    return pairing_diagrams(channel, a, b, pairings, params)


def pairing_diagrams(channel: str, a, b, pairings, params: Parameters = STANDARD_MODEL):
    """The diagrams of g g (``a``, ``b`` the gluons) or q qbar (``a = |u(q)>``, ``b =
    <vbar(qbar)|``) to two heavy-quark lines, for the given ``pairings``: ``(line_a, line_b,
    sign)`` with ``line = (<ubar|, |v>, row index, column index, mass, width)``. One pairing with
    distinct flavours is ``g g -> t tbar Q Qbar`` (tested against MadGraph's ``g g > t t~ u
    u~`` and ``u u~ > t t~ c c~``)."""
    out = colour.Diagrams("abijkl" if channel == "gg" else "rsijkl")
    for line_a, line_b, sign in pairings:
        if channel == "gg":
            _gg_pairing(out, a, b, line_a, line_b, sign, params)
        else:
            _qq_pairing(out, a, b, line_a, line_b, sign, params)
    return out.amps, out.colour_matrix


def squared_amplitude(
    channel: str, k1, k2, t1, tbar2, t3, tbar4, params: Parameters = STANDARD_MODEL
):
    """Spin- and colour-summed, initial-state-averaged ``|M|^2``, ``[N]`` (GeV^-4)."""
    waves = external_waves(channel, k1, k2, t1, tbar2, t3, tbar4)
    amps, colour_matrix = diagrams(channel, waves, params)
    average = GG_AVERAGE if channel == "gg" else QQ_AVERAGE
    return average * colour_sum(amps, colour_matrix)
