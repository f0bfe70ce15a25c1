"""Delphes ROOT trees -> the event record (uproot + awkward, vectorised over events).

Delphes writes one TTree, ``Delphes``, with one split ``TClonesArray`` branch per collection: the
branch ``Jet`` has sub-branches ``Jet.PT``, ``Jet.Eta``... (uproot lists them as ``Jet/Jet.PT``) and
a counter ``Jet_size``. uproot finds ``Jet.PT`` at any depth, so this reader works on files written
by Delphes itself and on flat trees that use the same branch names (as the tests write them).

Branches read (``DelphesClasses.h``):

=================  =====================================================  ====================
collection         branches                                               notes
=================  =====================================================  ====================
jets               ``Jet.PT``, ``Jet.Eta``, ``Jet.Phi``, ``Jet.BTag``     b-tag: bit 0 of BTag
electrons          ``Electron.PT``, ``.Eta``, ``.Phi``, ``.Charge``
muons              ``Muon.PT``, ``.Eta``, ``.Phi``, ``.Charge``
photons            ``Photon.PT``, ``.Eta``, ``.Phi``
MET                ``MissingET.MET``, ``MissingET.Phi``                   one entry per event
weight             ``Event.Weight`` (optional; 1 when absent)             one entry per event
truth              ``Particle.PID``, ``.M1``, ``.D1``, ``.D2``,            optional; NaN targets
                   ``.PT``, ``.Eta``, ``.Phi``                            when absent
=================  =====================================================  ====================

``Jet.BTag`` is a bit mask: bit ``i`` is set when the jet passes the ``i``-th b-tagging working
point of the Delphes card (``BitNumber`` in the ``BTagging`` module); the default cards define one
(bit 0), which is what the paper's samples used.
"""

from __future__ import annotations

import os
from pathlib import Path

import awkward as ak

from ._uproot import (
    finish,
    has_branch,
    open_tree,
    read_branches,
    read_weight,
    standard_collections,
)
from .selection import DEFAULT_CUTS, SelectionCuts
from .truth import last_copy_from_daughters, targets_from_particles

KIND = "Delphes"

BRANCHES: dict[str, str] = {
    "jet pT": "Jet.PT",
    "jet eta": "Jet.Eta",
    "jet phi": "Jet.Phi",
    "jet b-tag bits": "Jet.BTag",
    "electron pT": "Electron.PT",
    "electron eta": "Electron.Eta",
    "electron phi": "Electron.Phi",
    "electron charge": "Electron.Charge",
    "muon pT": "Muon.PT",
    "muon eta": "Muon.Eta",
    "muon phi": "Muon.Phi",
    "muon charge": "Muon.Charge",
    "photon pT": "Photon.PT",
    "photon eta": "Photon.Eta",
    "photon phi": "Photon.Phi",
    "missing ET": "MissingET.MET",
    "missing ET phi": "MissingET.Phi",
}
"""Required branches: what each holds -> its Delphes name."""

WEIGHT_BRANCH = "Event.Weight"

PARTICLE_BRANCHES: dict[str, str] = {
    "pid": "Particle.PID",
    "mother": "Particle.M1",
    "d1": "Particle.D1",
    "d2": "Particle.D2",
    "pt": "Particle.PT",
    "eta": "Particle.Eta",
    "phi": "Particle.Phi",
}
"""Generator record (the ``Particle`` branch), read when present for the multilabel truth."""

BTAG_BIT = 0


def read_delphes(
    path: str | os.PathLike,
    *,
    process: str | None = None,
    cuts: SelectionCuts = DEFAULT_CUTS,
    tree: str = "Delphes",
    btag_bit: int = BTAG_BIT,
    entries: tuple[int, int] | None = None,
    weight_branch: str | None = None,
    keep_empty: bool = False,
) -> ak.Array:
    """Read a Delphes ROOT file into the event record.

    Objects pass the shared selection and overlap removal (:mod:`eventgnn.events.selection`);
    events left without any object are excluded with an
    :class:`~eventgnn.events.selection.EmptyEventsWarning` giving the count. ``process`` defaults
    to the file stem; ``source`` is ``"file:entry"``. Targets come from the ``Particle`` branch
    when the file has one, else they are NaN. Weights come from ``weight_branch`` (which must
    exist) or ``Event.Weight`` when present.

    Raises :class:`~eventgnn.events.io.InputError` for an unreadable file, a missing tree or a
    missing branch (the message names the file and the branch).
    """
    path = Path(path)
    with open_tree(path, tree, KIND) as t:
        b = read_branches(t, path, BRANCHES, KIND, entries=entries)
        weight = read_weight(t, path, weight_branch, WEIGHT_BRANCH, KIND, entries)
        particles = None
        if has_branch(t, "Particle.PID"):
            particles = read_branches(
                t, path, PARTICLE_BRANCHES, KIND, finite=False, entries=entries
            )

    btag = (b["jet b-tag bits"] >> btag_bit) & 1
    objects = standard_collections(b, btag, path, ("MissingET.MET", "MissingET.Phi"))
    targets = None
    if particles is not None:
        p = particles
        last = last_copy_from_daughters(p["pid"], p["d1"], p["d2"])
        targets = targets_from_particles(p["pid"], p["mother"], last, p["pt"], p["eta"], p["phi"])
    return finish(
        path,
        **objects,
        weight=weight,
        targets=targets,
        process=process,
        cuts=cuts,
        first_entry=entries[0] if entries else 0,
        keep_empty=keep_empty,
    )


__all__ = ["read_delphes", "BRANCHES", "PARTICLE_BRANCHES", "WEIGHT_BRANCH"]
