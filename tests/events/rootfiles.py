"""Writers of small ROOT files in the real branch layouts, used by the reader and CLI tests.

uproot writes a record of jagged arrays as one counter branch plus one jagged branch per field; its
``field_name``/``counter_name`` hooks give the real names:

- Delphes: ``Jet.PT``, ``Jet.Eta``... with the counter ``Jet_size`` (as Delphes writes them; real
  Delphes files nest the fields under a ``Jet`` TClonesArray branch, ``Jet/Jet.PT``, which uproot
  resolves from the same short name ``Jet.PT``).
- NanoAOD: ``Jet_pt``... with the counter ``nJet``, scalars ``MET_pt``, ``genWeight``.

(A plain module, not ``conftest.py``: test modules in other folders import it by name.)
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import uproot


def jagged(rows, dtype) -> ak.Array:
    """Lists of values per event -> a jagged awkward array of ``dtype``."""
    counts = [len(r) for r in rows]
    flat = np.array([v for r in rows for v in r], dtype=dtype)
    return ak.unflatten(flat, counts)


def coll(events, names, dtypes) -> ak.Array:
    """Per-event lists of tuples -> a jagged record array with fields ``names``."""
    return ak.zip(
        {n: jagged([[o[k] for o in ev] for ev in events], dt)
         for k, (n, dt) in enumerate(zip(names, dtypes, strict=True))}
    )  # fmt: skip


def write_tree(path: Path, tree: str, data: dict, field_name, counter_name) -> Path:
    with uproot.recreate(path) as f:
        f.mktree(
            tree,
            {k: v.type.content if isinstance(v, ak.Array) else v.dtype for k, v in data.items()},
            field_name=field_name,
            counter_name=counter_name,
        )
        f[tree].extend(data)
    return path


F4, I4, U4 = np.float32, np.int32, np.uint32


def write_delphes(path, *, jets, electrons, muons, photons, met, weight=None, particles=None,
                  tree="Delphes", drop=()):  # fmt: skip
    """Write a Delphes-layout tree. Collections are per-event lists of tuples:
    jets ``(PT, Eta, Phi, BTag)``, electrons/muons ``(PT, Eta, Phi, Charge)``, photons
    ``(PT, Eta, Phi)``, met ``(MET, Phi)`` per event, particles
    ``(PID, M1, D1, D2, PT, Eta, Phi)``. ``drop`` names branches to leave out."""
    data = {
        "Jet": coll(jets, ["PT", "Eta", "Phi", "BTag"], [F4, F4, F4, U4]),
        "Electron": coll(electrons, ["PT", "Eta", "Phi", "Charge"], [F4, F4, F4, I4]),
        "Muon": coll(muons, ["PT", "Eta", "Phi", "Charge"], [F4, F4, F4, I4]),
        "Photon": coll(photons, ["PT", "Eta", "Phi"], [F4, F4, F4]),
        "MissingET": coll([[m] for m in met], ["MET", "Phi"], [F4, F4]),
    }
    if weight is not None:
        data["Event"] = coll([[(w,)] for w in weight], ["Weight"], [F4])
    if particles is not None:
        data["Particle"] = coll(
            particles, ["PID", "M1", "D1", "D2", "PT", "Eta", "Phi"], [I4, I4, I4, I4, F4, F4, F4]
        )
    data = _drop(data, drop)
    return write_tree(Path(path), tree, data, lambda o, i: f"{o}.{i}", lambda c: f"{c}_size")


def write_nanoaod(path, *, jets, electrons, muons, photons, met, weight=None, genpart=None,
                  btag_branch="btagDeepFlavB", tree="Events", drop=(), extra=None):  # fmt: skip
    """Write a NanoAOD-layout tree: jets ``(pt, eta, phi, btag discriminant)``, electrons/muons
    ``(pt, eta, phi, charge)``, photons ``(pt, eta, phi)``, met ``(pt, phi)`` per event,
    genpart ``(pdgId, genPartIdxMother, statusFlags, pt, eta, phi)``; ``extra``: more branches
    (name -> numpy array)."""
    data = {
        "Jet": coll(jets, ["pt", "eta", "phi", btag_branch], [F4, F4, F4, F4]),
        "Electron": coll(electrons, ["pt", "eta", "phi", "charge"], [F4, F4, F4, I4]),
        "Muon": coll(muons, ["pt", "eta", "phi", "charge"], [F4, F4, F4, I4]),
        "Photon": coll(photons, ["pt", "eta", "phi"], [F4, F4, F4]),
        "MET_pt": np.array([m[0] for m in met], F4),
        "MET_phi": np.array([m[1] for m in met], F4),
    }
    if weight is not None:
        data["genWeight"] = np.array(weight, F4)
    if genpart is not None:
        data["GenPart"] = coll(
            genpart,
            ["pdgId", "genPartIdxMother", "statusFlags", "pt", "eta", "phi"],
            [I4, np.int16, np.uint16, F4, F4, F4],
        )
    data = _drop({**data, **(extra or {})}, drop)
    return write_tree(
        Path(path), tree, data,
        lambda o, i: i if o == "" else f"{o}_{i}", lambda c: f"n{c}",
    )  # fmt: skip


def _drop(data: dict, drop) -> dict:
    """Remove whole collections (``"Photon"``) or single fields (``"Jet.BTag"``)."""
    out = {}
    for k, v in data.items():
        if k in drop:
            continue
        if isinstance(v, ak.Array) and v.fields:
            kept = [f for f in v.fields if f"{k}.{f}" not in drop]
            v = v[kept]
        out[k] = v
    return out


def random_objects(n: int, seed: int, signal: bool) -> dict:
    """``n`` random events as per-event lists of tuples for :func:`write_nanoaod` and
    :func:`write_delphes`: a signal event has more and harder jets, and a lepton (an easy
    task, so a few hundred events train a classifier well above chance)."""
    rng = np.random.default_rng(seed)
    n_jets = rng.integers(3, 7, n) if signal else rng.integers(0, 3, n)
    scale = 80.0 if signal else 30.0

    def objs(k, pt0, extra):
        return [
            (float(pt0 + rng.exponential(scale)), float(rng.uniform(-2.3, 2.3)),
             float(rng.uniform(-np.pi, np.pi)), *extra(rng))
            for _ in range(k)
        ]  # fmt: skip

    jets = [objs(k, 26.0, lambda r: (float(r.uniform()),)) for k in n_jets]
    electrons = [objs(int(signal), 12.0, lambda r: (int(r.choice([-1, 1])),)) for _ in range(n)]
    return {
        "jets": jets,
        "electrons": electrons,
        "muons": [[] for _ in range(n)],
        "photons": [[] for _ in range(n)],
        "met": [
            (float(rng.exponential(scale)), float(rng.uniform(-np.pi, np.pi))) for _ in range(n)
        ],  # fmt: skip
        "weight": rng.uniform(0.5, 1.5, n).astype(np.float32),
    }


def random_nanoaod(path, n: int, seed: int, signal: bool) -> Path:
    """A NanoAOD-layout file of :func:`random_objects` with ``run``, ``luminosityBlock`` and
    ``event`` branches (event numbers ``seed * 10**6 + entry``)."""
    extra = {
        "run": np.full(n, 1, np.uint32),
        "luminosityBlock": (np.arange(n) // 100 + 1).astype(np.uint32),
        "event": (seed * 10**6 + np.arange(n)).astype(np.uint64),
    }
    return write_nanoaod(path, **random_objects(n, seed, signal), extra=extra)


def random_delphes(path, n: int, seed: int, signal: bool) -> Path:
    """A Delphes-layout file of :func:`random_objects` (b-tag bit 0 set for a third of jets)."""
    o = random_objects(n, seed, signal)
    jets = [[(*j[:3], int(j[3] < 1 / 3)) for j in ev] for ev in o["jets"]]
    return write_delphes(path, **{**o, "jets": jets})


# a flat ntuple and the branch map that reads it
MAP = {
    "tree": "mytree",
    "jets": {"pt": "jet_pt", "eta": "jet_eta", "phi": "jet_phi", "btag": "jet_isb"},
    "electrons": {"pt": "el_pt", "eta": "el_eta", "phi": "el_phi", "charge": "el_q"},
    "photons": {"pt": "ph_pt", "eta": "ph_eta", "phi": "ph_phi"},
    "met": {"pt": "met", "phi": "met_phi"},
    "weight": "w",
}


def write_ntuple(path, *, with_met=True):
    """Three events; event 2 has nothing that passes the selection (and no MET branch if
    ``with_met`` is False, so it is empty)."""

    def jag(rows, dtype=np.float64):
        return ak.unflatten(np.array([v for r in rows for v in r], dtype), [len(r) for r in rows])

    data = {
        "jet_pt": jag([[40.0, 100.0], [30.0], [10.0]]),
        "jet_eta": jag([[0.0, -1.0], [2.0], [0.0]]),
        "jet_phi": jag([[0.5, -3.1], [1.0], [0.0]]),
        "jet_isb": jag([[1, 0], [1], [1]], np.int32),
        "el_pt": jag([[15.0], [], [5.0]]),
        "el_eta": jag([[-2.47], [], [0.0]]),
        "el_phi": jag([[2.0], [], [0.0]]),
        "el_q": jag([[1], [], [-1]], np.int32),
        "ph_pt": jag([[], [20.0], []]),
        "ph_eta": jag([[], [2.37], []]),
        "ph_phi": jag([[], [-1.0], []]),
        "w": np.array([1.5, 2.5, 3.5]),
    }
    if with_met:
        data["met"] = np.array([50.0, 20.0, 10.0])
        data["met_phi"] = np.array([0.1, 0.2, 0.3])
    with uproot.recreate(path) as f:
        f["mytree"] = data
    return path
