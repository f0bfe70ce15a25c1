"""The parametric detector: exact objects with resolutions off, and the random parts seeded."""

from __future__ import annotations

import math
from dataclasses import replace

import awkward as ak
import numpy as np
import pytest

from eventgnn.events.schema import ObjectType
from eventgnn.events.truth import last_copy_from_daughters
from eventgnn.generate.detector import DEFAULT_DETECTOR, reconstruct, reconstruct_collections
from eventgnn.generate.pythia import to_particles

PERFECT = replace(
    DEFAULT_DETECTOR,
    eff_electron=(1.0, 1.0),
    eff_muon=(1.0, 1.0),
    eff_photon=(1.0, 1.0),
    ecal_constant=0.0,
    ecal_stochastic=0.0,
    muon_res_a=(0.0, 0.0, 0.0),
    muon_res_b=(0.0, 0.0, 0.0),
    jer_noise=0.0,
    jer_stochastic=0.0,
    jer_constant=0.0,
    btag_eff_b=1.0,
    btag_eff_c=0.0,
    btag_eff_light=0.0,
    met_resolution=0.0,
)


def _p(pt, eta, phi):
    px, py, pz = pt * math.cos(phi), pt * math.sin(phi), pt * math.sinh(eta)
    return px, py, pz, math.sqrt(px * px + py * py + pz * pz)


def _event(fake_prt, electron_pid=11, iso_pion_pt=None):
    """An isolated lepton from a W, a b quark with three collinear pions, a neutrino."""
    rows = [
        (90, -11, 0, 0, 0, 0, 0, 0, 0),
        (2212, -12, 0, 0, 0, 0, 0, 6500, 6500),
        (2212, -12, 0, 0, 0, 0, 0, -6500, 6500),
        (-24, -22, 1, 4, 5, 0, 0, 0, 80),  # 3 W-
        (electron_pid, 1, 3, 0, 0, *_p(50, 0.0, 0.0)),  # 4 lepton: pT 50 at (0, 0)
        (-12, 1, 3, 0, 0, *_p(20, 0.3, -2.5)),  # 5 neutrino
        (5, -71, 1, 7, 9, *_p(60, 1.0, 2.0)),  # 6 b quark (hadronised)
        (211, 91, 6, 0, 0, *_p(20, 1.0, 2.0)),  # 7..9 pions around the b direction
        (-211, 91, 6, 0, 0, *_p(20, 1.05, 2.0)),
        (211, 91, 6, 0, 0, *_p(20, 1.0, 2.05)),
    ]
    if iso_pion_pt is not None:  # a pion in the lepton's isolation cone
        rows.append((211, 91, 6, 0, 0, *_p(iso_pion_pt, 0.2, 0.1)))
    return to_particles(fake_prt(rows))


def _reco(particles, config=PERFECT, seed=0):
    last = last_copy_from_daughters(particles.pid, particles.daughter1, particles.daughter2)
    return reconstruct(particles, last, np.random.default_rng(seed), config)


def test_perfect_detector_gives_exact_objects(fake_prt):
    particles = _event(fake_prt)
    obj = _reco(particles)[0]
    types = obj["kind"].tolist()
    assert types == [ObjectType.JET, ObjectType.ELECTRON, ObjectType.MET]
    jet, ele, met = (obj[i] for i in range(3))
    assert ele.pt == pytest.approx(50.0, rel=1e-5) and ele.charge == -1 and ele.btag == 0
    assert jet.pt == pytest.approx(60.0, rel=0.01) and jet.btag == 1 and jet.charge == 0
    assert jet.eta == pytest.approx(1.0, abs=0.03) and jet.phi == pytest.approx(2.0, abs=0.03)
    # MET is minus the visible pT sum; the visible system is the lepton plus the jet
    vis = particles[0][particles[0].status > 0]
    vis = vis[abs(vis.pid) != 12]
    mpx, mpy = -float(ak.sum(vis.px)), -float(ak.sum(vis.py))
    assert met.pt == pytest.approx(math.hypot(mpx, mpy), rel=1e-5)
    assert met.phi == pytest.approx(math.atan2(mpy, mpx), abs=1e-5)
    assert met.eta == 0 and met.energy == met.pt


def test_muon_charge_and_isolation(fake_prt):
    obj = _reco(_event(fake_prt, electron_pid=-13))[0]
    assert obj["kind"].tolist() == [ObjectType.JET, ObjectType.MUON, ObjectType.MET]
    assert obj[1].charge == 1  # mu+ has PDG id -13
    # 10 GeV of hadrons in the cone: 10/50 < 0.25 keeps a muon, > 0.12 rejects an electron
    assert ObjectType.MUON in _reco(_event(fake_prt, -13, iso_pion_pt=10.0))[0]["kind"].tolist()
    types = _reco(_event(fake_prt, 11, iso_pion_pt=10.0))[0]["kind"].tolist()
    assert ObjectType.ELECTRON not in types
    # the non-isolated electron is clustered into a jet instead
    particles = _event(fake_prt, 11, iso_pion_pt=10.0)
    last = last_copy_from_daughters(particles.pid, particles.daughter1, particles.daughter2)
    cols, _ = reconstruct_collections(particles, last, np.random.default_rng(0), PERFECT)
    assert ak.num(cols["jets"])[0] == 2 and ak.num(cols["electrons"])[0] == 0


def test_light_jet_is_not_tagged_with_perfect_tagger(fake_prt):
    rows_particles = _event(fake_prt)
    # make the quark a light quark: no b within Delta R < 0.4 -> light jet
    pid = ak.where(rows_particles.pid == 5, 1, rows_particles.pid)
    particles = ak.with_field(rows_particles, pid, "pid")
    assert _reco(particles)[0].btag.tolist()[0] == 0


def test_smearing_depends_only_on_the_seed(fake_prt):
    particles = _event(fake_prt)
    a = _reco(particles, DEFAULT_DETECTOR, seed=3)
    b = _reco(particles, DEFAULT_DETECTOR, seed=3)
    c = _reco(particles, DEFAULT_DETECTOR, seed=4)
    assert a.pt.tolist() == b.pt.tolist()
    assert a.pt.tolist() != c.pt.tolist()


def _dijet(fake_prt, copies=1):
    """Two back-to-back jets of collinear pions, 100 GeV each at phi = 0 and pi; no neutrino."""
    rows = [
        (90, -11, 0, 0, 0, 0, 0, 0, 0),
        (2212, -12, 0, 0, 0, 0, 0, 6500, 6500),
        (2212, -12, 0, 0, 0, 0, 0, -6500, 6500),
        (211, 91, 0, 0, 0, *_p(40, 0.5, 0.0)),
        (-211, 91, 0, 0, 0, *_p(60, 0.5, 0.0)),
        (211, 91, 0, 0, 0, *_p(30, -0.3, math.pi)),
        (-211, 91, 0, 0, 0, *_p(70, -0.3, math.pi)),
    ]
    one = fake_prt(rows)
    return to_particles(ak.concatenate([one] * copies))


def test_jet_mismeasurement_reaches_met(fake_prt):
    """No neutrino, no soft term: MET is exactly minus the jets' smearing."""
    particles = _dijet(fake_prt)
    config = replace(PERFECT, jer_noise=3.0, jer_stochastic=0.75, jer_constant=0.03)
    last = last_copy_from_daughters(particles.pid, particles.daughter1, particles.daughter2)
    coll, _ = reconstruct_collections(particles, last, np.random.default_rng(3), config)
    jets, met = coll["jets"][0], coll["met"][0]
    assert len(jets) == 2
    dx = sum((j.pt - 100.0) * math.cos(j.phi) for j in jets)
    dy = sum((j.pt - 100.0) * math.sin(j.phi) for j in jets)
    assert abs(dx) > 1.0  # the jets are mismeasured
    assert met.pt == pytest.approx(math.hypot(dx, dy), rel=1e-9)
    assert met.pt * math.cos(met.phi) == pytest.approx(-dx, rel=1e-9)


def test_met_follows_the_jet_smearing_event_by_event(fake_prt):
    """With the default detector (soft-term resolution on), MET_x of many copies of a balanced
    dijet event is minus the jets' mismeasurement (no soft term here to blur it)."""
    particles = _dijet(fake_prt, copies=400)
    last = last_copy_from_daughters(particles.pid, particles.daughter1, particles.daughter2)
    coll, _ = reconstruct_collections(particles, last, np.random.default_rng(4), DEFAULT_DETECTOR)
    jets, met = coll["jets"], coll["met"]
    assert np.all(ak.num(jets) == 2)
    mismeasured_x = ak.to_numpy(ak.sum((jets.pt - 100.0) * np.cos(jets.phi), axis=1))
    met_x = ak.to_numpy(met.pt * np.cos(met.phi))
    assert np.std(mismeasured_x) > 10  # about 10 GeV per 100 GeV jet
    assert np.corrcoef(met_x, -mismeasured_x)[0, 1] > 0.99
