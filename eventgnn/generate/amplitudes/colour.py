"""SU(3) colour algebra in numbers: generators, structure constants, and colour matrices of
diagrams computed by summing over explicit colour indices.

For processes with many colour structures (t tbar t tbar) each diagram carries a colour tensor
``c_d`` over the external colour indices (gluons 8, quarks 3), built with :func:`tensor` from
generators ``T^a_ij = lambda^a_ij / 2`` and structure constants ``f^{abc}``; the colour matrix of
the diagrams is ``C_de = sum_colours c_d c_e^*`` (:func:`matrix`), so that ``sum |M|^2 = sum_de
A_d C_de A_e^*`` (:func:`.lines.colour_sum`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import numpy as np


@functools.cache
def generators() -> np.ndarray:
    """``T^a = lambda^a / 2`` (Gell-Mann matrices), ``[8, 3, 3]``; ``Tr(T^a T^b) = delta / 2``."""
    lam = np.zeros((8, 3, 3), dtype=complex)
    lam[0][0, 1] = lam[0][1, 0] = 1
    lam[1][0, 1], lam[1][1, 0] = -1j, 1j
    lam[2][0, 0], lam[2][1, 1] = 1, -1
    lam[3][0, 2] = lam[3][2, 0] = 1
    lam[4][0, 2], lam[4][2, 0] = -1j, 1j
    lam[5][1, 2] = lam[5][2, 1] = 1
    lam[6][1, 2], lam[6][2, 1] = -1j, 1j
    lam[7] = np.diag([1, 1, -2]) / np.sqrt(3)
    return lam / 2


@functools.cache
def structure_constants() -> np.ndarray:
    """``f^{abc} = -2 i Tr([T^a, T^b] T^c)``, real, ``[8, 8, 8]``."""
    t = generators()
    comm = np.einsum("aij,bjk->abik", t, t) - np.einsum("bij,ajk->abik", t, t)
    return (-2j * np.einsum("abik,cki->abc", comm, t)).real


@functools.lru_cache(maxsize=4096)
def tensor(spec: str, *factors: str) -> np.ndarray:
    """A colour tensor from named factors, like ``numpy.einsum``: each factor is ``"T:aij"``
    (``T^a_ij``), ``"f:abc"`` or ``"d:ij"`` (``delta_ij``); ``spec`` names the output indices.
    Gluon indices run over 8 values, quark indices over 3 (told apart by the factor kinds).
    Cached (the result is read-only): a process asks for the same tensors at every call."""
    arrays, subscripts = [], []
    for factor in factors:
        kind, idx = factor.split(":")
        arrays.append({"T": generators(), "f": structure_constants(), "d": np.eye(3)}[kind])
        subscripts.append(idx)
    out = np.einsum(",".join(subscripts) + "->" + spec, *arrays, optimize=True)
    out.flags.writeable = False
    return out


def matrix(tensors) -> np.ndarray:
    """``C_de = sum_colours c_d c_e^*`` of a list of same-shaped colour tensors, ``[D, D]``."""
    flat = np.stack([np.asarray(c).ravel() for c in tensors])
    return flat @ flat.conj().T


@functools.lru_cache(maxsize=64)
def matrix_of(spec: str, diagrams: tuple[tuple[str, ...], ...]) -> np.ndarray:
    """:func:`matrix` of the tensors ``tensor(spec, *factors)`` for each ``factors`` in
    ``diagrams``, cached (read-only)."""
    out = matrix([tensor(spec, *factors) for factors in diagrams])
    out.flags.writeable = False
    return out


def chain(labels, row: str, col: str, fresh: Iterator[str]) -> list[str]:
    """The colour factors ``(T^l1 T^l2 ...)_{row col}`` of a fermion line with gluons ``labels``
    (from the ``<fo|`` end; no gluon: ``delta_{row col}``), inner indices from ``fresh``."""
    if not labels:
        return [f"d:{row}{col}"]
    inner = [next(fresh) for _ in labels[:-1]]
    ends = [row, *inner, col]
    return [f"T:{lab}{ends[i]}{ends[i + 1]}" for i, lab in enumerate(labels)]


class Diagrams:
    """Collects diagrams: ``i M`` and the colour factors of its colour tensor over ``spec`` (the
    external colour indices); inner fermion-line indices are drawn from ``fresh``, letters that no
    external or gluon index may use."""

    def __init__(self, spec: str, fresh: str = "mnopqtuvw"):
        self.spec, self.fresh, self.amps, self.factors = spec, fresh, [], []

    def add(self, amp, sign, lines, *extra: str) -> None:
        """``lines``: ``(gluon labels, row, col)`` per fermion line; ``extra``: more factors."""
        fresh = iter(self.fresh)
        factors = [f for labels, r, c in lines for f in chain(labels, r, c, fresh)]
        self.amps.append(sign * amp)
        self.factors.append((*factors, *extra))

    @property
    def colour_matrix(self) -> np.ndarray:
        return matrix_of(self.spec, tuple(self.factors))
