"""Fermion lines with several bosons attached, and the sum over helicities and colours.

A fermion line ``<fo| V_1 S V_2 S ... V_k |fi>`` is built from the ``|fi>`` end: each insertion
but the first becomes an off-shell ``|fi>`` (:func:`.vertices.off_fermion_in`), the first closes
the diagram. The propagators carry the line's (internal) mass.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from . import vertices as vx
from .wavefunctions import Wave


class Insertion(NamedTuple):
    """A boson on a fermion line: its wavefunction, ``(c_L, c_R)``, and whether it is a scalar."""

    wave: Wave
    coupling: tuple
    scalar: bool = False


def fermion_line(fo: Wave, fi: Wave, insertions: Sequence[Insertion], mass, width=0.0):
    """``i M`` of one diagram: the line with ``insertions`` in this order, read from ``<fo|`` to
    ``|fi>`` (at least one insertion)."""
    for ins in reversed(insertions[1:]):
        step = vx.off_fermion_in_s if ins.scalar else vx.off_fermion_in
        fi = step(fi, ins.wave, ins.coupling, mass, width)
    first = insertions[0]
    close = vx.amp_ffs if first.scalar else vx.amp_ffv
    return close(fo, fi, first.wave, first.coupling)


def vector_current(
    fo: Wave,
    fi: Wave,
    before,
    after,
    coupling,
    vector_mass,
    fermion_mass,
    fermion_width=0.0,
    vector_width=0.0,
):
    """The off-shell vector from a line whose other insertions sit ``before`` (on the ``<fo|``
    side, in order) and ``after`` (on the ``|fi>`` side) the vector's vertex."""
    for ins in reversed(after):
        step = vx.off_fermion_in_s if ins.scalar else vx.off_fermion_in
        fi = step(fi, ins.wave, ins.coupling, fermion_mass, fermion_width)
    for ins in before:
        step = vx.off_fermion_out_s if ins.scalar else vx.off_fermion_out
        fo = step(fo, ins.wave, ins.coupling, fermion_mass, fermion_width)
    return vx.off_vector(fo, fi, coupling, vector_mass, vector_width)


def colour_sum(amplitudes: Sequence[np.ndarray], colour_matrix) -> np.ndarray:
    """``sum_hel sum_ij A_i C_ij A_j^*`` for colour-ordered amplitudes ``A_i`` of shape ``[h_1,
    ..., h_n, N]`` (broadcastable; helicity axes first) and the hermitian colour matrix ``C``:
    ``[N]``."""
    amps = np.broadcast_arrays(*amplitudes)
    n_events = amps[0].shape[-1]
    a = np.stack([x.reshape(-1, n_events) for x in amps])  # [K, H, N]
    c = np.asarray(colour_matrix)
    return np.einsum("ihn,ij,jhn->n", a, c, np.conj(a)).real
