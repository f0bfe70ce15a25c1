"""Parton-level leading-order cross sections from the tree-level amplitudes.

- :mod:`.pdf`: Pythia's built-in proton PDF and hard-process alpha_s, tabulated and
  interpolated (vectorised);
- :mod:`.phase_space`: massive n-body phase space from the unit hypercube (sequential two-body
  splittings) with its weights;
- :mod:`.vegas`: a VEGAS importance sampler on the unit hypercube;
- :mod:`.scales`: factorisation and renormalisation scales from the final-state momenta;
- :mod:`.processes`: hadronic processes (partonic channels, amplitudes, cuts) and
  :func:`.processes.cross_section`.

Not yet wired into the generator, the catalog or the command line (docs/amplitudes.md).
``pythia8mc`` is imported only when a :class:`.pdf.PartonDensities` is built.
"""

from __future__ import annotations

from .pdf import PartonDensities
from .phase_space import generate as phase_space_point
from .processes import PROCESSES, Process, cross_section, process
from .vegas import Estimate, Vegas

__all__ = [
    "PROCESSES",
    "Estimate",
    "PartonDensities",
    "Process",
    "Vegas",
    "cross_section",
    "phase_space_point",
    "process",
]
