"""Every built-in process initialises and yields events with its expected signature."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from eventgnn.catalog.processes import get_process, list_processes
from eventgnn.events.schema import TARGET_NAMES
from eventgnn.events.truth import last_copy_from_daughters
from eventgnn.generate.extract import events_from_particles, truth_targets
from eventgnn.generate.pythia import generate_particles

N = 5

# per process: conditions on the multiplicity targets that every event must meet
EXPECTED = {
    "ggf_h": {"n_higgs": 1, "n_top": 0},
    "vbf_h": {"n_higgs": 1, "n_top": 0},
    "wh": {"n_higgs": 1, "n_W": (1, None)},
    "zh": {"n_higgs": 1, "n_Z": (1, None)},
    "tth": {"n_higgs": 1, "n_top": 2},
    "single_top": {"n_top": 1, "n_higgs": 0},
    "ttbar": {"n_top": 2, "n_higgs": 0, "n_W": (2, None)},
    "bbh": {"n_higgs": 1, "n_top": 0},
    "wjets": {"n_W": (1, None), "n_top": 0},
    "zjets": {"n_Z": (1, None), "n_top": 0},
    "diboson": {"n_V": (2, None), "n_top": 0},
    "qcd": {"n_higgs": 0, "n_V": 0},
    "tth_cp_even": {"n_higgs": 1, "n_top": 2, "n_photon": 2},
    "tth_cp_odd": {"n_higgs": 1, "n_top": 2, "n_photon": 2},
    "tth_cp_mix": {"n_higgs": 1, "n_top": 2, "n_photon": 2},
    "stop2": {"n_higgs": 2, "n_top": 2},
    "fcnc": {"n_higgs": 1, "n_top": 2},
}

BUILTIN = [p for p in list_processes() if not get_process(p).lhe_only]


def test_expectations_cover_every_builtin_process():
    assert set(EXPECTED) == set(BUILTIN)


def _decays(particles, parent_ids):
    """Per event, the sorted daughter ids of each last-copy particle with |id| in parent_ids."""
    last = last_copy_from_daughters(particles.pid, particles.daughter1, particles.daughter2)
    out = []
    for ev, lc in zip(ak.to_list(particles[["pid", "mother"]]), ak.to_list(last), strict=True):
        # test-side check on a few events: a plain loop over Pythia's record is fine here
        pids = [p["pid"] for p in ev]
        mothers = [p["mother"] for p in ev]
        decays = []
        for i, pid in enumerate(pids):
            if abs(pid) in parent_ids and lc[i]:
                kids = sorted(pids[j] for j in range(len(pids)) if mothers[j] == i)
                decays.append((pid, kids))
        out.append(decays)
    return out


@pytest.fixture(scope="module")
def samples():
    # MPI off: the signature is in the hard process and the decays; MPI only slows the test; a
    # small pilot for the CP-reweighted samples (the accept-reject is tested in test_cp_mixing.py)
    return {
        p: generate_particles(get_process(p), N, seed=7, mpi=False, pilot_events=2000)[0]
        for p in BUILTIN
    }


@pytest.mark.parametrize("process", BUILTIN)
def test_signature_and_events(process, samples):
    particles = samples[process]
    assert len(particles) == N
    targets = truth_targets(particles)
    col = {name: targets[:, i] for i, name in enumerate(TARGET_NAMES)}
    for key, want in EXPECTED[process].items():
        if isinstance(want, tuple):
            assert np.all(col[key] >= want[0]), (key, col[key])
        else:
            assert np.all(col[key] == want), (key, col[key])
    events = events_from_particles(
        particles, process=process, source=f"pythia8:{process}:seed7", rng=np.random.default_rng(0)
    )
    assert len(events) == N and set(events.process.tolist()) == {process}
    assert np.all(ak.num(events.objects) >= 1)  # MET at least


@pytest.mark.parametrize("process", ["tth_cp_even", "tth_cp_odd", "tth_cp_mix"])
def test_cp_samples_have_a_125_gev_boson_to_two_photons(process, samples):
    # every CP sample is Pythia's SM t tbar H (id 25), reweighted for nonzero angles; no A3
    for decays in _decays(samples[process], {25}):
        assert decays == [(25, [22, 22])]
    assert not any(_decays(samples[process], {36}))


def test_stop2_decays_to_stop1_h(samples):
    for decays in _decays(samples["stop2"], {2000006}):
        assert sorted(decays) == [(-2000006, [-1000006, 25]), (2000006, [25, 1000006])]


def test_fcnc_has_exactly_one_t_to_hq_and_both_charges(samples):
    charges = []
    for decays in _decays(samples["fcnc"], {6}):
        hq = [(pid, kids) for pid, kids in decays if 25 in kids]
        assert len(hq) == 1, decays
        pid, kids = hq[0]
        assert sorted(abs(k) for k in kids) == [4, 25]
        charges.append(np.sign(pid))
        other = [kids for p, kids in decays if p == -pid]
        assert len(other) == 1 and sorted(abs(k) for k in other[0]) == [5, 24]
    # the two variants of a shard: t -> H c and tbar -> H cbar
    assert set(charges) == {1, -1}
