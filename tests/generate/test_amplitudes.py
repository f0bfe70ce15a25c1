"""The tree-level amplitude engine (``eventgnn.generate.amplitudes``): wavefunctions, then each
process against an independent calculation (closed forms, the hand-written ``cp_yukawa``
amplitude, Pythia 8's own ``sigmaHat``, trace-technique references written here, soft-photon
factorisation, the high-energy cancellation of t H q), gauge invariance, Lorentz invariance and
symmetries. Phase-space points come from two-body chains in boosted frames (no integration)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from eventgnn.generate.amplitudes import (
    AmplitudeError,
    Parameters,
    heavy_pair,
    lorentz,
    thq,
    tth,
    ttaa,
    ttbar,
    ttw,
)
from eventgnn.generate.amplitudes import wavefunctions as wf
from eventgnn.generate.amplitudes.wavefunctions import Wave

SM = Parameters()
M_TOP, M_HIGGS = SM.m_t, SM.m_h

# -- phase space ----------------------------------------------------------------------------------


def _boost(p, frame):
    """Boost ``p`` from the rest frame of ``frame`` into the frame where ``frame`` has its
    momentum (both ``[n, 4]``)."""
    mass = np.sqrt(lorentz.dot(frame, frame))
    beta = frame[:, 1:] / frame[:, :1]
    gamma = frame[:, 0] / mass
    bp = np.sum(beta * p[:, 1:], axis=1)
    b2 = np.sum(beta * beta, axis=1)
    coef = np.where(b2 > 0, (gamma - 1) / np.where(b2 > 0, b2, 1), 0.0)
    space = p[:, 1:] + (coef * bp + gamma * p[:, 0])[:, None] * beta
    return np.concatenate([(gamma * (p[:, 0] + bp))[:, None], space], axis=1)


def _directions(rng, n):
    cos = rng.uniform(-1, 1, n)
    phi = rng.uniform(0, 2 * np.pi, n)
    sin = np.sqrt(1 - cos**2)
    return np.stack([sin * np.cos(phi), sin * np.sin(phi), cos], axis=1)


def _two_body(frame, m1, m2, rng):
    """Isotropic two-body decay of ``frame`` into masses ``m1``, ``m2``."""
    mass = np.sqrt(lorentz.dot(frame, frame))
    p = np.sqrt((mass**2 - (m1 + m2) ** 2) * (mass**2 - (m1 - m2) ** 2)) / (2 * mass)
    n = _directions(rng, len(mass)) * p[:, None]
    one = np.concatenate([np.sqrt(p**2 + m1**2)[:, None], n], axis=1)
    two = np.concatenate([np.sqrt(p**2 + m2**2)[:, None], -n], axis=1)
    return _boost(one, frame), _boost(two, frame)


def _beams(rng, n, root_s):
    """Massless incoming partons along +-z with ``sqrt(s)`` in ``root_s`` and a random boost."""
    rs = rng.uniform(*root_s, n)
    y = rng.uniform(-1, 1, n)
    zero = np.zeros(n)
    k1 = 0.5 * rs[:, None] * np.exp(y)[:, None] * np.stack([1 + zero, zero, zero, 1 + zero], 1)
    k2 = 0.5 * rs[:, None] * np.exp(-y)[:, None] * np.stack([1 + zero, zero, zero, -1 - zero], 1)
    return k1, k2


def chain(n, masses, seed=0, root_s=None):
    """``n`` points ``(k1, k2, p_1, ..., p_k)``: the final state of ``masses`` by a chain of
    isotropic two-body decays (``p_1`` and the rest, the rest into ``p_2`` and the rest, ...) with
    uniform intermediate masses, in a frame boosted along z."""
    rng = np.random.default_rng(seed)
    lo = sum(masses) + 50.0
    k1, k2 = _beams(rng, n, root_s or (lo + 50, lo + 1500))
    rest = k1 + k2
    out = []
    for i, m in enumerate(masses[:-2]):
        m_rest = np.sqrt(lorentz.dot(rest, rest))
        below = sum(masses[i + 1 :])
        inner = below + 1 + rng.uniform(0.0, 1.0, n) * (m_rest - m - below - 2)
        p, rest = _two_body(rest, m, inner, rng)
        out.append(p)
    out.extend(_two_body(rest, masses[-2], masses[-1], rng))
    return (k1, k2, *out)


def test_phase_space_points_are_physical():
    k1, k2, *final = chain(50, [M_TOP, M_TOP, M_HIGGS, 0.0])
    assert np.allclose(k1 + k2, sum(final), rtol=0, atol=1e-8)
    for p, m in zip(final, [M_TOP, M_TOP, M_HIGGS, 0.0], strict=True):
        assert np.allclose(lorentz.dot(p, p), m * m, rtol=0, atol=1e-6)
        assert np.all(p[:, 0] > 0)


# -- wavefunctions ---------------------------------------------------------------------------------


def _momenta(mass, seed=0):
    """Random momenta plus the awkward ones: along +z, along -z."""
    rng = np.random.default_rng(seed)
    space = np.concatenate([rng.normal(size=(6, 3)) * 300, [[0, 0, 250.0], [0, 0, -250.0]]])
    energy = np.sqrt(mass**2 + np.sum(space**2, axis=1))
    return np.concatenate([energy[:, None], space], axis=1)


def test_dirac_algebra():
    g, metric = lorentz.GAMMA, np.diag(lorentz.METRIC)
    for mu, nu in itertools.product(range(4), repeat=2):
        assert np.allclose(g[mu] @ g[nu] + g[nu] @ g[mu], 2 * metric[mu, nu] * lorentz.IDENTITY)
    assert np.allclose(lorentz.GAMMA5, 1j * g[0] @ g[1] @ g[2] @ g[3])


@pytest.mark.parametrize("mass", [0.0, M_TOP])
def test_fermion_spin_sums_and_dirac_equation(mass):
    """``sum u ubar = pslash + m``, ``sum v vbar = pslash - m``, ``ubar = u^dagger gamma^0``,
    ``(pslash - m) u = 0``: the HELAS spinors (ixxxxx, oxxxxx), also along +-z."""
    p = _momenta(mass)
    ps, one = lorentz.slash(p), lorentz.IDENTITY
    su = sum(
        np.einsum("ni,nj->nij", wf.ixxxxx(p, mass, h, 1), wf.oxxxxx(p, mass, h, 1))
        for h in (-1, 1)
    )
    sv = sum(
        np.einsum("ni,nj->nij", wf.ixxxxx(p, mass, h, -1), wf.oxxxxx(p, mass, h, -1))
        for h in (-1, 1)
    )
    scale = np.abs(p[:, :1, None]).max()
    assert np.abs(su - (ps + mass * one)).max() < 1e-12 * scale
    assert np.abs(sv - (ps - mass * one)).max() < 1e-12 * scale
    for h in (-1, 1):
        u, v = wf.ixxxxx(p, mass, h, 1), wf.ixxxxx(p, mass, h, -1)
        assert np.allclose(wf.oxxxxx(p, mass, h, 1), u.conj() @ lorentz.GAMMA[0])
        assert np.allclose(wf.oxxxxx(p, mass, h, -1), v.conj() @ lorentz.GAMMA[0])
        assert np.abs(np.einsum("nij,nj->ni", ps - mass * one, u)).max() < 1e-10 * scale
        assert np.abs(np.einsum("nij,nj->ni", ps + mass * one, v)).max() < 1e-10 * scale
        # helicity: massless spinors are chiral, right-handed for h = +1
        if mass == 0:
            assert np.allclose(np.einsum("ij,nj->ni", lorentz.P_LEFT if h > 0 else lorentz.P_RIGHT, u), 0)


@pytest.mark.parametrize("mass", [0.0, 80.4])
def test_vector_polarisations(mass):
    """Transverse (``eps.p = 0``), normalised, outgoing = conjugate of incoming; massive: the sum
    over three polarisations is ``-g + p p / M^2``."""
    p = _momenta(mass, seed=1)
    hels = (-1, 0, 1) if mass else (-1, 1)
    eps = [wf.vxxxxx(p, mass, h, 1) for h in hels]
    for e, h in zip(eps, hels, strict=True):
        assert np.allclose(lorentz.dot(e, p), 0, atol=1e-10)
        assert np.allclose(lorentz.dot(e, e.conj()), -1)
        assert np.allclose(wf.vxxxxx(p, mass, h, -1), e.conj())
    if mass:
        total = sum(np.einsum("ni,nj->nij", e, e.conj()) for e in eps)
        target = -np.diag(lorentz.METRIC) + np.einsum("ni,nj->nij", p, p) / mass**2
        assert np.allclose(total, target, atol=1e-10)
    with pytest.raises(AmplitudeError, match="longitudinal"):
        wf.vxxxxx(p, 0.0, 0, 1)


def test_default_parameters_are_the_g_mu_scheme():
    derived = Parameters.g_mu_scheme()
    assert derived.m_w == pytest.approx(SM.m_w, rel=1e-12)
    assert derived.sin2_w == pytest.approx(SM.sin2_w, rel=1e-12)
    assert SM.v == pytest.approx(246.22, rel=1e-4)  # 1 / sqrt(sqrt 2 G_F)


# -- g g / q qbar -> t tbar ------------------------------------------------------------------------


def _ttbar_closed_form(channel, k1, k2, top, g_s, m):
    """The textbook LO results (Combridge 1979; Pythia's ``Sigma2gg2QQbar``, ``Sigma2qqbar2QQbar``)."""
    s = lorentz.dot(k1 + k2, k1 + k2)
    t, u = lorentz.dot(k1 - top, k1 - top), lorentz.dot(k2 - top, k2 - top)
    if channel == "qqbar":
        return g_s**4 * 4 / 9 * ((m * m - t) ** 2 + (m * m - u) ** 2 + 2 * m * m * s) / s**2
    tau1, tau2, rho = (m * m - t) / s, (m * m - u) / s, 4 * m * m / s
    return (
        g_s**4
        * (1 / (6 * tau1 * tau2) - 3 / 8)
        * (tau1**2 + tau2**2 + rho - rho**2 / (4 * tau1 * tau2))
    )


@pytest.mark.parametrize("channel", ttbar.CHANNELS)
def test_ttbar_equals_the_closed_form(channel):
    k1, k2, top, antitop = chain(300, [M_TOP, M_TOP], seed=2)
    ours = ttbar.squared_amplitude(channel, k1, k2, top, antitop)
    assert ours == pytest.approx(_ttbar_closed_form(channel, k1, k2, top, SM.g_s, M_TOP), rel=1e-10)


# -- Pythia's own matrix elements ------------------------------------------------------------------


def _pythia_points(setting: str, n: int, seed: int):
    """``n`` hard processes of Pythia's ``setting``: per event ``(sigmaHat in GeV^-2, alpha_s,
    alpha_em)`` at the accepted phase-space point, the four PDG ids and ``[4, 4]`` momenta of
    process-record entries 3-6, and the Pythia instance (for its couplings)."""
    pythia8mc = pytest.importorskip("pythia8mc")

    class Recorder(pythia8mc.UserHooks):
        def __init__(self):
            pythia8mc.UserHooks.__init__(self)
            self.process, self.couplings, self.rows = None, None, []

        def canModifySigma(self):  # noqa: N802
            return True

        def multiplySigmaBy(self, sigma_process, phase_space, in_event):  # noqa: N802
            if in_event:  # the phase-space point that becomes the event
                self.process = sigma_process
                self.couplings = (sigma_process.alphaSRen(), sigma_process.alphaEMRen())
            return 1.0

        def canVetoProcessLevel(self):  # noqa: N802
            return True

        def doVetoProcessLevel(self, event):  # noqa: N802
            rows = [event[i] for i in (3, 4, 5, 6)]
            ids = [r.id() for r in rows]
            # sigmaHatWrap sets the incoming flavours (sigmaHat alone keeps the last pair that
            # Pythia's flavour sum tried) and converts GeV^-2 to mb
            sigma = self.process.sigmaHatWrap(ids[0], ids[1]) / CONVERT2MB
            mom = np.array([[r.e(), r.px(), r.py(), r.pz()] for r in rows])
            self.rows.append(((sigma, *self.couplings), ids, mom))
            return False

    pythia = pythia8mc.Pythia("", False)
    hook = Recorder()
    for line in (
        "Print:quiet = on",
        "Beams:eCM = 13000.",
        f"{setting} = on",
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
    assert len(hook.rows) == n
    return pythia, hook.rows


CONVERT2MB = 0.389380
"""Pythia's ``CONVERT2MB`` (GeV^-2 -> mb), the same constant as in its ``SigmaProcess.h``."""


@pytest.mark.parametrize(("setting", "channel"), [("Top:gg2ttbar", "gg"), ("Top:qqbar2ttbar", "qqbar")])
def test_ttbar_equals_pythia_point_by_point(setting, channel):
    """At 100 of Pythia's own phase-space points, ``|M|^2 / (16 pi s^2)`` with Pythia's alpha_s
    equals its ``dsigma/dt`` (``Sigma2gg2QQbar``, ``Sigma2qqbar2QQbar``), the tops' Breit-Wigner
    masses mapped to a common mass as Pythia does."""
    pythia, rows = _pythia_points(setting, 100, seed=11)
    sigma, alpha_s = (np.array([r[0][i] for r in rows]) for i in range(2))
    ids = np.array([r[1] for r in rows])
    mom = np.stack([r[2] for r in rows])
    swap_in, swap_out = ids[:, 0] < 0, ids[:, 2] < 0  # quark first, top first
    k1 = np.where(swap_in[:, None], mom[:, 1], mom[:, 0])
    k2 = np.where(swap_in[:, None], mom[:, 0], mom[:, 1])
    top = np.where(swap_out[:, None], mom[:, 3], mom[:, 2])
    antitop = np.where(swap_out[:, None], mom[:, 2], mom[:, 3])
    assert np.ptp(lorentz.mass(top)) > 0.1  # the common-mass map matters
    top, antitop, m = lorentz.common_mass(top, antitop)
    params = Parameters(alpha_s=alpha_s, m_t=m)
    ours = ttbar.squared_amplitude(channel, k1, k2, top, antitop, params)
    s = lorentz.dot(k1 + k2, k1 + k2)
    assert ours / (16 * np.pi * s**2) == pytest.approx(sigma, rel=1e-10)


# -- t tbar H --------------------------------------------------------------------------------------


@pytest.mark.parametrize("angle", [0.0, 0.7, math.pi / 2], ids=["SM", "mixed", "odd"])
@pytest.mark.parametrize("channel", tth.CHANNELS)
def test_tth_equals_cp_yukawa(channel, angle):
    """The helicity engine against the project's hand-written trace-technique amplitude
    (:mod:`eventgnn.generate.cp_yukawa`, itself equal to Pythia's point by point)."""
    from eventgnn.generate import cp_yukawa

    k1, k2, top, antitop, higgs = chain(200, [M_TOP, M_TOP, M_HIGGS], seed=3)
    ours = tth.squared_amplitude(channel, k1, k2, top, antitop, higgs, cp_angle=angle)
    reference = cp_yukawa.squared_amplitude(
        channel, k1, k2, top, antitop, higgs, angle,
        alpha_s=SM.alpha_s, yukawa=math.sqrt(2) * M_TOP / SM.v,
    )  # fmt: skip
    assert ours == pytest.approx(reference, rel=1e-10)


# -- gauge invariance ------------------------------------------------------------------------------


def _longitudinal(wave: Wave, momentum) -> Wave:
    """``wave`` with its polarisation vectors replaced by ``k / E`` (same helicity axes)."""
    k = np.asarray(momentum) / np.asarray(momentum)[:, :1]
    return Wave(np.broadcast_to(k, wave.value.shape).astype(complex), wave.momentum)


def _ratios(bad, good):
    """Per event and colour structure: ``sum_hel |A(eps -> k)|^2 / sum_hel |A|^2``."""
    out = []
    for b, g in zip(bad, good, strict=True):
        b, g = np.broadcast_arrays(b, g)
        n = b.shape[-1]
        out.append(
            np.sum(np.abs(b.reshape(-1, n)) ** 2, 0) / np.sum(np.abs(g.reshape(-1, n)) ** 2, 0)
        )
    return np.array(out)


GAUGE_CASES = [
    # (module, channel, final-state masses, index of the gauge boson among the externals)
    (ttbar, "gg", [M_TOP, M_TOP], 0),
    (ttbar, "gg", [M_TOP, M_TOP], 1),
    (tth, "gg", [M_TOP, M_TOP, M_HIGGS], 0),
    (tth, "gg", [M_TOP, M_TOP, M_HIGGS], 1),
    (ttaa, "gg", [M_TOP, M_TOP, 0.0, 0.0], 0),
    (ttaa, "gg", [M_TOP, M_TOP, 0.0, 0.0], 1),
    (ttaa, "gg", [M_TOP, M_TOP, 0.0, 0.0], 4),
    (ttaa, "gg", [M_TOP, M_TOP, 0.0, 0.0], 5),
    (ttaa, "uubar", [M_TOP, M_TOP, 0.0, 0.0], 4),
    (ttaa, "ddbar", [M_TOP, M_TOP, 0.0, 0.0], 5),
]


@pytest.mark.parametrize(
    ("module", "channel", "masses", "which"),
    GAUGE_CASES,
    ids=[f"{m.__name__.split('.')[-1]}-{c}-{w}" for m, c, _, w in GAUGE_CASES],
)
def test_gauge_invariance(module, channel, masses, which):
    """An external gluon's or photon's polarisation replaced by its momentum gives zero, in each
    colour-ordered amplitude (every other particle physical), to 1e-9 of the physical one."""
    momenta = chain(40, masses, seed=4)
    waves = module.external_waves(channel, *momenta)
    good = module.colour_amplitudes(channel, waves)
    waves[which] = _longitudinal(waves[which], momenta[which])
    bad = module.colour_amplitudes(channel, waves)
    ratios = _ratios(bad, good)
    assert np.all(ratios < 1e-9), ratios.max()


def test_a_missing_diagram_breaks_gauge_invariance():
    """The check above can fail: without the triple-gluon diagrams g g -> t tbar is not gauge
    invariant."""
    k1, k2, top, antitop = chain(40, [M_TOP, M_TOP], seed=4)
    waves = ttbar.external_waves("gg", k1, k2, top, antitop)

    def abelian_only(ws):
        a, b, t, tb = ws
        gluon = (SM.g_s, SM.g_s)
        items = [heavy_pair.Insertion(a, gluon), heavy_pair.Insertion(b, gluon)]
        return [heavy_pair.fermion_line(t, tb, items, M_TOP)]

    good = abelian_only(waves)
    waves[0] = _longitudinal(waves[0], k1)
    assert np.median(_ratios(abelian_only(waves), good)) > 1e-3
