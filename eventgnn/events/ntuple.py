"""Flat ntuples -> the event record, through a branch map that says which branch holds what.

A branch map is a YAML file (or the same thing as a dict)::

    tree: mytree               # the TTree to read (required)
    process: ttbar             # optional; the process name stored in every event
    jets:      {pt: jet_pt, eta: jet_eta, phi: jet_phi, btag: jet_isb}
    electrons: {pt: el_pt, eta: el_eta, phi: el_phi, charge: el_q}
    muons:     {pt: mu_pt, eta: mu_eta, phi: mu_phi, charge: mu_q}
    photons:   {pt: ph_pt, eta: ph_eta, phi: ph_phi}
    met:       {pt: met, phi: met_phi}
    weight: w                  # optional; 1 when absent

Collections are jagged branches (one list per event), in GeV; ``met`` and ``weight`` are per-event
scalars (or one-element lists). Any collection may be left out (it is then empty in every event;
without ``met`` events have no MET object). ``btag`` and ``charge`` are optional inside their
collection (0 when absent). ``btag`` is a flag (non-zero means tagged) unless ``btag_threshold``
is given in ``jets``, in which case a jet is tagged when the branch value is above it (a
discriminant). The map is checked before reading: an unknown key, or a branch the file lacks, is an
:class:`~eventgnn.events.io.InputError` naming the file, the map key and the branch.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import awkward as ak
import numpy as np
import yaml

from .._core.errors import InputError
from ._uproot import (
    NO_WEIGHT,
    collection,
    empty_collection,
    finish,
    has_branch,
    one_per_event,
    open_tree,
    read_branches,
)
from .selection import DEFAULT_CUTS, SelectionCuts

KIND = "flat ntuple"

COLLECTION_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "jets": (("pt", "eta", "phi"), ("btag", "btag_threshold")),
    "electrons": (("pt", "eta", "phi"), ("charge",)),
    "muons": (("pt", "eta", "phi"), ("charge",)),
    "photons": (("pt", "eta", "phi"), ()),
    "met": (("pt", "phi"), ()),
}
"""Per collection: (required keys, optional keys) of its branch-map entry."""

TOP_KEYS = ("tree", "process", "weight", *COLLECTION_KEYS)


def load_branch_map(branch_map: str | os.PathLike | Mapping, where: str = "") -> dict:
    """Load (YAML path) and check the structure of a branch map; returns a plain dict."""
    if isinstance(branch_map, Mapping):
        name = "branch map"
        bm = dict(branch_map)
    else:
        name = str(branch_map)
        try:
            with open(branch_map) as fh:
                bm = yaml.safe_load(fh)
        except OSError as err:
            prefix = f"{where}: " if where else ""
            raise InputError(f"{prefix}cannot read branch map {name} ({err})") from err
        except yaml.YAMLError as err:
            raise InputError(f"{name}: not valid YAML ({err})") from err
    prefix = f"{where}: branch map" if where else name
    if not isinstance(bm, dict):
        raise InputError(
            f"{prefix}: expected a mapping of keys to branches, got {type(bm).__name__}"
        )
    unknown = sorted(set(bm) - set(TOP_KEYS))
    if unknown:
        raise InputError(
            f"{prefix}: unknown key '{unknown[0]}' (expected some of {', '.join(TOP_KEYS)})"
        )
    if not isinstance(bm.get("tree"), str):
        raise InputError(f"{prefix}: key 'tree' must name the TTree to read")
    for key in ("process", "weight"):
        if key in bm and not isinstance(bm[key], str):
            raise InputError(f"{prefix}: key '{key}' must be a string, got {bm[key]!r}")
    for coll, (required, optional) in COLLECTION_KEYS.items():
        if coll not in bm:
            continue
        entry = bm[coll]
        if not isinstance(entry, dict):
            raise InputError(f"{prefix}: key '{coll}' must map {', '.join(required)} to branches")
        for sub in entry:
            if sub not in required + optional:
                raise InputError(
                    f"{prefix}: unknown key '{coll}.{sub}' (expected "
                    f"{', '.join(required + optional)})"
                )
        for sub in required:
            if sub not in entry:
                raise InputError(
                    f"{prefix}: key '{coll}.{sub}' is missing (the {coll} {sub} branch)"
                )
        for sub, value in entry.items():
            ok = (
                isinstance(value, (int, float))
                if sub == "btag_threshold"
                else isinstance(value, str)
            )
            if not ok:
                raise InputError(f"{prefix}: key '{coll}.{sub}' has a bad value {value!r}")
    return bm


def read_ntuple(
    path: str | os.PathLike,
    *,
    branch_map: str | os.PathLike | Mapping,
    process: str | None = None,
    cuts: SelectionCuts = DEFAULT_CUTS,
    entries: tuple[int, int] | None = None,
    weight_branch: str | None = None,
    keep_empty: bool = False,
) -> ak.Array:
    """Read a flat ntuple into the event record, following ``branch_map`` (YAML path or dict).

    ``process`` (argument) wins over the map's ``process``, which wins over the file stem.
    Selection, overlap removal and the exclusion of empty events are those of every reader.
    Targets are NaN (a flat ntuple has no generator record we could interpret).
    """
    path = Path(path)
    bm = load_branch_map(branch_map, str(path))
    if weight_branch == NO_WEIGHT:  # unit weights, whatever the map says
        bm = {k: v for k, v in bm.items() if k != "weight"}
    elif weight_branch is not None:  # the option wins over the map's weight
        bm = {**bm, "weight": weight_branch}
    wanted: dict[str, str] = {}
    for coll in COLLECTION_KEYS:
        for sub, branch in bm.get(coll, {}).items():
            if sub != "btag_threshold":
                wanted[f"{coll}.{sub}"] = branch
    if "weight" in bm:
        wanted["weight"] = bm["weight"]
    with open_tree(path, bm["tree"], KIND) as t:
        for key, branch in wanted.items():
            if not has_branch(t, branch):
                raise InputError(
                    f"{path}: branch map key '{key}' names branch '{branch}', which tree "
                    f"'{bm['tree']}' does not have"
                )
        b = read_branches(t, path, wanted, KIND, entries=entries)
        n = t.num_entries
        if entries is not None:
            n = max(0, min(entries[1], n) - entries[0])

    def coll(name: str, extra: str | None) -> ak.Array:
        if name not in bm:
            return empty_collection(n, ("pt", "eta", "phi") + ((extra,) if extra else ()))
        fields = {k: b[f"{name}.{k}"] for k in ("pt", "eta", "phi")}
        for k in fields:
            if fields[k].ndim != 2:
                raise InputError(
                    f"{path}: branch map key '{name}.{k}' names branch '{bm[name][k]}', which is "
                    f"not a jagged (per-object list) branch: got type {ak.type(fields[k])}"
                )
        if extra is not None:
            key = f"{name}.{extra}"
            if key in b:
                value = b[key]
                if extra == "btag":
                    thr = bm[name].get("btag_threshold")
                    value = value > thr if thr is not None else value != 0
                fields[extra] = value
            else:
                fields[extra] = ak.values_astype(fields["pt"] * 0, np.int8)
        return collection(**fields)

    met = None
    if "met" in bm:
        met = ak.zip(
            {
                "pt": one_per_event(b["met.pt"], path, bm["met"]["pt"]),
                "phi": one_per_event(b["met.phi"], path, bm["met"]["phi"]),
            }
        )
    weight = one_per_event(b["weight"], path, bm["weight"]) if "weight" in bm else None
    return finish(
        path,
        jets=coll("jets", "btag"),
        electrons=coll("electrons", "charge"),
        muons=coll("muons", "charge"),
        photons=coll("photons", None),
        met=met,
        weight=weight,
        targets=None,
        process=process if process is not None else bm.get("process"),
        cuts=cuts,
        first_entry=entries[0] if entries else 0,
        keep_empty=keep_empty,
    )


__all__ = ["read_ntuple", "load_branch_map"]
