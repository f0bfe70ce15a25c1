"""Multilabel truth (the 41 targets of :mod:`eventgnn.events.schema`) from a generator record.

One vectorised function serves every source that has a generator record: Pythia 8 events from the
built-in generator, the Delphes ``Particle`` branch and NanoAOD ``GenPart``. Each source maps its
record to the same jagged arrays (one list of particles per event):

- ``pid``: PDG id;
- ``mother``: index (within the event) of the first mother, -1 for none;
- ``last_copy``: True for the last copy of a particle in the record (after recoils and radiation
  the particle that decays);
- ``pt``, ``eta``, ``phi``.

Definitions (DESIGN.md, "Labels"): ``n_higgs`` counts last copies of the Higgs (id 25, and id 36,
Pythia's A3, for samples where it stands in for the 125 GeV boson); ``n_top``, ``n_W``, ``n_Z``
count last copies of |6|, |24|, 23 whatever their origin (the W and Z of H -> WW*/ZZ* count), and
``n_V = n_W + n_Z``; ``n_b`` counts b quarks whose mother is a last-copy top, Higgs or Z (decay
products); ``n_lepton`` counts e, mu, tau whose mother is a last-copy W or Z (taus from H -> tau
tau and leptons from tau decays do not count); ``n_photon`` counts photons whose mother is a
last-copy Higgs.
Kinematic bins use the leading Higgs and the leading and subleading tops by pT.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from .schema import make_targets

HIGGS_IDS = (25, 36)
TOP, W, Z, B, PHOTON = 6, 24, 23, 5, 22
LEPTONS = (11, 13, 15)


def _isin(apid: ak.Array, ids) -> ak.Array:
    out = apid == ids[0]
    for i in ids[1:]:
        out = out | (apid == i)
    return out


def _nth_by_pt(pt, eta, phi, mask, n: int):
    """pt, eta, phi of the n-th (0-based) highest-pT particle in ``mask``; NaN where absent."""
    order = ak.argsort(ak.where(mask, pt, -np.inf), axis=1, ascending=False)
    counts = ak.to_numpy(ak.sum(mask, axis=1))
    present = counts > n
    out = []
    for arr in (pt, eta, phi):
        sorted_ = arr[order]
        padded = ak.fill_none(ak.pad_none(sorted_, n + 1, axis=1), np.nan)
        col = ak.to_numpy(padded[:, n]).astype(np.float64)
        col[~present] = np.nan
        out.append(col)
    return tuple(out)


def targets_from_particles(pid, mother, last_copy, pt, eta, phi) -> np.ndarray:
    """The ``[n_events, 41]`` float32 target matrix from jagged generator-record arrays."""
    apid = abs(pid)
    has_mother = mother >= 0
    safe_mother = ak.where(has_mother, mother, 0)
    mpid = ak.where(has_mother, apid[safe_mother], 0)
    mlast = has_mother & ak.where(has_mother, last_copy[safe_mother], False)

    is_higgs = _isin(apid, HIGGS_IDS) & last_copy
    is_top = (apid == TOP) & last_copy
    is_w = (apid == W) & last_copy
    is_z = (apid == Z) & last_copy
    from_thz = mlast & ((mpid == TOP) | (mpid == Z) | _isin(mpid, HIGGS_IDS))
    from_v = mlast & ((mpid == W) | (mpid == Z))
    from_h = mlast & _isin(mpid, HIGGS_IDS)

    def count(mask):
        return ak.to_numpy(ak.sum(mask, axis=1)).astype(np.float32)

    n_w, n_z = count(is_w), count(is_z)
    counts = {
        "n_higgs": count(is_higgs),
        "n_top": count(is_top),
        "n_V": n_w + n_z,
        "n_W": n_w,
        "n_Z": n_z,
        "n_b": count((apid == B) & from_thz),
        "n_lepton": count(_isin(apid, LEPTONS) & from_v),
        "n_photon": count((apid == PHOTON) & from_h),
    }
    kin = {
        "higgs1": _nth_by_pt(pt, eta, phi, is_higgs, 0),
        "top1": _nth_by_pt(pt, eta, phi, is_top, 0),
        "top2": _nth_by_pt(pt, eta, phi, is_top, 1),
    }
    return make_targets(counts, kin)


def last_copy_from_daughters(pid, daughter1, daughter2) -> ak.Array:
    """``last_copy`` for records that store daughter index ranges (Pythia, Delphes).

    A particle is its own last copy when none of its daughters ``[d1, d2]`` has the same id.
    Pythia's convention: ``d1 <= d2`` is a range, ``d2 == -1`` (or ``d2 < d1``) means only
    ``d1``, and ``d1 == -1`` means no daughters. Indices are within the event.
    """
    n = ak.num(pid, axis=1)
    # the same-id daughter of a copy is always d1 or d2 for Pythia and Delphes records
    same = ak.zeros_like(pid, dtype=bool)
    for d in (daughter1, daughter2):
        valid = (d >= 0) & (d < n)
        safe = ak.where(valid, d, 0)
        same = same | (valid & (pid[safe] == pid))
    return ~same
