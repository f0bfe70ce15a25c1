"""Multilabel targets from Pythia's record: a hand-checked event and Pythia's own navigation."""

from __future__ import annotations

import math

import awkward as ak
import numpy as np
import pytest

from eventgnn.catalog.processes import get_process
from eventgnn.events.schema import TARGET_NAMES
from eventgnn.generate.extract import truth_targets
from eventgnn.generate.pythia import make_pythia, to_particles


def _row(pid, status, mother, d1, d2, px, py, pz):
    return (pid, status, mother, d1, d2, px, py, pz, math.sqrt(px * px + py * py + pz * pz))


def hand_event(fake_prt):
    """t tbar H, H -> gamma gamma, t -> W+ b (W+ -> u dbar), tbar -> W- bbar (W- -> e- nu~).

    The top is copied once (entry 5 -> 8: a recoil copy), so only entry 8 is its last copy.
    """
    pz_tbar = 300 * math.sqrt(2) * math.sinh(-2.0)
    rows = [
        _row(90, -11, 0, 0, 0, 0, 0, 0),  # 0 system
        _row(2212, -12, 0, 3, 0, 0, 0, 6500),  # 1 beam
        _row(2212, -12, 0, 4, 0, 0, 0, -6500),  # 2 beam
        _row(21, -21, 1, 5, 7, 0, 0, 100),  # 3 g
        _row(21, -21, 2, 5, 7, 0, 0, -100),  # 4 g
        _row(6, -22, 3, 8, 8, 90, 0, 0),  # 5 t (first copy)
        _row(-6, -22, 3, 9, 10, -300, -300, pz_tbar),  # 6 tbar: pT 424, eta -2, phi -3pi/4
        _row(25, -22, 3, 11, 12, -10, 49, 50 * math.sinh(1.0)),  # 7 H: pT 50, eta ~1, phi ~1.77
        _row(6, -44, 5, 13, 14, 100, 0, 0),  # 8 t (last copy): pT 100, eta 0, phi 0
        _row(-24, -22, 6, 15, 16, -100, -100, -300),  # 9 W-
        _row(-5, 23, 6, 0, 0, -200, -200, -500),  # 10 bbar
        _row(22, 23, 7, 0, 0, -5, 30, 60),  # 11 gamma
        _row(22, 23, 7, 0, 0, -5, 19, 20),  # 12 gamma
        _row(24, -22, 8, 17, 18, 60, 0, 0),  # 13 W+
        _row(5, 23, 8, 0, 0, 40, 0, 0),  # 14 b
        _row(11, 23, 9, 0, 0, -50, -50, -100),  # 15 e-
        _row(-12, 23, 9, 0, 0, -50, -50, -200),  # 16 nu_e~
        _row(2, 23, 13, 0, 0, 30, 10, 0),  # 17 u
        _row(-1, 23, 13, 0, 0, 30, -10, 0),  # 18 dbar
    ]
    return fake_prt(rows)


def test_hand_checked_event_targets(fake_prt):
    particles = to_particles(hand_event(fake_prt))
    assert particles.mother[0].tolist()[:4] == [-1, -1, -1, 1]  # Pythia's 0 means "no mother"
    got = dict(zip(TARGET_NAMES, truth_targets(particles)[0].tolist(), strict=True))
    expected = dict.fromkeys(TARGET_NAMES, 0.0)
    expected.update(
        n_higgs=1, n_top=2, n_V=2, n_W=2, n_Z=0, n_b=2, n_lepton=1, n_photon=2,
        higgs1_pt1=1, higgs1_eta2=1, higgs1_phi3=1,  # pT 50, eta ~1, phi ~1.77
        top1_pt2=1, top1_eta0=1, top1_phi0=1,  # the tbar leads: pT 424, eta -2, phi -3pi/4
        top2_pt1=1, top2_eta2=1, top2_phi2=1,  # the last top copy: pT 100, eta 0, phi 0
    )  # fmt: skip
    assert got == expected


def _higgs_event(fake_prt, decay_rows):
    """g g -> H with the given decay rows (entries 4 onwards, mothers by index)."""
    rows = [
        _row(90, -11, 0, 0, 0, 0, 0, 0),  # 0 system
        _row(21, -21, 0, 3, 0, 0, 0, 100),  # 1 g
        _row(21, -21, 0, 3, 0, 0, 0, -100),  # 2 g
        _row(25, -22, 1, 4, 5, 0, 0, 0),  # 3 H
        *decay_rows,
    ]
    return to_particles(fake_prt(rows))


def _counts(particles) -> dict[str, float]:
    got = dict(zip(TARGET_NAMES, truth_targets(particles)[0].tolist(), strict=True))
    return {k: got[k] for k in ("n_higgs", "n_W", "n_Z", "n_V", "n_lepton", "n_photon", "n_b")}


def test_taus_from_a_higgs_are_not_prompt_leptons(fake_prt):
    """n_lepton counts e, mu, tau from W/Z decays only: H -> tau tau gives none."""
    particles = _higgs_event(
        fake_prt,
        [
            _row(15, -22, 3, 6, 7, 30, 0, 0),  # 4 tau-
            _row(-15, -22, 3, 8, 9, -30, 0, 0),  # 5 tau+
            _row(11, 23, 4, 0, 0, 20, 0, 0),  # 6 e- from the tau
            _row(16, 23, 4, 0, 0, 10, 0, 0),  # 7 nu_tau
            _row(-211, 23, 5, 0, 0, -20, 0, 0),  # 8, 9 the other tau's products
            _row(-16, 23, 5, 0, 0, -10, 0, 0),
        ],
    )
    assert _counts(particles) == {
        "n_higgs": 1, "n_W": 0, "n_Z": 0, "n_V": 0, "n_lepton": 0, "n_photon": 0, "n_b": 0
    }  # fmt: skip


def test_w_and_z_from_a_higgs_count_as_bosons(fake_prt):
    """H -> W W* and H -> Z Z*: the (off-shell) bosons count in n_W / n_Z, their leptons in
    n_lepton, and a b pair from the Z in n_b (decay products of a Z)."""
    ww = _higgs_event(
        fake_prt,
        [
            _row(24, -22, 3, 6, 7, 30, 0, 0),  # 4 W+
            _row(-24, -22, 3, 8, 9, -30, 0, 0),  # 5 W-* (off shell)
            _row(-11, 23, 4, 0, 0, 20, 0, 0),  # 6 e+
            _row(12, 23, 4, 0, 0, 10, 0, 0),  # 7 nu_e
            _row(13, 23, 5, 0, 0, -20, 0, 0),  # 8 mu-
            _row(-14, 23, 5, 0, 0, -10, 0, 0),  # 9 nu_mu~
        ],
    )
    assert _counts(ww) == {
        "n_higgs": 1, "n_W": 2, "n_Z": 0, "n_V": 2, "n_lepton": 2, "n_photon": 0, "n_b": 0
    }  # fmt: skip
    zz = _higgs_event(
        fake_prt,
        [
            _row(23, -22, 3, 6, 7, 30, 0, 0),  # 4 Z
            _row(23, -22, 3, 8, 9, -30, 0, 0),  # 5 Z*
            _row(11, 23, 4, 0, 0, 20, 0, 0),  # 6 e-
            _row(-11, 23, 4, 0, 0, 10, 0, 0),  # 7 e+
            _row(5, 23, 5, 0, 0, -20, 0, 0),  # 8 b
            _row(-5, 23, 5, 0, 0, -10, 0, 0),  # 9 bbar
        ],
    )
    assert _counts(zz) == {
        "n_higgs": 1, "n_W": 0, "n_Z": 2, "n_V": 2, "n_lepton": 2, "n_photon": 0, "n_b": 2
    }  # fmt: skip


def test_targets_agree_with_pythias_own_navigation():
    """Counts from the vectorised record equal counts from Pythia's Particle methods."""
    pythia = make_pythia(get_process("tth"), 11, mpi=False)
    batch = pythia.nextBatch(3)
    targets = truth_targets(to_particles(batch["prt"]))
    event = pythia.event  # the last event of the batch
    assert event.size() == len(batch["prt"][-1])
    n = {"higgs": 0, "top": 0, "W": 0, "Z": 0, "b": 0, "lepton": 0, "photon": 0}

    def is_last(i):
        return event[i].iBotCopyId() == i

    for i in range(event.size()):
        a, m = abs(event[i].id()), event[i].mother1()
        if is_last(i):
            n["higgs"] += a in (25, 36)
            n["top"] += a == 6
            n["W"] += a == 24
            n["Z"] += a == 23
        if m > 0 and is_last(m):
            am = abs(event[m].id())
            n["b"] += a == 5 and am in (6, 23, 25, 36)
            n["lepton"] += a in (11, 13, 15) and am in (23, 24)
            n["photon"] += a == 22 and am in (25, 36)
    row = dict(zip(TARGET_NAMES, targets[-1].tolist(), strict=True))
    assert row["n_higgs"] == n["higgs"] == 1
    assert row["n_top"] == n["top"] == 2
    for key in ("W", "Z", "b", "lepton", "photon"):
        assert row[f"n_{key}"] == n[key], key
    # the leading top's bins agree with the last copies' kinematics from Pythia
    tops = [event[i] for i in range(event.size()) if abs(event[i].id()) == 6 and is_last(i)]
    lead = max(tops, key=lambda p: p.pT())
    pt_bin = int(np.searchsorted([30.0, 300.0], lead.pT(), side="right"))
    assert row[f"top1_pt{pt_bin}"] == 1.0


@pytest.mark.parametrize("n_events", [1, 4])
def test_system_entry_and_indices_are_within_event(n_events):
    pythia = make_pythia(get_process("wh"), 5, mpi=False)
    particles = to_particles(pythia.nextBatch(n_events)["prt"])
    n = ak.num(particles.pid)
    assert ak.all(particles.pid[:, 0] == 90)
    for f in ("mother", "daughter1", "daughter2"):
        assert ak.all((particles[f] >= -1) & (particles[f] < n))
