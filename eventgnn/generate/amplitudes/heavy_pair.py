"""Colour-ordered amplitudes of g g -> Q Qbar + X and q qbar -> Q Qbar + X at lowest order in
QCD, X colourless bosons (H, photons, W) attached to the heavy and/or the light quark line.

Colour bases:

- g g (gluon colours ``a``, ``b``; ``i``, ``j`` of Q, Qbar): ``M = (T^a T^b)_ij A_ab + (T^b
  T^a)_ij A_ba``; every ordering of the two gluons and the bosons along the heavy line, and the
  triple-gluon diagrams (colour ``f^{abc} T^c = -i [T^a, T^b]``) with the off-shell gluon in
  every place among the bosons. Colour matrix :data:`GG_COLOUR`, ``Tr(T^a T^b T^b T^a) = 16/3``,
  ``Tr(T^a T^b T^a T^b) = -2/3``.
- q qbar: one structure ``T^c_{k l} T^c_{i j}`` (light line ``k l``, heavy ``i j``); a boson may
  sit on either line where it couples, the s-channel gluon joins them; colour sum ``Tr(T^c
  T^d)^2 = 2`` (:data:`QQ_COLOUR`).

Averages: :data:`GG_AVERAGE` (2 x 2 spins, 8 x 8 colours) and :data:`QQ_AVERAGE` (2 x 2, 3 x 3).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from . import vertices as vx
from .lines import Insertion, fermion_line, vector_current
from .wavefunctions import Wave

GG_COLOUR = np.array([[16.0, -2.0], [-2.0, 16.0]]) / 3.0
GG_AVERAGE = 1.0 / (4 * 64)
QQ_COLOUR = np.array([[2.0]])
QQ_AVERAGE = 1.0 / (4 * 9)


class Boson(NamedTuple):
    """A colourless boson and its couplings ``(c_L, c_R)`` to the heavy and to the light line
    (``None``: it does not attach there)."""

    wave: Wave
    heavy: tuple | None
    light: tuple | None = None
    scalar: bool = False


def gg_amplitudes(
    g1: Wave,
    g2: Wave,
    quark: Wave,
    antiquark: Wave,
    bosons: Sequence[Boson],
    mass,
    g_s,
    width=0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """``(A_ab, A_ba)`` of g g -> Q Qbar + bosons; ``quark`` is ``<ubar(Q)|``, ``antiquark``
    ``|v(Qbar)>``; ``mass``, ``width`` those of the heavy-quark propagators."""
    gluon = (g_s, g_s)
    extra = [Insertion(b.wave, b.heavy, b.scalar) for b in bosons]
    items = [Insertion(g1, gluon), Insertion(g2, gluon), *extra]
    a_ab, a_ba = 0.0, 0.0
    for order in itertools.permutations(range(len(items))):
        amp = fermion_line(quark, antiquark, [items[i] for i in order], mass, width)
        if order.index(0) < order.index(1):  # gluon a nearer ubar(Q): (T^a T^b)_ij
            a_ab = a_ab + amp
        else:
            a_ba = a_ba + amp
    joined = Insertion(vx.off_gluon(g1, g2, g_s), gluon)
    three = 0.0
    for order in itertools.permutations([joined, *extra]):
        three = three + fermion_line(quark, antiquark, list(order), mass, width)
    return a_ab - 1j * three, a_ba + 1j * three


def qqbar_amplitude(
    light_quark: Wave,
    light_antiquark: Wave,
    quark: Wave,
    antiquark: Wave,
    bosons: Sequence[Boson],
    mass,
    g_s,
    width=0.0,
) -> np.ndarray:
    """``A`` of q qbar -> Q Qbar + bosons (colour ``T^c T^c`` apart); ``light_quark`` is
    ``|u(q)>``, ``light_antiquark`` ``<vbar(qbar)|``; the light quarks are massless; ``mass``,
    ``width`` those of the heavy-quark propagators."""
    gluon = (g_s, g_s)
    total = 0.0
    places = [[side for side in ("heavy", "light") if getattr(b, side) is not None] for b in bosons]
    for sides in itertools.product(*places):
        on_light = [
            Insertion(b.wave, b.light, b.scalar)
            for b, side in zip(bosons, sides, strict=True)
            if side == "light"
        ]
        on_heavy = [
            Insertion(b.wave, b.heavy, b.scalar)
            for b, side in zip(bosons, sides, strict=True)
            if side == "heavy"
        ]
        # the s-channel gluon from the light line, summed over the orderings there (linear)
        current = None
        for order in itertools.permutations(on_light):
            for cut in range(len(order) + 1):
                j = vector_current(
                    light_antiquark, light_quark, order[:cut], order[cut:], gluon, 0.0, 0.0
                )
                current = j if current is None else Wave(current.value + j.value, j.momentum)
        for order in itertools.permutations([Insertion(current, gluon), *on_heavy]):
            total = total + fermion_line(quark, antiquark, list(order), mass, width)
    return total
