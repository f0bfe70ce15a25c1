"""Object selection and overlap removal shared by every reader (paper, section II).

Every cut is inclusive at its threshold (``pT >= 25`` keeps 25 GeV); the calorimeter crack
``1.37 < |eta| < 1.52`` is open, so 1.37 and 1.52 themselves are kept; overlap removal drops jets
with ``Delta R < 0.4`` (strictly) to a selected photon or lepton.

Kinematics are cast to float32 (the precision of the event record and of Delphes/NanoAOD
branches) and compared with float32 thresholds: a cut at ``2.47`` means the float32 nearest 2.47,
so an object stored at eta = 2.47 is kept whatever the input precision and numpy's promotion rules
(compared in float64, float32(2.47) = 2.4700000286 > 2.47 would drop it, and
float32(1.52) = 1.5199999809 < 1.52 would put it inside the crack).

All functions take jagged awkward records with at least ``pt, eta, phi`` per object and work on
whole arrays of events at once.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, fields

import awkward as ak
import numpy as np

from .._core.errors import EmptyEventsWarning
from .physics import delta_r, massless_energy
from .schema import OBJECT_FIELDS, ObjectType


@dataclass(frozen=True)
class SelectionCuts:
    """Thresholds of the object selection. Defaults are the paper's (ATLAS-like)."""

    photon_pt: float = 20.0
    photon_eta: float = 2.37
    electron_pt: float = 10.0
    electron_eta: float = 2.47
    muon_pt: float = 10.0
    muon_eta: float = 2.7
    jet_pt: float = 25.0
    jet_eta: float = 2.5
    crack: tuple[float, float] = (1.37, 1.52)
    overlap_dr: float = 0.4

    @classmethod
    def from_mapping(cls, values, where: str) -> SelectionCuts:
        """Cuts from a mapping of field names to thresholds (a task file's ``cuts``, a recorded
        reader option), the others at their defaults; an unknown name or a value that is not a
        number (``crack``: two numbers) is a :class:`ValueError` naming ``where`` and the field."""
        if isinstance(values, cls):
            return values
        if not isinstance(values, dict):
            raise ValueError(f"{where}: expected a mapping of cut names to thresholds")
        names = [f.name for f in fields(cls)]
        out = {}
        for key, value in values.items():
            if key not in names:
                raise ValueError(f"{where}: unknown cut '{key}' (expected {', '.join(names)})")
            pair = key == "crack"
            items = value if pair and isinstance(value, (list, tuple)) else [value]
            if len(items) != (2 if pair else 1) or not all(_is_number(v) for v in items):
                want = "two numbers [low, high]" if pair else "a number"
                raise ValueError(f"{where}: cut '{key}': expected {want}, got {value!r}")
            out[key] = tuple(float(v) for v in items) if pair else float(value)
        return cls(**out)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


DEFAULT_CUTS = SelectionCuts()


def _f32(value: float) -> np.float32:
    """A threshold at the record's precision (see the module docstring)."""
    return np.float32(value)


def _outside_crack(eta, crack):
    aeta = abs(eta)
    return (aeta <= _f32(crack[0])) | (aeta >= _f32(crack[1]))


def _as_float32(coll: ak.Array) -> ak.Array:
    """Kinematic fields in float32 (inputs may be float64); other fields untouched."""
    return ak.zip(
        {
            k: ak.values_astype(coll[k], np.float32) if k in ("pt", "eta", "phi") else coll[k]
            for k in ak.fields(coll)
        }
    )


def select_photons(photons: ak.Array, cuts: SelectionCuts = DEFAULT_CUTS) -> ak.Array:
    keep = (
        (photons.pt >= _f32(cuts.photon_pt))
        & (abs(photons.eta) <= _f32(cuts.photon_eta))
        & _outside_crack(photons.eta, cuts.crack)
    )
    return photons[keep]


def select_electrons(electrons: ak.Array, cuts: SelectionCuts = DEFAULT_CUTS) -> ak.Array:
    keep = (
        (electrons.pt >= _f32(cuts.electron_pt))
        & (abs(electrons.eta) <= _f32(cuts.electron_eta))
        & _outside_crack(electrons.eta, cuts.crack)
    )
    return electrons[keep]


def select_muons(muons: ak.Array, cuts: SelectionCuts = DEFAULT_CUTS) -> ak.Array:
    return muons[(muons.pt >= _f32(cuts.muon_pt)) & (abs(muons.eta) <= _f32(cuts.muon_eta))]


def select_jets(jets: ak.Array, cuts: SelectionCuts = DEFAULT_CUTS) -> ak.Array:
    return jets[(jets.pt >= _f32(cuts.jet_pt)) & (abs(jets.eta) <= _f32(cuts.jet_eta))]


def remove_overlaps(jets: ak.Array, others: ak.Array, dr: float = 0.4) -> ak.Array:
    """Drop jets within ``Delta R < dr`` of any object in ``others`` (same events)."""
    pairs = ak.cartesian({"j": jets, "o": others}, axis=1, nested=True)  # [ev, jet, other]
    d = delta_r(pairs.j.eta, pairs.j.phi, pairs.o.eta, pairs.o.phi)
    close = ak.any(d < dr, axis=2)
    return jets[~ak.fill_none(close, False)]


def _as_objects(coll: ak.Array, obj_type: ObjectType) -> ak.Array:
    """Give a selected collection every field of the event record (placeholders 0)."""
    zeros = ak.values_astype(coll.pt * 0, np.int8)
    fields = ak.fields(coll)
    is_met = obj_type == ObjectType.MET
    eta = coll.pt * 0 if is_met else coll.eta
    return ak.zip(
        {
            "pt": ak.values_astype(coll.pt, np.float32),
            "eta": ak.values_astype(eta, np.float32),
            "phi": ak.values_astype(coll.phi, np.float32),
            "energy": ak.values_astype(
                coll.pt if is_met else massless_energy(coll.pt, eta), np.float32
            ),
            "kind": zeros + np.int8(obj_type),
            "btag": ak.values_astype(coll.btag, np.int8) if "btag" in fields else zeros,
            "charge": ak.values_astype(coll.charge, np.int8) if "charge" in fields else zeros,
        }
    )


def build_objects(
    *,
    jets: ak.Array,
    electrons: ak.Array,
    muons: ak.Array,
    photons: ak.Array,
    met: ak.Array | None,
    cuts: SelectionCuts = DEFAULT_CUTS,
) -> ak.Array:
    """Select every collection, remove overlapping jets, and merge into one object list per event.

    ``jets`` need ``btag``, ``electrons`` and ``muons`` need ``charge``; ``met`` is one record per
    event with ``pt`` and ``phi`` (or None when the source has no MET). Objects are ordered jets,
    electrons, muons, photons, MET, each by decreasing pT.
    """
    el = select_electrons(_as_float32(electrons), cuts)
    mu = select_muons(_as_float32(muons), cuts)
    ph = select_photons(_as_float32(photons), cuts)
    j = select_jets(_as_float32(jets), cuts)
    leptons_photons = ak.concatenate(
        [el[["eta", "phi"]], mu[["eta", "phi"]], ph[["eta", "phi"]]], axis=1
    )
    j = remove_overlaps(j, leptons_photons, cuts.overlap_dr)
    parts = [
        _as_objects(_by_pt(j), ObjectType.JET),
        _as_objects(_by_pt(el), ObjectType.ELECTRON),
        _as_objects(_by_pt(mu), ObjectType.MUON),
        _as_objects(_by_pt(ph), ObjectType.PHOTON),
    ]
    if met is not None:
        # explicit counts: ak.unflatten(x, 1) rejects an empty array (a file with no entries)
        met_list = ak.unflatten(ak.zip({"pt": met.pt, "phi": met.phi}), np.ones(len(met), np.int64))
        parts.append(_as_objects(met_list, ObjectType.MET))
    objects = ak.concatenate(parts, axis=1)
    return ak.zip({k: objects[k] for k in OBJECT_FIELDS})


def _by_pt(coll: ak.Array) -> ak.Array:
    return coll[ak.argsort(coll.pt, axis=1, ascending=False, stable=True)]


def drop_empty(events: ak.Array, where: str) -> tuple[ak.Array, int]:
    """Remove events with no selected object, warn with the count; return ``(kept, n_dropped)``."""
    keep = ak.num(events.objects, axis=1) > 0
    n_dropped = int(len(keep) - ak.sum(keep))
    if n_dropped:
        warnings.warn(
            f"{where}: {n_dropped} of {len(keep)} events have no selected object and are excluded",
            EmptyEventsWarning,
            stacklevel=2,
        )
    return events[keep], n_dropped
