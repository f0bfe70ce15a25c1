"""Parton-level leading-order cross sections from the tree-level amplitudes.

- :mod:`.pdf`: Pythia's built-in proton PDF and hard-process alpha_s, tabulated and
  interpolated (vectorised);
- :mod:`.phase_space`: massive n-body phase space from the unit hypercube (sequential two-body
  splittings) with its weights;
- :mod:`.vegas`: a VEGAS importance sampler on the unit hypercube;
- :mod:`.processes`: hadronic processes (partonic channels, amplitudes, scales, cuts) and
  :func:`.processes.cross_section`.

Not yet wired into the generator, the catalog or the command line (docs/amplitudes.md).
"""
