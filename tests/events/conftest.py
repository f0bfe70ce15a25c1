"""Hand-built generator records with hand-computed targets, shared by the truth and reader tests."""

from __future__ import annotations

import numpy as np
import pytest

from eventgnn.events.schema import TARGET_NAMES

# A Pythia-like ttH record: H -> gamma gamma, t -> W+ b with W+ -> e+ nu, tbar -> W- bbar with
# W- -> d ubar. The top has a first copy (recoil) with a larger pT than its last copy: the targets
# must use the last copy only. Columns: pid, mother, d1, d2, pt, eta, phi.
TTH = [
    (21, -1, 2, 4, 0.0, 0.0, 0.0),  # 0 incoming gluon
    (21, -1, 2, 4, 0.0, 0.0, 0.0),  # 1 incoming gluon
    (6, 0, 5, 5, 400.0, 0.1, 0.1),  # 2 top, first copy
    (-6, 0, 8, 9, 25.0, 1.5, 2.0),  # 3 anti-top (last copy)
    (25, 0, 10, 11, 150.0, 0.7, -2.0),  # 4 Higgs (last copy)
    (6, 2, 6, 7, 320.0, -1.6, 0.3),  # 5 top, last copy
    (24, 5, 12, 13, 200.0, -1.0, 0.5),  # 6 W+
    (5, 5, -1, -1, 90.0, -2.0, 0.0),  # 7 b from t
    (-24, 3, 14, 15, 20.0, 1.0, 2.5),  # 8 W-
    (-5, 3, -1, -1, 10.0, 2.0, 1.5),  # 9 bbar from tbar
    (22, 4, -1, -1, 80.0, 0.5, -2.1),  # 10 photon from H
    (22, 4, -1, -1, 70.0, 0.9, -1.9),  # 11 photon from H
    (-11, 6, -1, -1, 60.0, -0.5, 0.6),  # 12 e+ from W+
    (12, 6, -1, -1, 140.0, -1.2, 0.4),  # 13 nu_e (not a counted lepton)
    (1, 8, -1, -1, 12.0, 1.1, 2.4),  # 14 d from W-
    (-2, 8, -1, -1, 9.0, 0.8, 2.7),  # 15 ubar from W-
]
# Z -> b bbar with one recoil copy of the Z; no Higgs and no top.
ZBB = [
    (23, -1, 1, 1, 50.0, 0.0, 0.0),  # 0 Z, first copy
    (23, 0, 2, 3, 55.0, 0.2, 0.3),  # 1 Z, last copy
    (5, 1, -1, -1, 30.0, 0.1, 0.2),  # 2 b
    (-5, 1, -1, -1, 28.0, 0.3, 0.4),  # 3 bbar
]


def _expected(values: dict[str, float]) -> np.ndarray:
    out = np.zeros(len(TARGET_NAMES), np.float32)
    for k, v in values.items():
        out[TARGET_NAMES.index(k)] = v
    return out


@pytest.fixture
def tth_record():
    """ttH with H -> gamma gamma, t -> W b, W+ -> e+ nu (rows: pid, M1, D1, D2, pT, eta, phi)."""
    return TTH


@pytest.fixture
def zbb_record():
    return ZBB


@pytest.fixture
def tth_targets() -> np.ndarray:
    """The 41 targets of :data:`TTH`, worked out by hand."""
    return _expected(
        {
            "n_higgs": 1, "n_top": 2, "n_V": 2, "n_W": 2, "n_Z": 0,
            "n_b": 2, "n_lepton": 1, "n_photon": 2,
            # leading Higgs: pT 150 in (30, 200); eta 0.7 in (0, 1.5); phi -2.0 in (-pi, -pi/2)
            "higgs1_pt1": 1, "higgs1_eta2": 1, "higgs1_phi0": 1,
            # leading top = last copy (320, -1.6, 0.3): pT > 300; eta < -1.5; phi in (0, pi/2)
            "top1_pt2": 1, "top1_eta0": 1, "top1_phi2": 1,
            # subleading top (25, 1.5, 2.0): pT < 30; eta at the 1.5 edge -> upper bin; phi > pi/2
            "top2_pt0": 1, "top2_eta3": 1, "top2_phi3": 1,
        }
    )  # fmt: skip


@pytest.fixture
def zbb_targets() -> np.ndarray:
    return _expected({"n_V": 1, "n_Z": 1, "n_b": 2})
