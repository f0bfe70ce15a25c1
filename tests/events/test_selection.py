"""Every cut of the shared selection, and the overlap removal, at its boundary.

Objects are given in float32 (the precision of the record and of Delphes/NanoAOD branches), so
"exactly at the threshold" means the float32 value of the threshold.
"""

from __future__ import annotations

import math

import awkward as ak
import numpy as np
import pytest

from eventgnn.events.schema import OBJECT_FIELDS, ObjectType, make_events
from eventgnn.events.selection import (
    DEFAULT_CUTS,
    EmptyEventsWarning,
    SelectionCuts,
    build_objects,
    drop_empty,
)

F4 = np.float32


def _coll(rows, extra=None):
    """One event per row; each row one object ``(pt, eta, phi[, extra])``."""
    names = ["pt", "eta", "phi"] + ([extra] if extra else [])
    cols = {n: np.array([r[k] for r in rows], F4 if k < 3 else np.int32)
            for k, n in enumerate(names)}  # fmt: skip
    return ak.zip({n: ak.unflatten(v, np.ones(len(rows), np.int64)) for n, v in cols.items()})


def _empty(n, extra=None):
    names = ["pt", "eta", "phi"] + ([extra] if extra else [])
    z = ak.unflatten(np.zeros(0, F4), np.zeros(n, np.int64))
    return ak.zip({k: z for k in names})


def _kept(kind: str, rows) -> list[bool]:
    """Which single-object events keep their object of ``kind`` (no MET)."""
    n = len(rows)
    colls = {
        "jets": _empty(n, "btag"),
        "electrons": _empty(n, "charge"),
        "muons": _empty(n, "charge"),
        "photons": _empty(n),
    }
    extra = {"jets": "btag", "electrons": "charge", "muons": "charge", "photons": None}[kind]
    colls[kind] = _coll([r + ((1,) if extra else ()) for r in rows], extra)
    objects = build_objects(**colls, met=None)
    return (ak.num(objects, axis=1) == 1).to_list()


def below(x: float) -> float:
    """The float32 just below float32(x)."""
    return float(np.nextafter(F4(x), F4(-np.inf)))


def above(x: float) -> float:
    return float(np.nextafter(F4(x), F4(np.inf)))


@pytest.mark.parametrize(
    ("kind", "pt_cut"),
    [("jets", 25.0), ("electrons", 10.0), ("muons", 10.0), ("photons", 20.0)],
)
def test_pt_threshold_is_inclusive(kind, pt_cut):
    rows = [(pt_cut, 0.5, 0.0), (below(pt_cut), 0.5, 0.0), (pt_cut - 0.01, 0.5, 0.0)]
    assert _kept(kind, rows) == [True, False, False]


@pytest.mark.parametrize(
    ("kind", "eta_cut"),
    [("jets", 2.5), ("electrons", 2.47), ("muons", 2.7), ("photons", 2.37)],
)
def test_eta_edge_is_inclusive(kind, eta_cut):
    rows = [
        (100.0, eta_cut, 0.0),
        (100.0, -eta_cut, 0.0),
        (100.0, above(eta_cut), 0.0),
        (100.0, -above(eta_cut), 0.0),
        (100.0, eta_cut + 0.01, 0.0),
    ]
    assert _kept(kind, rows) == [True, True, False, False, False]


@pytest.mark.parametrize("kind", ["electrons", "photons"])
def test_crack_is_open_interval(kind):
    rows = [
        (100.0, 1.37, 0.0),
        (100.0, 1.52, 0.0),
        (100.0, -1.37, 0.0),
        (100.0, -1.52, 0.0),
        (100.0, 1.45, 0.0),
        (100.0, -1.45, 0.0),
        (100.0, above(1.37), 0.0),
        (100.0, below(1.52), 0.0),
    ]
    assert _kept(kind, rows) == [True, True, True, True, False, False, False, False]


@pytest.mark.parametrize("kind", ["jets", "muons"])
def test_no_crack_for_jets_and_muons(kind):
    assert _kept(kind, [(100.0, 1.45, 0.0), (100.0, -1.45, 0.0)]) == [True, True]


@pytest.mark.parametrize("other", ["electrons", "muons", "photons"])
def test_overlap_removal_at_delta_r_04(other):
    # jet at eta 0; the other object at Delta R = 0.4 -+ 0.001 (in eta, and across phi = +-pi)
    jets = _coll(
        [(50.0, 0.0, 0.0, 1), (50.0, 0.0, 0.0, 1), (50.0, 0.0, 3.1, 1), (50.0, 0.0, 3.1, 1)],
        "btag",
    )
    d_lo, d_hi = 0.399, 0.401
    phi_lo = 3.1 + d_lo - 2 * math.pi  # wraps across +-pi
    phi_hi = 3.1 + d_hi - 2 * math.pi
    rows = [(30.0, d_lo, 0.0), (30.0, d_hi, 0.0), (30.0, 0.0, phi_lo), (30.0, 0.0, phi_hi)]
    extra = None if other == "photons" else "charge"
    colls = {"electrons": _empty(4, "charge"), "muons": _empty(4, "charge"),
             "photons": _empty(4)}  # fmt: skip
    colls[other] = _coll([r + ((1,) if extra else ()) for r in rows], extra)
    objects = build_objects(jets=jets, **colls, met=None)
    has_jet = ak.any(objects.kind == int(ObjectType.JET), axis=1).to_list()
    assert has_jet == [False, True, False, True]
    # the other object is never removed
    assert ak.sum(objects.kind != int(ObjectType.JET), axis=1).to_list() == [1, 1, 1, 1]


def test_overlap_removal_ignores_rejected_leptons():
    # an electron below threshold does not remove the jet next to it
    jets = _coll([(50.0, 0.0, 0.0, 0)], "btag")
    el = _coll([(5.0, 0.1, 0.0, 1)], "charge")
    objects = build_objects(
        jets=jets, electrons=el, muons=_empty(1, "charge"), photons=_empty(1), met=None
    )
    assert objects.kind.to_list() == [[ObjectType.JET]]


def test_objects_ordered_and_complete():
    jets = ak.zip({
        "pt": ak.Array([[30.0, 80.0, 50.0]]), "eta": ak.Array([[0.1, -0.2, 2.0]]),
        "phi": ak.Array([[0.0, 1.0, 2.0]]), "btag": ak.Array([[0, 1, 0]]),
    })  # fmt: skip
    mu = ak.zip({"pt": [[15.0, 40.0]], "eta": [[-1.0, 1.0]], "phi": [[-2.0, -1.0]],
                 "charge": [[1, -1]]})  # fmt: skip
    met = ak.zip({"pt": np.array([33.0]), "phi": np.array([0.5])})
    o = build_objects(jets=jets, electrons=_empty(1, "charge"), muons=mu, photons=_empty(1),
                      met=met)  # fmt: skip
    assert ak.fields(o) == list(OBJECT_FIELDS)
    assert o.pt.to_list() == [[80.0, 50.0, 30.0, 40.0, 15.0, 33.0]]
    assert o.kind.to_list() == [[0, 0, 0, 2, 2, 4]]
    assert o.btag.to_list() == [[1, 0, 0, 0, 0, 0]]
    assert o.charge.to_list() == [[0, 0, 0, -1, 1, 0]]
    assert o.eta.to_list()[0][-1] == 0.0 and o.energy.to_list()[0][-1] == 33.0
    np.testing.assert_allclose(o.energy.to_list()[0][0], 80 * math.cosh(-0.2), rtol=1e-6)
    for name, dtype in OBJECT_FIELDS.items():
        assert ak.flatten(o[name]).to_numpy().dtype == np.dtype(dtype)


def test_custom_cuts_apply():
    cuts = SelectionCuts(jet_pt=40.0)
    rows = [(39.0, 0.0, 0.0, 0), (40.0, 0.0, 0.0, 0)]
    objects = build_objects(
        jets=_coll(rows, "btag"), electrons=_empty(2, "charge"), muons=_empty(2, "charge"),
        photons=_empty(2), met=None, cuts=cuts,
    )  # fmt: skip
    assert ak.num(objects, axis=1).to_list() == [0, 1]
    assert DEFAULT_CUTS.jet_pt == 25.0


def test_drop_empty_counts_and_warns():
    objects = build_objects(
        jets=_coll([(10.0, 0.0, 0.0, 0), (30.0, 0.0, 0.0, 0), (10.0, 0.0, 0.0, 0)], "btag"),
        electrons=_empty(3, "charge"), muons=_empty(3, "charge"), photons=_empty(3), met=None,
    )  # fmt: skip
    events = make_events({k: objects[k] for k in OBJECT_FIELDS}, process="p",
                         source=np.array(["a:0", "a:1", "a:2"], dtype=object))  # fmt: skip
    with pytest.warns(EmptyEventsWarning, match=r"somefile: 2 of 3 events"):
        kept, n = drop_empty(events, "somefile")
    assert n == 2 and kept.source.to_list() == ["a:1"]
