"""CMS NanoAOD -> the event record (uproot + awkward, vectorised over events).

NanoAOD stores one flat TTree, ``Events``; a collection ``Jet`` is a counter ``nJet`` and jagged
branches ``Jet_pt``, ``Jet_eta``...; per-event quantities are scalars (``MET_pt``, ``genWeight``).

Branches read:

=================  ==========================================================  ===============
collection         branches                                                    notes
=================  ==========================================================  ===============
jets               ``Jet_pt``, ``Jet_eta``, ``Jet_phi``, b-tag discriminant    see below
electrons          ``Electron_pt``, ``_eta``, ``_phi``, ``_charge``
muons              ``Muon_pt``, ``_eta``, ``_phi``, ``_charge``
photons            ``Photon_pt``, ``_eta``, ``_phi``
MET                ``MET_pt``, ``MET_phi``                                     scalars
weight             ``genWeight`` (optional; 1 when absent)                     scalar
truth              ``GenPart_pdgId``, ``_genPartIdxMother``, ``_statusFlags``,  optional
                   ``_pt``, ``_eta``, ``_phi``
=================  ==========================================================  ===============

b-tagging: a jet is b-tagged when its discriminant is above the threshold (CMS working points are
"discriminant > cut"). The default is DeepJet (``Jet_btagDeepFlavB``) at 0.2783, the medium
working point of the Run-2 2018 ultra-legacy calibration (about 1% light-jet mistag rate); pass
``btag_branch``/``btag_threshold`` for another tagger, era or working point.

Truth: ``GenPart_statusFlags`` bit 13 is ``isLastCopy``; ``GenPart_genPartIdxMother`` indexes the
mother within the event's GenPart list (-1 for none). NanoAOD prunes the generator record, but keeps
the last copies of H, t, W, Z and their decay products, which is what the targets need.
"""

from __future__ import annotations

import os
from pathlib import Path

import awkward as ak

from .._core.errors import InputError
from ._uproot import (
    finish,
    has_branch,
    open_tree,
    read_branches,
    read_weight,
    standard_collections,
)
from .selection import DEFAULT_CUTS, SelectionCuts
from .truth import targets_from_particles

KIND = "NanoAOD"

DEFAULT_BTAG_BRANCH = "Jet_btagDeepFlavB"
DEFAULT_BTAG_THRESHOLD = 0.2783
"""DeepJet medium working point, Run-2 2018 ultra-legacy (UL18)."""

IS_LAST_COPY_BIT = 13

BRANCHES: dict[str, str] = {
    "jet pT": "Jet_pt",
    "jet eta": "Jet_eta",
    "jet phi": "Jet_phi",
    "electron pT": "Electron_pt",
    "electron eta": "Electron_eta",
    "electron phi": "Electron_phi",
    "electron charge": "Electron_charge",
    "muon pT": "Muon_pt",
    "muon eta": "Muon_eta",
    "muon phi": "Muon_phi",
    "muon charge": "Muon_charge",
    "photon pT": "Photon_pt",
    "photon eta": "Photon_eta",
    "photon phi": "Photon_phi",
    "missing ET": "MET_pt",
    "missing ET phi": "MET_phi",
}
"""Required branches: what each holds -> its NanoAOD name (plus the b-tag branch)."""

WEIGHT_BRANCH = "genWeight"

GENPART_BRANCHES: dict[str, str] = {
    "pid": "GenPart_pdgId",
    "mother": "GenPart_genPartIdxMother",
    "flags": "GenPart_statusFlags",
    "pt": "GenPart_pt",
    "eta": "GenPart_eta",
    "phi": "GenPart_phi",
}


def read_nanoaod(
    path: str | os.PathLike,
    *,
    process: str | None = None,
    btag_branch: str = DEFAULT_BTAG_BRANCH,
    btag_threshold: float = DEFAULT_BTAG_THRESHOLD,
    cuts: SelectionCuts = DEFAULT_CUTS,
    tree: str = "Events",
    entries: tuple[int, int] | None = None,
    weight_branch: str | None = None,
    keep_empty: bool = False,
) -> ak.Array:
    """Read a CMS NanoAOD file into the event record.

    Objects pass the shared selection and overlap removal; events left without any object are
    excluded with an :class:`~eventgnn.events.selection.EmptyEventsWarning` giving the count.
    ``process`` defaults to the file stem; ``source`` is ``"file:entry"``. Targets come from
    ``GenPart`` when present (simulation), else they are NaN (collision data). Weights come from
    ``weight_branch`` (which must exist) or ``genWeight`` when present. ``tree``: the TTree to
    read, for a skim whose tree is not ``Events`` (``read_events`` and ``convert`` recognise such a
    file by that tree's branches).

    Raises :class:`~eventgnn.events.io.InputError` for an unreadable file, a missing tree or a
    missing branch (the message names the file and the branch).
    """
    path = Path(path)
    wanted = dict(BRANCHES)
    wanted["jet b-tag discriminant"] = btag_branch
    with open_tree(path, tree, KIND) as t:
        b = read_branches(t, path, wanted, KIND, entries=entries)
        weight = read_weight(t, path, weight_branch, WEIGHT_BRANCH, KIND, entries)
        gen = None
        if has_branch(t, "GenPart_pdgId"):
            gen = read_branches(t, path, GENPART_BRANCHES, KIND, finite=False, entries=entries)

        _check_discriminant(t, path, btag_branch, b["jet b-tag discriminant"])

    btag = b["jet b-tag discriminant"] > btag_threshold
    objects = standard_collections(b, btag, path, ("MET_pt", "MET_phi"))
    targets = None
    if gen is not None:
        last = ((gen["flags"] >> IS_LAST_COPY_BIT) & 1) == 1
        targets = targets_from_particles(
            gen["pid"], gen["mother"], last, gen["pt"], gen["eta"], gen["phi"]
        )
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


def from_nanoevents(
    events: ak.Array,
    *,
    process: str = "nanoevents",
    btag_branch: str = DEFAULT_BTAG_BRANCH,
    btag_threshold: float = DEFAULT_BTAG_THRESHOLD,
    cuts: SelectionCuts = DEFAULT_CUTS,
) -> ak.Array:
    """The event record of coffea NanoEvents (or any array with NanoAOD's collections as
    fields: ``events.Jet.pt``, ``events.MET.phi``...), with the selection of :func:`read_nanoaod`
    and one row per event (an event left without objects has none: it cannot be scored), so the
    rows stay aligned with ``events``. Weights from ``genWeight`` when present; ``source`` is
    the chunk's file (``events.metadata["filename"]``) and entry."""

    def values(branch: str) -> ak.Array:
        collection, name = branch.split("_", 1)
        return ak.Array(ak.without_parameters(events[collection][name]))

    b = {quantity: values(branch) for quantity, branch in BRANCHES.items()}
    btag = values(btag_branch) > btag_threshold
    metadata = getattr(events, "metadata", None) or {}
    path = Path(metadata.get("filename", "nanoevents"))
    weight = ak.to_numpy(events.genWeight) if "genWeight" in events.fields else None
    objects = standard_collections(b, btag, path, ("MET_pt", "MET_phi"))
    return finish(path, **objects, weight=weight, targets=None, process=process, cuts=cuts,
                  first_entry=int(metadata.get("entrystart", 0)), keep_empty=True)  # fmt: skip


def _check_discriminant(tree, path: Path, branch: str, values: ak.Array) -> None:
    """A b-tag discriminant lies in [0, 1]. A branch whose values all lie outside (the 2015 CMS
    Open Data files hold ``Jet_btagDeepFlavB = -3000``, a placeholder for a tagger that was not
    run) would tag no jet, silently: an error naming the branch and the ones that could serve."""
    flat = ak.to_numpy(ak.flatten(values, axis=None))
    if len(flat) == 0 or ((flat >= 0) & (flat <= 1)).any():
        return
    others = sorted(k for k in tree.keys() if k.startswith("Jet_btag") and k != branch)
    raise InputError(
        f"{path}: b-tag branch '{branch}' holds no value in [0, 1] (all {len(flat):,} jets, for "
        f"example {flat[0]:g}: a placeholder, the tagger was not run); choose another with "
        f"--btag-branch and its --btag-threshold (this file has {', '.join(others) or 'none'})"
    )


__all__ = ["read_nanoaod", "BRANCHES", "GENPART_BRANCHES", "DEFAULT_BTAG_THRESHOLD"]
