"""Parton-level LO cross sections (``eventgnn.generate.partonlevel``): the interpolated PDF
against Pythia's own per-point values, the phase space against closed forms (momentum
conservation, mass shells, two- and three-body volumes, massless n-body volumes), VEGAS on a
known integral, and sigma(pp -> t tbar) at 13 TeV against Pythia's ``Top:gg2ttbar`` +
``Top:qqbar2ttbar`` with the same PDF, scales, alpha_s and top mass. docs/amplitudes.md lists the
numbers and the commands."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from eventgnn.generate.amplitudes import Parameters, thq
from eventgnn.generate.partonlevel import phase_space, processes, scales
from eventgnn.generate.partonlevel.vegas import Vegas

pythia8mc = pytest.importorskip("pythia8mc")

from eventgnn.generate.partonlevel.pdf import PARTONS, PartonDensities  # noqa: E402


@pytest.fixture(scope="module")
def pdf():
    return PartonDensities()


# -- PDF ------------------------------------------------------------------------------------------


def test_pdf_grid_equals_pythia_point_by_point(pdf):
    """The cubic interpolation against Pythia's ``PDF::xf`` at random points (x in [1e-4, 0.98],
    Q in [10, 10^4] GeV): relative 1e-5 typically, 5e-3 at worst below x = 0.7, and never more
    than 5e-4 of the density's largest value."""
    rng = np.random.default_rng(7)
    x = np.exp(rng.uniform(np.log(1e-4), np.log(0.98), 1500))
    q2 = np.exp(rng.uniform(np.log(1e2), np.log(1e8), 1500))
    for pid in PARTONS:
        ours, theirs = pdf.xf(pid, x, q2), pdf.direct(pid, x, q2)
        zero = theirs == 0  # Pythia's grid ends at x = 1 or a flavour below threshold
        assert np.all(np.abs(ours[zero]) < 1e-6), pid
        ours, theirs, x_ok = ours[~zero], theirs[~zero], x[~zero]
        rel = np.abs(ours / theirs - 1)
        assert np.median(rel) < 1e-4, pid
        assert rel[x_ok < 0.7].max() < 5e-3, pid
        assert np.abs(ours - theirs).max() < 5e-4 * theirs.max(), pid
    assert pdf.xf(21, [0.99], [1e4])[0] == 0.0  # above X_MAX


def test_pdf_is_pythias_default_set_and_alpha_s(pdf):
    """NNPDF2.3 QCD+QED LO (``PDF:pSet = 13``) and the hard process's alpha_s(m_Z) = 0.130."""
    assert pdf._pythia.settings.word("PDF:pSet") == "13"
    assert pdf.alpha_s_mz == 0.130
    assert pdf.alpha_s(np.array([91.188**2]))[0] == pytest.approx(0.130, rel=1e-5)
    assert pdf.alpha_s(np.array([500.0**2]))[0] < pdf.alpha_s(np.array([173.0**2]))[0]


def test_pdf_out_of_range_is_named():
    with pytest.raises(ValueError, match="x_min"):
        PartonDensities(x_min=2.0)


def test_pdf_outside_the_grid_is_an_error(pdf):
    with pytest.raises(ValueError, match="outside"):
        pdf.xf(21, [1e-6], [1e4])


# -- phase space ----------------------------------------------------------------------------------


def _points(n, masses, seed=0, total=(1000.0, 20.0, -30.0, 300.0)):
    rng = np.random.default_rng(seed)
    u = rng.random((n, phase_space.dimensions(len(masses))))
    p = np.tile(np.array(total), (n, 1))
    return p, *phase_space.generate(p, masses, u)


@pytest.mark.parametrize("masses", [[173.0, 173.0], [80.4, 173.0, 173.0], [0, 0, 173.0, 173.0]])
def test_momenta_are_conserved_and_on_shell(masses):
    total, momenta, weight = _points(500, masses)
    assert np.allclose(momenta.sum(axis=0), total, rtol=0, atol=1e-7)
    for p, m in zip(momenta, masses, strict=True):
        m2 = p[:, 0] ** 2 - np.sum(p[:, 1:] ** 2, axis=1)
        assert np.allclose(m2, m * m, rtol=0, atol=1e-6)
        assert np.all(p[:, 0] > 0)
    assert np.all(weight > 0)


def test_below_threshold_has_zero_weight():
    _, _, weight = _points(10, [173.0, 173.0], total=(300.0, 0, 0, 0))
    assert np.all(weight == 0)


@pytest.mark.parametrize("masses", [(0.0, 0.0), (173.0, 173.0), (80.4, 125.0)])
def test_two_body_volume(masses):
    """Every point carries the closed form ``sqrt(lambda) / (8 pi s)``."""
    total, _, weight = _points(100, masses)
    s = float(total[0, 0] ** 2 - np.sum(total[0, 1:] ** 2))
    assert weight == pytest.approx(phase_space.two_body_volume(s, *masses), rel=1e-12)
    assert phase_space.two_body_volume(1.0, 0, 0) == pytest.approx(1 / (8 * math.pi))


def _dalitz_volume(s, m1, m2, m3, n=200000):
    """``Phi_3 = (1 / (128 pi^3 s)) x`` the Dalitz-plot area (PDG kinematics, eq. 49.23), the area
    from the ``m23^2`` range at each ``m12^2`` (on a substitution that removes the
    square-root endpoints; midpoint rule)."""
    lo, hi = (m1 + m2) ** 2, (math.sqrt(s) - m3) ** 2
    t = (np.arange(n) + 0.5) * math.pi / n
    m12sq = lo + (hi - lo) * (1 - np.cos(t)) / 2
    dm = (hi - lo) * np.sin(t) / 2
    m12 = np.sqrt(m12sq)
    e2 = (m12sq - m1**2 + m2**2) / (2 * m12)
    e3 = (s - m12sq - m3**2) / (2 * m12)
    width = 4 * np.sqrt(np.maximum(e2**2 - m2**2, 0)) * np.sqrt(np.maximum(e3**2 - m3**2, 0))
    return np.sum(width * dm) * math.pi / n / (128 * math.pi**3 * s)


@pytest.mark.parametrize("masses", [(0.0, 0.0, 0.0), (173.0, 173.0, 125.0), (0.0, 173.0, 125.0)])
def test_three_body_volume(masses):
    """The Monte Carlo average of the weights against the Dalitz-plot area (and, massless,
    against ``s / (256 pi^3)``), within 4 standard errors."""
    total, _, weight = _points(100000, masses, seed=3)
    s = float(total[0, 0] ** 2 - np.sum(total[0, 1:] ** 2))
    reference = _dalitz_volume(s, *masses)
    if not any(masses):
        assert reference == pytest.approx(s / (256 * math.pi**3), rel=1e-6)
    error = weight.std() / math.sqrt(len(weight))
    assert abs(weight.mean() - reference) < 4 * error
    assert error < 3e-3 * reference


@pytest.mark.parametrize("n", [4, 5])
def test_massless_n_body_volume(n):
    total, _, weight = _points(100000, [0.0] * n, seed=n)
    s = float(total[0, 0] ** 2 - np.sum(total[0, 1:] ** 2))
    error = weight.std() / math.sqrt(len(weight))
    assert abs(weight.mean() - phase_space.massless_volume(n, s)) < 4 * error
    assert error < 1e-2 * weight.mean()


def test_phase_space_dimensions_are_checked():
    with pytest.raises(ValueError, match="variables"):
        phase_space.generate(np.zeros((3, 4)), [1.0, 2.0, 3.0], np.zeros((3, 4)))


# -- VEGAS ----------------------------------------------------------------------------------------


def test_vegas_adapts_to_a_narrow_peak():
    """A unit-normalised Gaussian of width 0.05 in four dimensions: VEGAS finds it (error below
    0.5 %, result within 3 errors) where plain Monte Carlo with the same points does not."""
    width = 0.05

    def peak(x):
        return (
            np.exp(-np.sum((x - 0.4) ** 2, axis=1) / width**2) / (width * math.sqrt(math.pi)) ** 4
        )

    adapted = Vegas(4).integrate(peak, 10000, iterations=4, rng=np.random.default_rng(2))
    plain = Vegas(4, alpha=0).integrate(peak, 10000, iterations=4, rng=np.random.default_rng(2))
    assert abs(adapted.value - 1) < 3 * adapted.error
    assert adapted.error < 5e-3
    assert plain.error > 10 * adapted.error


# -- sigma(pp -> t tbar) against Pythia --------------------------------------------------------


def pythia_ttbar(n_events: int, seed: int = 5):
    """Pythia 8's ``sigmaGen`` (pb) and error for gg -> t tbar (601) and q qbar -> t tbar (602) at
    13 TeV with its defaults (NNPDF2.3 QCD+QED LO, alpha_s(m_Z) = 0.130 at first order,
    ``mu_F^2 = min m_T^2``, ``mu_R^2 = m_T3 m_T4``, five incoming quark flavours), fixed top mass
    (no Breit-Wigner), hard process only; and its top mass."""
    pythia = pythia8mc.Pythia("", False)
    for line in (
        "Print:quiet = on",
        "Beams:eCM = 13000.",
        "Top:gg2ttbar = on",
        "Top:qqbar2ttbar = on",
        "PhaseSpace:useBreitWigners = off",
        "PartonLevel:all = off",
        "HadronLevel:all = off",
        "ProcessLevel:resonanceDecays = off",
        "Check:event = off",
        "Random:setSeed = on",
        f"Random:seed = {seed}",
    ):
        assert pythia.readString(line)
    assert pythia.init()
    for _ in range(n_events):
        pythia.next()
    info = pythia.infoPython()
    sigma = {code: (info.sigmaGen(code) * 1e9, info.sigmaErr(code) * 1e9) for code in (601, 602)}
    return sigma, pythia.particleData.m0(6)


def ours_ttbar(pdf, m_top, n_points, iterations, warmup, seed=1):
    """Our sigma per channel (gg, q qbar) with Pythia's scales (the geometric mean of the two
    transverse masses for both) and its top mass."""
    process = processes.process("ttbar", m_t=m_top)
    out = []
    for channel in process.channels:
        out.append(
            processes.cross_section(
                replace(process, channels=(channel,)),
                pdf,
                scale=scales.transverse_mass_geometric_mean,
                params=Parameters(m_t=m_top),
                n_points=n_points,
                iterations=iterations,
                warmup=warmup,
                seed=seed,
            )
        )
    return out


def _agree(ours, theirs, tolerance):
    """``ours`` (an Estimate list) and ``theirs`` ((value, error) list) summed agree within 3
    combined standard errors, each at better than ``tolerance`` relative precision."""
    value = sum(e.value for e in ours)
    error = math.sqrt(sum(e.error**2 for e in ours))
    ref = sum(v for v, _ in theirs)
    ref_error = math.sqrt(sum(e**2 for _, e in theirs))
    assert error < tolerance * value and ref_error < tolerance * ref
    assert abs(value - ref) < 3 * math.hypot(error, ref_error), (value, error, ref, ref_error)


def test_ttbar_cross_section_equals_pythias(pdf):
    """sigma(pp -> t tbar), 13 TeV, LO: ours (VEGAS, ~15000 points) against Pythia's (40000
    events), both at ~0.3-0.5 %, within 3 combined standard errors."""
    sigma, m_top = pythia_ttbar(40000)
    ours = ours_ttbar(pdf, m_top, n_points=2500, iterations=3, warmup=2)
    _agree(ours, list(sigma.values()), 1e-2)


@pytest.mark.slow
def test_ttbar_cross_section_equals_pythias_per_channel(pdf):
    """Per channel at ~0.1 %: gg against 601, q qbar against 602 (Pythia: 400000 events)."""
    sigma, m_top = pythia_ttbar(400000, seed=11)
    ours = ours_ttbar(pdf, m_top, n_points=20000, iterations=5, warmup=3, seed=2)
    for estimate, code in zip(ours, (601, 602), strict=True):
        _agree([estimate], [sigma[code]], 3e-3)


# -- sigma(pp -> t tbar H) against Pythia ----------------------------------------------------------


def pythia_tth(n_events: int, seed: int = 3):
    """Pythia's ``sigmaGen`` (pb, error) for ``HiggsSM:gg2Httbar`` (908) and ``qqbar2Httbar``
    (909) at 13 TeV, its defaults (2 -> 3 scales: ``mu_R^2`` the geometric mean of the three
    ``m_T^2``, ``mu_F^2`` that of the two smallest), fixed masses; and the Pythia object."""
    pythia = pythia8mc.Pythia("", False)
    for line in (
        "Print:quiet = on",
        "Beams:eCM = 13000.",
        "HiggsSM:gg2Httbar = on",
        "HiggsSM:qqbar2Httbar = on",
        "PhaseSpace:useBreitWigners = off",
        "PartonLevel:all = off",
        "HadronLevel:all = off",
        "ProcessLevel:resonanceDecays = off",
        "Check:event = off",
        "Random:setSeed = on",
        f"Random:seed = {seed}",
    ):
        assert pythia.readString(line)
    assert pythia.init()
    for _ in range(n_events):
        pythia.next()
    info = pythia.infoPython()
    return {c: (info.sigmaGen(c) * 1e9, info.sigmaErr(c) * 1e9) for c in (908, 909)}, pythia


def _with_pythias_yukawa(amplitude, pythia):
    """``|M|^2`` scaled to Pythia's top Yukawa ``g m_t(sqrt s-hat) / (2 m_W)`` (MSbar running
    mass, ``g^2 = 4 pi alpha_em(mu_R^2) / sin^2 theta_W``; the engine's is ``m_t / v``), times the
    open fraction of the H t tbar decays, as the point-by-point test in test_cp_yukawa.py does."""
    pdata, coup = pythia.particleData, pythia.coupSM

    def scaled(k1, k2, final, params):
        total = k1 + k2
        root_s = np.sqrt(total[:, 0] ** 2 - np.sum(total[:, 1:] ** 2, axis=1))
        m_run = np.array([pdata.mRun(6, float(r)) for r in root_s])
        q2 = scales.transverse_mass_geometric_mean(np.stack(final))
        alpha_em = np.array([coup.alphaEM(float(q)) for q in q2])
        g2 = 4 * math.pi * alpha_em / coup.sin2thetaW()
        theirs = g2 * m_run**2 / (4 * pdata.m0(24) ** 2)
        ratio = theirs / (params.m_t / params.v) ** 2 * pdata.resOpenFrac(25, 6, -6)
        return amplitude(k1, k2, final, params) * ratio

    return scaled


def test_tth_cross_section_equals_pythias(pdf):
    """sigma(pp -> t tbar H), 13 TeV, LO, per channel against Pythia's (15000 events, ~1 %) with
    its scales, top Yukawa, masses and five incoming flavours: a three-body massive phase space,
    separate mu_F and mu_R, within 3 combined standard errors."""
    sigma, pythia = pythia_tth(15000)
    m_t, m_h = pythia.particleData.m0(6), pythia.particleData.m0(25)
    process = processes.process("tth", quarks=processes.FIVE, m_t=m_t)
    process = replace(process, masses=(m_t, m_t, m_h))
    for channel, code in zip(process.channels, (908, 909), strict=True):
        channel = replace(channel, amplitude=_with_pythias_yukawa(channel.amplitude, pythia))
        ours = processes.cross_section(
            replace(process, channels=(channel,)),
            pdf,
            scale=scales.transverse_mass_geometric_mean,
            factor_scale=scales.two_smallest_transverse_mass_mean,
            params=Parameters(m_t=m_t, m_h=m_h),
            n_points=2000,
            iterations=3,
            warmup=2,
        )
        _agree([ours], [sigma[code]], 1.5e-2)


# -- t-channel single top against Pythia -----------------------------------------------------------


def test_single_top_cross_section_equals_pythias(pdf):
    """sigma(pp -> t q + tbar q, t-channel W) against Pythia's ``Top:qq2tq(t:W)`` (30000
    events, ~0.3 %): the t-channel W exchange of tHq with the five-flavour b (and, as Pythia has
    them, s and d through |V_ts|^2, |V_td|^2; the light line summed with unit CKM, as Pythia's
    flavour sum is to 2e-3), both at a fixed scale mu = 173 GeV, Pythia's alpha_em(mu^2),
    sin^2 theta_W and m_W; within 3 combined standard errors."""
    mu = 173.0
    pythia = pythia8mc.Pythia("", False)
    for line in (
        "Print:quiet = on",
        "Beams:eCM = 13000.",
        "Top:qq2tq(t:W) = on",
        "SigmaProcess:factorScale2 = 5",
        "SigmaProcess:renormScale2 = 5",
        f"SigmaProcess:factorFixScale = {mu * mu}",
        f"SigmaProcess:renormFixScale = {mu * mu}",
        "PhaseSpace:useBreitWigners = off",
        "PartonLevel:all = off",
        "HadronLevel:all = off",
        "ProcessLevel:resonanceDecays = off",
        "Check:event = off",
        "Random:setSeed = on",
        "Random:seed = 3",
    ):
        assert pythia.readString(line)
    assert pythia.init()
    for _ in range(30000):
        pythia.next()
    info, pdata, coup = pythia.infoPython(), pythia.particleData, pythia.coupSM
    theirs = (info.sigmaGen() * 1e9, info.sigmaErr() * 1e9)

    def channel(name, pairs, weight):
        def amplitude(k1, k2, final, params):
            jet, top = final
            return weight * thq.single_top_squared_amplitude(name, k1, k2, top, jet, params)

        return processes.Channel(amplitude, tuple(pairs))

    channels = []
    for heavy in (5, 3, 1):
        weight = coup.V2CKMid(6, heavy)
        channels += [
            channel("u b -> t d", [(2, heavy), (4, heavy)], weight),
            channel("dbar b -> t ubar", [(-1, heavy), (-3, heavy)], weight),
            channel("ubar bbar -> tbar dbar", [(-2, -heavy), (-4, -heavy)], weight),
            channel("d bbar -> tbar u", [(1, -heavy), (3, -heavy)], weight),
        ]
    m_t = pdata.m0(6)
    process = processes.Process("single top", ("j", "t"), (0.0, m_t), tuple(channels))
    params = Parameters(
        m_t=m_t, sin2_w=coup.sin2thetaW(), m_w=pdata.m0(24), alpha_em=coup.alphaEM(mu * mu)
    )
    ours = processes.cross_section(
        process, pdf, scale=scales.fixed_scale(mu), params=params, n_points=5000, iterations=3,
        warmup=2,
    )  # fmt: skip
    _agree([ours], [theirs], 1e-2)


def test_unknown_process_is_named():
    with pytest.raises(ValueError, match="unknown process 'ttz'"):
        processes.process("ttz")


def test_thq_channels_are_the_t_channel_parton_pairs():
    """The eight five-flavour t-channel pairs (light quark or antiquark with b or bbar)."""
    pairs = {pair for c in processes.process("thq").channels for pair in c.partons}
    assert pairs == {(2, 5), (4, 5), (-1, 5), (-3, 5), (-2, -5), (-4, -5), (1, -5), (3, -5)}
    assert processes.process("tttt").symmetry == 4.0
    assert processes.process("ttgammagamma").symmetry == 2.0


def _photon(pt, eta, phi):
    return np.array([[pt * np.cosh(eta), pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)]])


@pytest.mark.parametrize(
    ("a1", "a2", "passes"),
    [
        ((20, 0.0, 0.0), (20, 1.0, 2.0), True),
        ((14, 0.0, 0.0), (20, 1.0, 2.0), False),  # pT
        ((20, 2.8, 0.0), (20, 1.0, 2.0), False),  # eta
        ((20, 0.0, 0.0), (20, 0.2, 0.3), False),  # Delta R = 0.36
        ((20, 0.0, 3.0), (20, 0.0, -3.0), False),  # Delta phi wraps: 0.28
    ],
)
def test_photon_cuts(a1, a2, passes):
    final = np.stack([_photon(*a1), _photon(*a2)])
    assert processes.photon_cuts()(final)[0] == passes
