"""The CP-mixed t tbar H samples: recipes, the process-level accept-reject, the cross-section, and
the Higgs pT of a CP-odd sample against the SM one."""

from __future__ import annotations

import math

import awkward as ak
import numpy as np
import pytest

from eventgnn._core.errors import CatalogError
from eventgnn.catalog.processes import get_process, get_task
from eventgnn.generate import cp_yukawa as cy
from eventgnn.generate.cp_mixing import (
    ChannelTally,
    CPMixingError,
    CPReport,
    hard_momenta,
    make_hook,
    pilot_weights,
)
from eventgnn.generate.pythia import HARD_PROCESS_ONLY, generate_particles, make_pythia

pytest.importorskip("pythia8mc")


class _Particle:
    """The part of ``pythia8.Particle`` that the hook reads."""

    def __init__(self, pid, p):
        self._id, self._p = pid, [float(x) for x in p]

    def id(self):
        return self._id

    def e(self):
        return self._p[0]

    def px(self):
        return self._p[1]

    def py(self):
        return self._p[2]

    def pz(self):
        return self._p[3]


def _record(id1, id2, k1, k2, top, antitop, higgs):
    """A process record laid out like Pythia's: entries 3, 4 incoming, 5 H, 6 t, 7 tbar."""
    zero = np.zeros(4)
    rows = [(90, zero), (2212, zero), (2212, zero), (id1, k1), (id2, k2)]
    rows += [(25, higgs), (6, top), (-6, antitop)]
    return [_Particle(i, p) for i, p in rows]


def test_recipes_have_the_angles_and_the_task_compares_even_with_odd():
    assert get_process("tth_cp_even").cp_angle_deg == 0
    assert get_process("tth_cp_odd").cp_angle_deg == 90
    assert get_process("tth_cp_mix").cp_angle_deg == 45
    assert get_process("tth").cp_angle_deg is None
    for name in ("tth_cp_even", "tth_cp_odd", "tth_cp_mix"):
        settings = get_process(name).settings
        assert "HiggsSM:gg2Httbar = on" in settings and "HiggsSM:qqbar2Httbar = on" in settings
        assert "25:onIfMatch = 22 22" in settings  # H -> gamma gamma
        assert not any("A3" in s or s.startswith("36:") for s in settings)
    task = get_task("tth_cp_even_vs_odd")
    assert task.signal == ("tth_cp_even",) and task.background == ("tth_cp_odd",)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("cp_angle_deg: ninety\nsettings: ['HiggsSM:gg2Httbar = on']", "expected a number"),
        ("cp_angle_deg: 90\nsettings: ['HiggsSM:gg2H = on']", "needs the SM t tbar H"),
    ],
)
def test_bad_cp_angle_recipes_are_named(tmp_path, monkeypatch, body, message):
    (tmp_path / "processes").mkdir()
    (tmp_path / "processes" / "bad.yaml").write_text(f"name: bad\n{body}\n")
    monkeypatch.setenv("EVENTGNN_RECIPES", str(tmp_path))
    with pytest.raises(CatalogError, match=rf"bad\.yaml: field 'cp_angle_deg'.*{message}"):
        get_process("bad")


def test_hard_momenta_reads_pythias_layout():
    p = [np.array([10.0 * i + 1, 1.0, 2.0, 3.0]) for i in range(5)]
    channel, mom = hard_momenta(_record(21, 21, *p))
    assert channel == "gg" and np.array_equal(mom, np.stack(p))
    # q qbar with the antiquark first: the quark becomes k1
    channel, mom = hard_momenta(_record(-2, 2, *p))
    assert channel == "qqbar"
    assert np.array_equal(mom[0], p[1]) and np.array_equal(mom[1], p[0])
    bad = _record(21, 21, *p)
    bad[5] = _Particle(36, p[4])  # Pythia's A3 instead of the SM Higgs
    with pytest.raises(CPMixingError, match="H t tbar"):
        hard_momenta(bad)
    with pytest.raises(CPMixingError, match="neither g g nor q qbar"):
        hard_momenta(_record(21, 2, *p))


@pytest.fixture(scope="module")
def sm_events():
    """3000 SM hard-process events (both channels) recorded by a pilot hook."""
    hook = make_hook(0.0, None, seed=1)
    pythia = make_pythia(get_process("tth"), 31, mpi=False, extra=HARD_PROCESS_ONLY, hook=hook)
    pythia.nextBatch(3000, "skip")
    return {c: np.stack(rows) for c, rows in hook.pilot_rows.items()}


def test_pilot_weights_are_the_vectorised_weights(sm_events):
    hook = make_hook(math.pi / 2, None, seed=2)
    for channel, mom in sm_events.items():
        hook.pilot_rows[channel] = list(mom)
    tallies = pilot_weights(hook)
    for channel, mom in sm_events.items():
        w = cy.cp_weight(channel, *np.moveaxis(mom, 1, 0), math.pi / 2)
        assert tallies[channel].tried == len(w)
        assert tallies[channel].sum_w == pytest.approx(np.sum(w), rel=1e-12)
        assert tallies[channel].max_w == pytest.approx(np.max(w), rel=1e-12)


def test_accept_reject_follows_the_weighted_distribution(sm_events):
    """Fed Pythia's SM events, the hook keeps each with probability w / w_max and gives the rare
    events above w_max the weight w / w_max: the kept (weighted) sample has the w-weighted mean
    Higgs pT of the SM sample. A low w_max exercises the weighted events."""
    angle, w_max = math.pi / 2, 1.5
    sm_pt, sm_w, kept_pt, kept_w = [], [], [], []
    for repeat in range(2):  # each SM event is offered twice (independent decisions)
        hook = make_hook(angle, w_max, seed=100 + repeat)
        for channel, mom in sm_events.items():
            for m in mom:
                k1, k2, top, antitop, higgs = m
                id1, id2 = (21, 21) if channel == "gg" else (2, -2)
                veto = hook.doVetoProcessLevel(_record(id1, id2, k1, k2, top, antitop, higgs))
                pt = math.hypot(higgs[1], higgs[2])
                if repeat == 0:
                    sm_pt.append(pt)
                    sm_w.append(float(cy.cp_weight(channel, *m, angle)))
                if not veto:
                    kept_pt.append(pt)
                    kept_w.append(hook.overweights.pop(float(higgs[3]), 1.0))
        assert not hook.overweights
    sm_pt, sm_w, kept_pt, kept_w = map(np.array, (sm_pt, sm_w, kept_pt, kept_w))
    assert np.any(kept_w > 1) and np.all(kept_w >= 1)
    expected = np.average(sm_pt, weights=sm_w)
    got = np.average(kept_pt, weights=kept_w)
    # statistical error of the weighted mean of the kept sample
    n_eff = kept_w.sum() ** 2 / np.sum(kept_w**2)
    err = np.sqrt(np.average((kept_pt - got) ** 2, weights=kept_w) / n_eff)
    assert abs(got - expected) < 4 * err
    assert abs(np.mean(sm_pt) - expected) > 8 * err  # the CP-odd mean differs from the SM one


def test_cross_section_is_sm_times_mean_weight():
    tally = ChannelTally()
    tally.add(np.array([0.5, 1.5, 1.0, 3.0]))
    report = CPReport(
        angle_deg=90.0,
        w_max=2.0,
        pilot_events=4,
        pilot_max_w={"gg": 3.0},
        tallies={"gg": ChannelTally(tried=0)},
        sigma_sm_mb=2.0e-9,
        sigma_sm_err_mb=0.02e-9,
        pilot_tallies={"gg": tally},
    )
    mean, err = report.mean_weight()
    assert mean == 1.5
    assert err == pytest.approx(np.std([0.5, 1.5, 1.0, 3.0]) / 2)
    sigma, sigma_err = report.sigma_mb()
    assert sigma == pytest.approx(3.0e-9)
    assert sigma_err == pytest.approx(sigma * math.hypot(0.01, err / mean))


def _higgs_pt(particles: ak.Array) -> np.ndarray:
    """pT of the hard-process Higgs (entry 5 of Pythia's record)."""
    assert np.all(ak.to_numpy(particles.pid[:, 5]) == 25)
    return ak.to_numpy(particles.pt[:, 5])


@pytest.mark.slow
def test_cp_odd_sample_has_a_harder_higgs_than_the_sm_one():
    """Two-sample Kolmogorov-Smirnov test on the Higgs pT of the shipped recipes, as generated
    (MPI off): the CP-odd sample differs from the SM one. On the old recipe (Pythia's A3, the SM
    matrix element) the two samples were the same distribution and this failed."""
    from scipy.stats import ks_2samp

    n = 300
    even, _ = generate_particles(get_process("tth_cp_even"), n, seed=41, mpi=False)
    odd, run = generate_particles(get_process("tth_cp_odd"), n, seed=42, mpi=False)
    report = run.report()["cp_mixing"][0]
    assert report["overflow_share"] < 0.01
    pt_even, pt_odd = _higgs_pt(even), _higgs_pt(odd)
    result = ks_2samp(pt_even, pt_odd)
    assert result.pvalue < 1e-3, result
    assert np.median(pt_odd) > np.median(pt_even)
