"""A vectorised tree-level amplitude engine (HELAS-style helicity amplitudes in numpy).

Conventions (one place for the whole subpackage): four-momenta are ``[N, 4]`` float arrays ``(E,
px, py, pz)`` in GeV, metric ``(+, -, -, -)``; Dirac matrices in the chiral representation
(:mod:`.lorentz`); external wavefunctions in the HELAS/ALOHA helicity basis
(:mod:`.wavefunctions`), with helicity axes first and events last; Feynman rules, couplings and
default parameters in :mod:`.parameters`; vertices and off-shell currents in :mod:`.vertices`;
fermion lines and the helicity/colour sum in :mod:`.lines`; SU(3) colour tensors and matrices in
numbers in :mod:`.colour`; the shared diagrams of a heavy-quark pair plus colourless bosons in
:mod:`.heavy_pair`. Processes, each returning the spin- and colour-summed, initial-state-averaged
``|M|^2`` per event (no identical-particle factor):

- :mod:`.ttbar`: g g / q qbar -> t tbar;
- :mod:`.tth`: g g / q qbar -> t tbar H (optionally a CP-mixed top Yukawa);
- :mod:`.ttw`: q qbar' -> t tbar W+- (MadGraph's ``p p > t t~ w+``);
- :mod:`.thq`: t-channel t H q (``u b -> t H d`` and relatives) and t-channel single top;
- :mod:`.ttaa`: g g / q qbar -> t tbar gamma gamma;
- :mod:`.tttt`: g g / q qbar -> t tbar t tbar;
- :mod:`.ttt`: q b -> t t tbar q' and g b -> t t tbar W- (and conjugates).

Everything is numpy ``complex128``, vectorised over events (no Python loop over events); the
small loops over diagrams are explicit. See ``docs/amplitudes.md`` for what each process contains
and how it is validated.
"""

from __future__ import annotations

from .errors import AmplitudeError
from .parameters import MADGRAPH_WIDTHS, STANDARD_MODEL, Parameters

__all__ = ["MADGRAPH_WIDTHS", "STANDARD_MODEL", "AmplitudeError", "Parameters"]
