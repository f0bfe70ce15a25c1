"""The CP-mixed top Yukawa amplitudes: gauge invariance, symmetries, the angle dependence, and
equality with Pythia 8's own matrix element point by point."""

from __future__ import annotations

import math

import numpy as np
import pytest

from eventgnn.generate import cp_yukawa as cy

M_TOP, M_HIGGS = 172.5, 125.0


def _boost(p, frame):
    """Boost ``p`` from the rest frame of ``frame`` into the frame where ``frame`` has its
    momentum (both ``[n, 4]``)."""
    mass = np.sqrt(cy.dot(frame, frame))
    beta = frame[:, 1:] / frame[:, :1]
    gamma = frame[:, 0] / mass
    bp = np.sum(beta * p[:, 1:], axis=1)
    b2 = np.sum(beta * beta, axis=1)
    coef = np.where(b2 > 0, (gamma - 1) / np.where(b2 > 0, b2, 1), 0.0)
    energy = gamma * (p[:, 0] + bp)
    space = p[:, 1:] + (coef * bp + gamma * p[:, 0])[:, None] * beta
    return np.concatenate([energy[:, None], space], axis=1)


def _two_body(frame, m1, m2, rng):
    """Isotropic two-body decay of ``frame`` into masses ``m1``, ``m2``."""
    mass = np.sqrt(cy.dot(frame, frame))
    p = np.sqrt((mass**2 - (m1 + m2) ** 2) * (mass**2 - (m1 - m2) ** 2)) / (2 * mass)
    cos = rng.uniform(-1, 1, len(mass))
    phi = rng.uniform(0, 2 * np.pi, len(mass))
    sin = np.sqrt(1 - cos**2)
    n = np.stack([sin * np.cos(phi), sin * np.sin(phi), cos], axis=1) * p[:, None]
    one = np.concatenate([np.sqrt(p**2 + m1**2)[:, None], n], axis=1)
    two = np.concatenate([np.sqrt(p**2 + m2**2)[:, None], -n], axis=1)
    return _boost(one, frame), _boost(two, frame)


def phase_space(n: int, seed: int = 0, m_top=(M_TOP, M_TOP)):
    """``n`` random points of a b -> t tbar H in a boosted frame: (k1, k2, top, antitop, higgs)."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.uniform(0.03, 0.3, n), rng.uniform(0.03, 0.3, n)
    e1, e2 = 6500 * x1, 6500 * x2
    zero = np.zeros(n)
    k1 = np.stack([e1, zero, zero, e1], axis=1)
    k2 = np.stack([e2, zero, zero, -e2], axis=1)
    total = k1 + k2
    root_s = np.sqrt(cy.dot(total, total))
    keep = root_s > sum(m_top) + M_HIGGS + 10
    k1, k2, total, root_s = k1[keep], k2[keep], total[keep], root_s[keep]
    m_pair = rng.uniform(sum(m_top) + 1, root_s - M_HIGGS - 1)
    pair, higgs = _two_body(total, m_pair, M_HIGGS, rng)
    top, antitop = _two_body(pair, *m_top, rng)
    return k1, k2, top, antitop, higgs


def _spin_sum(top, antitop, m, a, b):
    """Tr[(ptop + m) A (pantitop - m) Bbar], the top spin sum written out."""
    mm = m[:, None, None] * cy.IDENTITY
    left = (cy.slash(top) + mm) @ a @ (cy.slash(antitop) - mm)
    bbar = cy.GAMMA[0] @ np.conj(np.swapaxes(b, -1, -2)) @ cy.GAMMA[0]
    return np.einsum("nij,nji->n", left, bbar).real


def test_phase_space_points_are_physical():
    k1, k2, top, antitop, higgs = phase_space(50)
    assert np.allclose(k1 + k2, top + antitop + higgs, rtol=0, atol=1e-9)
    assert np.allclose(cy.dot(top, top), M_TOP**2, rtol=1e-10)
    assert np.allclose(cy.dot(higgs, higgs), M_HIGGS**2, rtol=1e-10)


def test_dirac_algebra():
    g = cy.GAMMA
    metric = np.diag(cy.METRIC)
    for mu in range(4):
        for nu in range(4):
            anti = g[mu] @ g[nu] + g[nu] @ g[mu]
            assert np.allclose(anti, 2 * metric[mu, nu] * cy.IDENTITY)
        assert np.allclose(g[mu] @ cy.GAMMA5 + cy.GAMMA5 @ g[mu], 0)
    assert np.allclose(cy.GAMMA5 @ cy.GAMMA5, cy.IDENTITY)


def test_common_mass_keeps_the_pair_momentum():
    k1, k2, top, antitop, higgs = phase_space(20, m_top=(170.0, 176.0))
    t, tb, m = cy.common_mass(top, antitop)
    assert np.allclose(t + tb, top + antitop, atol=1e-9)
    assert np.allclose(cy.dot(t, t), m**2, rtol=1e-12)
    assert np.allclose(cy.dot(tb, tb), m**2, rtol=1e-12)
    # equal masses are left alone
    k1, k2, top, antitop, higgs = phase_space(20)
    t, tb, m = cy.common_mass(top, antitop)
    assert np.allclose(t, top, rtol=1e-12) and np.allclose(m, M_TOP, rtol=1e-12)


@pytest.mark.parametrize("vertex", [0, 1], ids=["even", "odd"])
def test_gluon_gauge_invariance(vertex):
    """Replacing a gluon polarisation by its momentum gives zero, in each colour-ordered
    amplitude (the other gluon physical), to 1e-8 of the physical amplitude."""
    k1, k2, top, antitop, higgs = phase_space(200, seed=1)
    top, antitop, m = cy.common_mass(top, antitop)
    v = cy.YUKAWA_VERTICES[vertex]
    pol1, pol2 = cy.transverse_polarisations(k1), cy.transverse_polarisations(k2)
    for which in (0, 1):
        for eps_other in pol2 if which == 0 else pol1:
            if which == 0:  # gluon 1 longitudinal (eps1 -> k1 / E1)
                bad = cy.gg_colour_amplitudes(
                    k1, k2, top, antitop, higgs, m, k1 / k1[:, :1], eps_other, v
                )
                good = cy.gg_colour_amplitudes(
                    k1, k2, top, antitop, higgs, m, pol1[0], eps_other, v
                )
            else:
                bad = cy.gg_colour_amplitudes(
                    k1, k2, top, antitop, higgs, m, eps_other, k2 / k2[:, :1], v
                )
                good = cy.gg_colour_amplitudes(
                    k1, k2, top, antitop, higgs, m, eps_other, pol2[0], v
                )
            for a_bad, a_good in zip(bad, good, strict=True):
                ratio = _spin_sum(top, antitop, m, a_bad, a_bad) / _spin_sum(
                    top, antitop, m, a_good, a_good
                )
                assert np.all(np.abs(ratio) < 1e-8), np.abs(ratio).max()


@pytest.mark.parametrize("vertex", [0, 1], ids=["even", "odd"])
def test_quark_current_is_conserved(vertex):
    """``K^rho B_rho`` between on-shell top spinors vanishes (the q qbar analogue)."""
    k1, k2, top, antitop, higgs = phase_space(100, seed=3)
    top, antitop, m = cy.common_mass(top, antitop)
    b = cy.qqbar_currents(k1, k2, top, antitop, higgs, m, cy.YUKAWA_VERTICES[vertex])
    kb = np.einsum("nr,nrij->nij", k1 + k2, b)
    scale = np.einsum("nr,nrij->nij", cy.transverse_polarisations(k1)[0], b)
    ratio = _spin_sum(top, antitop, m, kb, kb) / _spin_sum(top, antitop, m, scale, scale)
    assert np.all(np.abs(ratio) < 1e-8 * (1 + cy.dot(k1 + k2, k1 + k2) / M_TOP**2))


def _direct_gg(k1, k2, top, antitop, higgs, angle):
    """|M_a|^2 for g g with the vertex cos a + i sin a gamma5 directly: explicit loops over the
    polarisations and colour structures (independent of the vectorised contraction)."""
    top, antitop, m = cy.common_mass(top, antitop)
    vertex = math.cos(angle) * cy.IDENTITY + 1j * math.sin(angle) * cy.GAMMA5
    total = 0.0
    for eps1 in cy.transverse_polarisations(k1):
        for eps2 in cy.transverse_polarisations(k2):
            amps = cy.gg_colour_amplitudes(k1, k2, top, antitop, higgs, m, eps1, eps2, vertex)
            for i in range(2):
                for j in range(2):
                    mm = m[:, None, None] * cy.IDENTITY
                    left = (cy.slash(top) + mm) @ amps[i] @ (cy.slash(antitop) - mm)
                    right = cy.GAMMA[0] @ np.conj(np.swapaxes(amps[j], -1, -2)) @ cy.GAMMA[0]
                    tr = np.einsum("nij,nji->n", left, right)
                    total = total + cy.GG_COLOUR[i, j] * tr.real
    return cy.GG_AVERAGE * total


@pytest.mark.parametrize("angle_deg", [0.0, 30.0, 45.0, 90.0, 135.0])
def test_gg_angle_dependence_is_cos2_even_plus_sin2_odd(angle_deg):
    """``|M_a|^2 = cos^2 a |M_0|^2 + sin^2 a |M_90|^2`` point by point: no interference term in
    the spin-summed rate."""
    k1, k2, top, antitop, higgs = phase_space(100, seed=4)
    a = math.radians(angle_deg)
    terms = cy.squared_amplitude_terms("gg", k1, k2, top, antitop, higgs)
    direct = _direct_gg(k1, k2, top, antitop, higgs, a)
    expected = math.cos(a) ** 2 * terms.even + math.sin(a) ** 2 * terms.odd
    assert direct == pytest.approx(expected, rel=1e-10)
    assert terms.at(a) == pytest.approx(expected, rel=1e-10)
    assert np.all(np.abs(terms.interference) < 1e-12 * terms.even)


def test_qqbar_has_no_interference_and_matches_a_direct_sum():
    k1, k2, top, antitop, higgs = phase_space(100, seed=5)
    terms = cy.squared_amplitude_terms("qqbar", k1, k2, top, antitop, higgs)
    assert np.all(np.abs(terms.interference) < 1e-12 * terms.even)
    # direct: the light-quark tensor contracted component by component at a = 60 degrees
    a = math.radians(60)
    vertex = math.cos(a) * cy.IDENTITY + 1j * math.sin(a) * cy.GAMMA5
    t, tb, m = cy.common_mass(top, antitop)
    b = cy.qqbar_currents(k1, k2, t, tb, higgs, m, vertex)
    total = 0.0
    for r in range(4):
        for s in range(4):
            light = 4 * (
                k2[:, r] * k1[:, s] + k1[:, r] * k2[:, s] - cy.dot(k1, k2) * (r == s) * cy.METRIC[r]
            )
            total = total + light * _spin_sum(t, tb, m, b[:, r], b[:, s])
    kk = k1 + k2
    direct = cy.QQ_AVERAGE * cy.QQ_COLOUR * total / cy.dot(kk, kk) ** 2
    assert direct == pytest.approx(terms.at(a), rel=1e-10)


@pytest.mark.parametrize("channel", cy.CHANNELS)
def test_lorentz_invariance(channel):
    """Boosting and rotating every momentum leaves |M|^2 unchanged."""
    k1, k2, top, antitop, higgs = phase_space(50, seed=6)
    before = cy.squared_amplitude_terms(channel, k1, k2, top, antitop, higgs)
    frame = np.tile([400.0, 120.0, -250.0, 80.0], (len(k1), 1))
    frame[:, 0] = np.sqrt(300.0**2 + np.sum(frame[:, 1:] ** 2, axis=1))
    rot = np.array([[1, 0, 0, 0], [0, 0.6, -0.8, 0], [0, 0.8, 0.6, 0], [0, 0, 0, 1.0]])
    moved = [_boost(p @ rot.T, frame) for p in (k1, k2, top, antitop, higgs)]
    after = cy.squared_amplitude_terms(channel, *moved)
    assert after.even == pytest.approx(before.even, rel=1e-9)
    assert after.odd == pytest.approx(before.odd, rel=1e-9)


def test_gg_is_symmetric_in_the_two_gluons():
    k1, k2, top, antitop, higgs = phase_space(50, seed=7)
    a = cy.squared_amplitude_terms("gg", k1, k2, top, antitop, higgs)
    b = cy.squared_amplitude_terms("gg", k2, k1, top, antitop, higgs)
    assert a.even == pytest.approx(b.even, rel=1e-10)
    assert a.odd == pytest.approx(b.odd, rel=1e-10)


@pytest.mark.parametrize("channel", cy.CHANNELS)
def test_weight_is_one_for_the_standard_model(channel):
    k1, k2, top, antitop, higgs = phase_space(50, seed=8)
    assert np.all(cy.cp_weight(channel, k1, k2, top, antitop, higgs, 0.0) == 1.0)
    w90 = cy.cp_weight(channel, k1, k2, top, antitop, higgs, math.pi / 2)
    w45 = cy.cp_weight(channel, k1, k2, top, antitop, higgs, math.pi / 4)
    assert np.all(w90 > 0) and not np.allclose(w90, 1.0)
    assert w45 == pytest.approx(0.5 + 0.5 * w90, rel=1e-12)


def test_bad_input_is_named():
    k1, k2, top, antitop, higgs = phase_space(3)
    with pytest.raises(ValueError, match="channel"):
        cy.squared_amplitude_terms("qg", k1, k2, top, antitop, higgs)
    with pytest.raises(ValueError, match="higgs"):
        cy.squared_amplitude_terms("gg", k1, k2, top, antitop, higgs[:, :3])


def _pythia_points(process: str, n: int, seed: int):
    """``n`` hard-process events of Pythia's ``process``: per event Pythia's own ``sigmaHat``
    with its couplings, and the process record's momenta (``hard_momenta``)."""
    pythia8mc = pytest.importorskip("pythia8mc")
    from eventgnn.generate.cp_mixing import hard_momenta

    class Recorder(pythia8mc.UserHooks):
        def __init__(self):
            pythia8mc.UserHooks.__init__(self)
            self.last, self.rows = None, []

        def canModifySigma(self):  # noqa: N802
            return True

        def multiplySigmaBy(self, sigma_process, phase_space, in_event):  # noqa: N802
            if in_event:  # the phase-space point that becomes the event
                self.last = (
                    sigma_process.sigmaHat(),
                    sigma_process.alphaSRen(),
                    sigma_process.alphaEMRen(),
                )
            return 1.0

        def canVetoProcessLevel(self):  # noqa: N802
            return True

        def doVetoProcessLevel(self, event):  # noqa: N802
            self.rows.append((self.last, *hard_momenta(event)))
            return False

    pythia = pythia8mc.Pythia("", False)
    hook = Recorder()
    for line in (
        "Print:quiet = on",
        "Beams:eCM = 13000.",
        f"HiggsSM:{process} = on",
        "PartonLevel:all = off",
        "HadronLevel:all = off",
        "ProcessLevel:resonanceDecays = off",
        "Random:setSeed = on",
        f"Random:seed = {seed}",
    ):
        assert pythia.readString(line)
    pythia.setUserHooksPtr(hook)
    assert pythia.init()
    pythia.nextBatch(n, "skip")
    return pythia, hook.rows


@pytest.mark.parametrize(("process", "channel"), [("gg2Httbar", "gg"), ("qqbar2Httbar", "qqbar")])
def test_standard_model_equals_pythia_point_by_point(process, channel):
    """At 150 of Pythia's own phase-space points per channel, the SM |M|^2 with Pythia's
    couplings equals Pythia's ``sigmaHat()`` (SigmaHiggs.cc: ``Sigma3gg2HQQbar``,
    ``Sigma3qqbar2HQQbar``) to 1e-8: alpha_s and alpha_em at the renormalisation scale, the
    Yukawa coupling g m_t(sqrt s-hat) / (sqrt 2 m_W) with the MSbar running top mass, the top
    pair mapped to a common mass, times the open fraction of the H t tbar decays."""
    pythia, rows = _pythia_points(process, 150, seed=17)
    pdata, coup = pythia.particleData, pythia.coupSM
    assert len(rows) == 150
    sigma_hat, alpha_s, alpha_em = (np.array([r[0][i] for r in rows]) for i in range(3))
    assert {r[1] for r in rows} == {channel}
    k1, k2, top, antitop, higgs = (np.stack([r[2][i] for r in rows]) for i in range(5))
    root_s = np.sqrt(cy.dot(k1 + k2, k1 + k2))
    m_run = np.array([pdata.mRun(6, float(x)) for x in root_s])
    g2 = 4 * math.pi * alpha_em / coup.sin2thetaW()
    yukawa = np.sqrt(g2) * m_run / (math.sqrt(2) * pdata.m0(24))
    ours = cy.squared_amplitude(
        channel, k1, k2, top, antitop, higgs, 0.0, alpha_s=alpha_s, yukawa=yukawa
    )
    ours = ours * pdata.resOpenFrac(25, 6, -6)
    assert ours == pytest.approx(sigma_hat, rel=1e-8)
    # Pythia's tops have Breit-Wigner masses, so the common-mass map matters
    assert np.ptp(np.sqrt(cy.dot(top, top))) > 0.1
