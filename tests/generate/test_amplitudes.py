"""The tree-level amplitude engine (``eventgnn.generate.amplitudes``): wavefunctions, vertices
and colour algebra, then each process against an independent calculation (closed forms, the
hand-written ``cp_yukawa`` amplitude, Pythia 8's own ``sigmaHat``, MadGraph's standalone matrix
elements, trace-technique references written here, soft-photon factorisation, the high-energy
cancellation of t H q), gauge invariance, Lorentz invariance and symmetries. Phase-space points
come from two-body chains in boosted frames (no integration); docs/amplitudes.md lists every
check with its tolerance and the deviation measured."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from eventgnn.generate.amplitudes import (
    AmplitudeError,
    Parameters,
    colour,
    heavy_pair,
    lines,
    lorentz,
    thq,
    ttaa,
    ttbar,
    tth,
    ttt,
    tttt,
    ttw,
    vertices,
)
from eventgnn.generate.amplitudes import wavefunctions as wf
from eventgnn.generate.amplitudes.parameters import MADGRAPH_WIDTHS
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
        np.einsum("ni,nj->nij", wf.ixxxxx(p, mass, h, 1), wf.oxxxxx(p, mass, h, 1)) for h in (-1, 1)
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
            assert np.allclose(
                np.einsum("ij,nj->ni", lorentz.P_LEFT if h > 0 else lorentz.P_RIGHT, u), 0
            )


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


def test_colour_algebra():
    """``Tr(T^a T^b) = delta / 2``, ``[T^a, T^b] = i f^{abc} T^c``, and the numerical colour
    matrices equal the hand-written ones of :mod:`heavy_pair`."""
    t, f = colour.generators(), colour.structure_constants()
    assert np.allclose(np.einsum("aij,bji->ab", t, t), np.eye(8) / 2)
    commutator = np.einsum("aij,bjk->abik", t, t) - np.einsum("bij,ajk->abik", t, t)
    assert np.allclose(commutator, 1j * np.einsum("abc,cik->abik", f, t))
    gg = colour.matrix(
        [colour.tensor("abij", "T:aim", "T:bmj"), colour.tensor("abij", "T:bim", "T:amj")]
    )
    assert np.allclose(gg, heavy_pair.GG_COLOUR)
    qq = colour.matrix([colour.tensor("rsij", "T:crs", "T:cij")])
    assert np.allclose(qq, heavy_pair.QQ_COLOUR)


def _random_waves(rng, n, count, sizes):
    """``count`` random wavefunctions with random momenta that add up to zero (all flowing in),
    values complex ``[n, size]`` (size 1: a scalar ``[n]``)."""
    momenta = [rng.normal(size=(n, 4)) * 100 for _ in range(count - 1)]
    momenta.append(-sum(momenta))
    waves = []
    for p, size in zip(momenta, sizes, strict=True):
        value = rng.normal(size=(n, size)) + 1j * rng.normal(size=(n, size))
        waves.append(Wave(value[:, 0] if size == 1 else value, p))
    return waves


def _flip(wave: Wave) -> Wave:
    """An outgoing-flow fermion (``<fo|``) carries the momentum flowing out: minus the inflow."""
    return Wave(wave.value, -wave.momentum)


def test_a_diagram_closed_at_any_vertex_is_the_same():
    """Every off-shell current against the vertex it replaces (HELAS's ``_0`` against ``_1``,
    ``_2``, ``_3``): the same diagram, closed at different vertices, has the same value, with
    random wavefunctions, chiral couplings, masses and widths. This covers the currents no process
    uses (the scalar ones, ``<fo|`` with a scalar)."""
    rng = np.random.default_rng(20)
    n, m, width, mv, wv = 7, 170.0, 1.5, 80.0, 2.0
    c1, c2 = (0.3 + 0.1j, -0.7), (1.1, 0.4 - 0.2j)
    # two vectors on one line: <fo| V1 S V2 |fi>
    fo, fi, v1, v2 = _random_waves(rng, n, 4, [4, 4, 4, 4])
    fo = _flip(fo)
    one = vertices.amp_ffv(fo, vertices.off_fermion_in(fi, v2, c2, m, width), v1, c1)
    two = vertices.amp_ffv(vertices.off_fermion_out(fo, v1, c1, m, width), fi, v2, c2)
    assert one == pytest.approx(two, rel=1e-12, abs=0)
    # a scalar and a vector on one line, both orders of closing
    fo, fi, s, v = _random_waves(rng, n, 4, [4, 4, 1, 4])
    fo = _flip(fo)
    one = vertices.amp_ffs(fo, vertices.off_fermion_in(fi, v, c1, m, width), s, c2)
    two = vertices.amp_ffv(vertices.off_fermion_out_s(fo, s, c2, m, width), fi, v, c1)
    assert one == pytest.approx(two, rel=1e-12, abs=0)
    one = vertices.amp_ffv(fo, vertices.off_fermion_in_s(fi, s, c2, m, width), v, c1)
    two = vertices.amp_ffs(vertices.off_fermion_out(fo, v, c1, m, width), fi, s, c2)
    assert one == pytest.approx(two, rel=1e-12, abs=0)
    # a massive vector, and a scalar, exchanged between two lines
    fo1, fi1, fo2, fi2 = _random_waves(rng, n, 4, [4, 4, 4, 4])
    fo1, fo2 = _flip(fo1), _flip(fo2)
    for mass, w in ((mv, wv), (0.0, 0.0)):
        one = vertices.amp_ffv(fo2, fi2, vertices.off_vector(fo1, fi1, c1, mass, w), c2)
        two = vertices.amp_ffv(fo1, fi1, vertices.off_vector(fo2, fi2, c2, mass, w), c1)
        assert one == pytest.approx(two, rel=1e-12, abs=0)
    one = vertices.amp_ffs(fo2, fi2, vertices.off_scalar(fo1, fi1, c1, 125.0, 0.1), c2)
    two = vertices.amp_ffs(fo1, fi1, vertices.off_scalar(fo2, fi2, c2, 125.0, 0.1), c1)
    assert one == pytest.approx(two, rel=1e-12, abs=0)
    # vector-vector-scalar: the vector or the scalar off shell
    fo, fi, v, s = _random_waves(rng, n, 4, [4, 4, 4, 1])
    fo = _flip(fo)
    one = vertices.amp_ffv(fo, fi, vertices.off_vector_vs(v, s, 0.8, mv, wv), c1)
    two = vertices.amp_vvs(v, vertices.off_vector(fo, fi, c1, mv, wv), s, 0.8)
    assert one == pytest.approx(two, rel=1e-12, abs=0)
    fo, fi, v1, v2 = _random_waves(rng, n, 4, [4, 4, 4, 4])
    fo = _flip(fo)
    one = vertices.amp_ffs(fo, fi, vertices.off_scalar_vv(v1, v2, 0.8, 125.0, 0.1), c2)
    two = vertices.amp_vvs(v1, v2, vertices.off_scalar(fo, fi, c2, 125.0, 0.1), 0.8)
    assert one == pytest.approx(two, rel=1e-12, abs=0)
    # three gluons: the off-shell gluon (colour c of f^{abc}) against the vertex
    one = vertices.amp_ffv(fo, fi, vertices.off_gluon(v1, v2, 1.2), c1)
    two = vertices.amp_vvv(v1, v2, vertices.off_vector(fo, fi, c1, 0.0), 1.2)
    assert one == pytest.approx(two, rel=1e-12, abs=0)
    # four gluons: each colour structure's Lorentz part, contracted with a fourth vector
    v1, v2, v3, v4 = _random_waves(rng, n, 4, [4, 4, 4, 4])
    q = v1.momentum + v2.momentum + v3.momentum
    prop = -(1.2**2) / lorentz.dot(q, q)  # (-i g^2) (-i / q^2)
    d = {(i, j): lorentz.dot(a.value, b.value) for i, a in enumerate((v1, v2, v3, v4), 1)
         for j, b in enumerate((v1, v2, v3, v4), 1)}  # fmt: skip
    expected = [
        d[1, 3] * d[2, 4] - d[1, 4] * d[2, 3],
        d[1, 2] * d[3, 4] - d[1, 4] * d[2, 3],
        d[1, 2] * d[3, 4] - d[1, 3] * d[2, 4],
    ]
    for current, value in zip(vertices.off_gluon_4(v1, v2, v3, 1.2), expected, strict=True):
        assert lorentz.dot(current.value, v4.value) == pytest.approx(prop * value, rel=1e-12, abs=0)


def test_default_parameters_are_the_g_mu_scheme():
    derived = Parameters.g_mu_scheme()
    assert derived.m_w == pytest.approx(SM.m_w, rel=1e-12, abs=0)
    assert derived.sin2_w == pytest.approx(SM.sin2_w, rel=1e-12, abs=0)
    assert SM.v == pytest.approx(246.22, rel=1e-4, abs=0)  # 1 / sqrt(sqrt 2 G_F)


# -- g g / q qbar -> t tbar ------------------------------------------------------------------------


def _ttbar_closed_form(channel, k1, k2, top, g_s, m):
    """The textbook LO results (Combridge 1979; as in Pythia's ``Sigma2gg2QQbar`` and
    ``Sigma2qqbar2QQbar``)."""
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
    assert ours == pytest.approx(
        _ttbar_closed_form(channel, k1, k2, top, SM.g_s, M_TOP), rel=1e-10, abs=0
    )


# -- Pythia's own matrix elements ------------------------------------------------------------------


def _pythia_points(setting: str, n: int, seed: int, entries=(3, 4, 5, 6), extra=()):
    """``n`` hard processes of Pythia's ``setting``: per event ``(sigmaHat in GeV^-2, alpha_s,
    alpha_em)`` at the accepted phase-space point, the PDG ids and ``[k, 4]`` momenta of
    process-record ``entries``, and the Pythia instance (for its couplings)."""
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
            rows = [event[i] for i in entries]
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
        *extra,
    ):
        assert pythia.readString(line)
    pythia.setUserHooksPtr(hook)
    assert pythia.init()
    pythia.nextBatch(n, "skip")
    assert len(hook.rows) == n
    return pythia, hook.rows


CONVERT2MB = 0.389380
"""Pythia's ``CONVERT2MB`` (GeV^-2 -> mb), the same constant as in its ``SigmaProcess.h``."""


@pytest.mark.parametrize(
    ("setting", "channel"), [("Top:gg2ttbar", "gg"), ("Top:qqbar2ttbar", "qqbar")]
)
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
    assert ours / (16 * np.pi * s**2) == pytest.approx(sigma, rel=1e-10, abs=0)


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
    assert ours == pytest.approx(reference, rel=1e-10, abs=0)


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
        items = [lines.Insertion(a, gluon), lines.Insertion(b, gluon)]
        return [lines.fermion_line(t, tb, items, M_TOP)]

    good = abelian_only(waves)
    waves[0] = _longitudinal(waves[0], k1)
    assert np.median(_ratios(abelian_only(waves), good)) > 1e-3


# -- t tbar W --------------------------------------------------------------------------------------

# Dirac matrices in the Dirac representation, for references independent of the engine's own
# (chiral) matrices and spinors: traces do not depend on the representation. The trace references
# compute in extended precision (numpy's long double): in unitary gauge the W propagators'
# q q / M^2 terms are large and cancel, and in double precision the trace of t H q keeps only
# about eight digits at some points (the helicity amplitudes keep eleven).
_I2, _Z2 = np.eye(2), np.zeros((2, 2))
DIRAC = np.stack(
    [np.block([[_I2, _Z2], [_Z2, -_I2]]).astype(complex)]
    + [np.block([[_Z2, s], [-s, _Z2]]) for s in lorentz.PAULI]
).astype(np.clongdouble)
DIRAC5 = np.block([[_Z2, _I2], [_I2, _Z2]]).astype(np.clongdouble)
ONE = np.eye(4, dtype=np.clongdouble)
LEFT = (ONE - DIRAC5) / 2


def _extended(*momenta):
    return [np.asarray(p, dtype=np.longdouble) for p in momenta]


def _dslash(p):
    """``p_mu gamma^mu`` in the Dirac representation, ``[N, 4, 4]``."""
    return np.einsum("nm,mij->nij", p * lorentz.METRIC, DIRAC)


def _dbar(m):
    """``gamma^0 M^dagger gamma^0``."""
    return DIRAC[0] @ np.conj(np.swapaxes(m, -1, -2)) @ DIRAC[0]


def _ttw_by_traces(k1, k2, top, antitop, w, params):
    """``|M|^2`` of q qbar' -> t tbar W+ by the trace technique: ``M = (c_W g_s^2 / s) [vbar(k2)
    G^{alpha rho} u(k1)] eps*_alpha [ubar(t) gamma_rho v(tbar)]`` with ``G^{alpha rho} = gamma^alpha
    P_L S(k1 - P) gamma^rho + gamma^rho S(k1 - p_W) gamma^alpha P_L`` (``P = p_t + p_tbar``), the
    W polarisations summed as ``-g + p p / M^2``."""
    k1, k2, top, antitop, w = _extended(k1, k2, top, antitop, w)
    m, m_w = params.m_t, params.m_w
    pair = top + antitop
    s = lorentz.dot(pair, pair)
    q1, q2 = k1 - pair, k1 - w
    s1 = _dslash(q1) / lorentz.dot(q1, q1)[:, None, None]
    s2 = _dslash(q2) / lorentz.dot(q2, q2)[:, None, None]
    g_up = DIRAC[None]  # [1, 4 (index), 4, 4]
    # G[n, alpha, rho]
    a = (g_up @ LEFT)[:, :, None] @ s1[:, None, None] @ g_up[:, None, :]
    b = g_up[:, None, :] @ s2[:, None, None] @ (g_up @ LEFT)[:, :, None]
    big_g = a + b  # [N, alpha, rho, 4, 4]
    light = np.einsum(
        "nij,nabjk,nkl,ncdli->nabcd", _dslash(k2), big_g, _dslash(k1), _dbar(big_g)
    )  # Tr[k2 G^{a b} k1 Gbar^{c d}]
    heavy = np.einsum(
        "nij,bjk,nkl,dli->nbd",
        _dslash(top) + m * ONE,
        DIRAC,
        _dslash(antitop) - m * ONE,
        DIRAC,
    )  # Tr[(t + m) gamma^b (tbar - m) gamma^d], upper indices
    pol = -np.diag(lorentz.METRIC) + np.einsum("na,nc->nac", w, w) / m_w**2  # sum eps^a eps*^c
    g_low = np.diag(lorentz.METRIC)
    # lower the W and gluon indices of the light tensor: contract with pol (upper) via g
    total = np.einsum("nabcd,ax,cy,nxy,be,df,nef->n", light, g_low, g_low, pol, g_low, g_low, heavy)
    coupling = params.w_boson()[0] * params.g_s**2
    return heavy_pair.QQ_AVERAGE * 2.0 * (coupling**2 / s**2) * total.real


def test_ttw_equals_a_trace_calculation():
    """The helicity amplitudes (HELAS spinors, three W polarisations) against the trace
    technique in the Dirac representation with the W polarisation sum ``-g + p p / M^2``."""
    k1, k2, top, antitop, w = chain(60, [M_TOP, M_TOP, SM.m_w], seed=5)
    ours = ttw.squared_amplitude(k1, k2, top, antitop, w)
    assert ours == pytest.approx(_ttw_by_traces(k1, k2, top, antitop, w, SM), rel=1e-10, abs=0)


def test_ttw_w_current_is_conserved():
    """With massless quarks (which the gluon couples to alike) the W's polarisation replaced by
    its momentum gives zero: a check of the relative sign of the two diagrams."""
    momenta = chain(40, [M_TOP, M_TOP, SM.m_w], seed=6)
    waves = ttw.external_waves(*momenta)
    good = ttw.colour_amplitudes(waves)
    waves[4] = _longitudinal(waves[4], momenta[4])
    assert np.all(_ratios(ttw.colour_amplitudes(waves), good) < 1e-9)


# -- t-channel single top and t H q ----------------------------------------------------------------

LINE_TYPES = ["u b -> t d", "dbar b -> t ubar", "ubar bbar -> tbar dbar", "d bbar -> tbar u"]


def _single_top_closed_form(channel, k1, k2, top, jet, params):
    """V-A: ``g^4 (p_a.p_b)(p_c.p_d) / (t - M_W^2)^2`` with the pairs that are both particles or
    both antiparticles in the initial state (``s^2``-like) or not (``u^2``-like)."""
    t = lorentz.dot(k1 - jet, k1 - jet)
    if channel in ("u b -> t d", "ubar bbar -> tbar dbar"):
        pairs = lorentz.dot(k1, k2) * lorentz.dot(jet, top)
    else:
        pairs = lorentz.dot(k1, top) * lorentz.dot(jet, k2)
    return params.g**4 * pairs / (t - params.m_w**2) ** 2


@pytest.mark.parametrize("channel", LINE_TYPES)
def test_single_top_equals_the_closed_form(channel):
    k1, k2, top, jet = chain(200, [M_TOP, 0.0], seed=7)
    ours = thq.single_top_squared_amplitude(channel, k1, k2, top, jet)
    assert ours == pytest.approx(
        _single_top_closed_form(channel, k1, k2, top, jet, SM), rel=1e-10, abs=0
    )


def test_single_top_equals_pythia_point_by_point():
    """``Top:qq2tq(t:W)`` (``Sigma2qq2QqtW``) at 60 of Pythia's points, all flavour channels:
    ``|M|^2 |V_tq|^2 / (16 pi s^2)`` (q = b, s, d: the incoming heavy-line quark) with Pythia's
    alpha_em, sin^2 theta_W and m_W equals its ``dsigma/dt`` (Pythia's light-quark CKM factors
    sit in its flavour sum, not in sigmaHat).
    Pythia gives the outgoing light quark a mass (0.33 GeV for u, d; 0.5 s; 1.5 c) which the
    massless amplitude does not have: agreement to 5e-3, to 5e-4 with an outgoing u or d."""
    pythia, rows = _pythia_points("Top:qq2tq(t:W)", 60, seed=13)
    coup = pythia.coupSM
    params = Parameters(sin2_w=coup.sin2thetaW(), m_w=pythia.particleData.m0(24))
    ours, theirs = [], []
    for (sigma, _, alpha_em), ids, mom in rows:
        t_out = 2 if abs(ids[2]) == 6 else 3
        # the heavy line: a down-type quark (antiquark) that becomes the top (antitop); Pythia
        # also has d, s -> t through V_td, V_ts
        down = (1, 3, 5) if ids[t_out] > 0 else (-1, -3, -5)
        b_in = 0 if ids[0] in down else 1
        light_in, light_out = mom[1 - b_in], mom[5 - t_out]
        channel = {
            (True, True): "u b -> t d",
            (False, True): "dbar b -> t ubar",
            (False, False): "ubar bbar -> tbar dbar",
            (True, False): "d bbar -> tbar u",
        }[(ids[1 - b_in] > 0, ids[t_out] > 0)]
        value = thq.single_top_squared_amplitude(
            channel, light_in[None], mom[b_in][None], mom[t_out][None], light_out[None],
            Parameters(**{**params.__dict__, "alpha_em": alpha_em}),
        )[0]  # fmt: skip
        s = lorentz.dot(mom[0] + mom[1], mom[0] + mom[1])
        ours.append(value * coup.V2CKMid(6, abs(ids[b_in])) / (16 * np.pi * s**2))
        theirs.append(sigma)
    ours, theirs = np.array(ours), np.array(theirs)
    assert ours == pytest.approx(theirs, rel=5e-3, abs=0)
    light = np.array(
        [
            max(abs(ids[2]), abs(ids[3])) == 6 and min(abs(i) for i in ids[2:]) < 3
            for _, ids, _ in rows
        ]
    )
    assert light.sum() > 30 and ours[light] == pytest.approx(theirs[light], rel=5e-4, abs=0)


def test_ww_fusion_equals_pythia_for_two_quarks():
    """The Higgs-from-the-W diagram alone (``kappa_t = 0``, massless quarks) is W W fusion:
    Pythia's ``HiggsSM:ff2Hff(t:WW)`` (``Sigma3ff2HfftWW``) at 80 of its points, with its
    alpha_em, sin^2 theta_W and m_W. This fixes the h W W coupling and the W propagators
    absolutely. Only events with two incoming quarks (or two antiquarks) are compared: for quark +
    antiquark Pythia uses the same ``(p1.p2)(p3.p4)`` as for two quarks, where the V-A structure
    gives ``(p1.p4)(p2.p3)`` (as the engine does, and as the single-top test above checks against
    the closed form). Pythia's light-quark masses in its kinematics limit the agreement."""
    pythia, rows = _pythia_points("HiggsSM:ff2Hff(t:WW)", 80, seed=19, entries=(3, 4, 5, 6, 7))
    coup = pythia.coupSM
    three_q = {1: -1, 2: 2, 3: -1, 4: 2, 5: -1}  # three times the charge of a quark
    ours, theirs, light = [], [], []
    for (sigma, _, alpha_em), ids, mom in rows:
        if ids[0] * ids[1] < 0:
            continue
        k1, k2, higgs, p6, p7 = mom
        # the outgoing quark on the first incoming quark's line differs by one unit of charge
        first_line = abs(three_q[abs(ids[0])] - three_q[abs(ids[3])]) == 3
        jet, heavy = (p6, p7) if first_line else (p7, p6)
        channel = "u b -> t H d" if ids[0] > 0 else "ubar bbar -> tbar H dbar"
        params = Parameters(
            alpha_em=alpha_em, sin2_w=coup.sin2thetaW(), m_w=pythia.particleData.m0(24)
        )
        value = thq.squared_amplitude(
            channel, k1[None], k2[None], heavy[None], higgs[None], jet[None], params, kappa_t=0.0
        )[0]
        ours.append(value)
        theirs.append(sigma)
        light.append(max(abs(ids[3]), abs(ids[4])) < 3)
    ours, theirs, light = np.array(ours), np.array(theirs), np.array(light)
    assert len(ours) > 30 and light.sum() > 10
    assert ours == pytest.approx(theirs, rel=1e-2, abs=0)
    assert ours[light] == pytest.approx(theirs[light], rel=1e-3, abs=0)


def test_photon_and_z_exchange_equal_pythia():
    """``q qbar -> gamma*/Z -> mu- mu+`` built from the engine's vertices and propagators
    (photon and Z currents of the quark line closed on the muon line) equals Pythia's
    ``WeakSingleBoson:ffbar2ffbar(s:gmZ)`` at 30 of its points near the Z peak, with Pythia's
    alpha_em, Z mass and s-dependent width (``Gamma s / m_Z^2``), and its Z couplings ``(v_f
    +- a_f) / 4`` (Pythia's ``v_f`` uses ``sin^2 theta_W-bar``, so the couplings are passed
    explicitly; :meth:`Parameters.z_boson` is checked against the same ``v_f``, ``a_f`` with one
    ``sin^2 theta_W``). Pythia's muons are massive (m^2 / s up to 7e-6): agreement to 3e-5."""
    pythia, rows = _pythia_points(
        "WeakSingleBoson:ffbar2ffbar(s:gmZ)", 30, seed=21, entries=(3, 4, 6, 7),
        extra=("PhaseSpace:mHatMin = 40.", "23:onMode = off", "23:onIfAny = 13"),
    )  # fmt: skip
    coup, data = pythia.coupSM, pythia.particleData
    g_z = np.sqrt(4 * np.pi / (coup.sin2thetaW() * coup.cos2thetaW()))  # times sqrt(alpha_em)

    def z_couplings(pdg, alpha_em):
        v, a = coup.vf(pdg), coup.af(pdg)
        return g_z * np.sqrt(alpha_em) * (v + a) / 4, g_z * np.sqrt(alpha_em) * (v - a) / 4

    ours, theirs = [], []
    for (sigma, _, alpha_em), ids, mom in rows:
        k1, k2 = (mom[0], mom[1]) if ids[0] > 0 else (mom[1], mom[0])
        mu, antimu = (mom[2], mom[3]) if ids[2] > 0 else (mom[3], mom[2])
        s = lorentz.dot(k1 + k2, k1 + k2)
        m_z = data.m0(23)
        params = Parameters(alpha_em=alpha_em)
        waves = [
            wf.external("fermion_in", k1[None], 0.0, 0, 4),
            wf.external("antifermion_in", k2[None], 0.0, 1, 4),
            wf.external("fermion_out", mu[None], lorentz.mass(mu[None]), 2, 4),
            wf.external("antifermion_out", antimu[None], lorentz.mass(antimu[None]), 3, 4),
        ]
        quark = abs(ids[0])
        charge = 2 / 3 if quark % 2 == 0 else -1 / 3
        photon = vertices.off_vector(waves[1], waves[0], params.photon(charge), 0.0)
        z = vertices.off_vector(
            waves[1], waves[0], z_couplings(quark, alpha_em), m_z, data.mWidth(23) * s / m_z**2
        )
        amp = vertices.amp_ffv(waves[2], waves[3], photon, params.photon(-1.0))
        amp = amp + vertices.amp_ffv(waves[2], waves[3], z, z_couplings(13, alpha_em))
        me2 = lines.colour_sum([amp], [[3.0]]) / (4 * 9)
        ours.append(me2[0] / (16 * np.pi * s**2))
        theirs.append(sigma)
    assert np.array(ours) == pytest.approx(np.array(theirs), rel=3e-5, abs=0)
    # Parameters.z_boson against Pythia's v_f, a_f with the same sin^2 theta_W
    params = Parameters(sin2_w=coup.sin2thetaWbar(), alpha_em=1 / 128.0)
    g_over_cos = params.e / np.sqrt(coup.sin2thetaWbar() * (1 - coup.sin2thetaWbar()))
    for pdg, isospin, charge in (
        (1, -0.5, -1 / 3),
        (2, 0.5, 2 / 3),
        (11, -0.5, -1.0),
        (12, 0.5, 0.0),
    ):
        left, right = params.z_boson(isospin, charge)
        assert left == pytest.approx(g_over_cos * (coup.vf(pdg) + coup.af(pdg)) / 4, rel=1e-12)
        assert right == pytest.approx(g_over_cos * (coup.vf(pdg) - coup.af(pdg)) / 4, abs=1e-15)


def _fixed_angle_thq(root_s, seed=8, n=6, jet_pt=60.0):
    """u b -> t H d at ``sqrt(s) = root_s`` with the jet at fixed ``pT`` and energy fraction and
    the t H pair's decay angles fixed: the quasi-collinear W (the region of the effective-W
    picture) with a growing W b energy."""
    rng = np.random.default_rng(seed)
    phi, x, cos, phi_t = (
        rng.uniform(0, 2 * np.pi, n), rng.uniform(0.3, 0.7, n),
        rng.uniform(-0.8, 0.8, n), rng.uniform(0, 2 * np.pi, n),
    )  # fmt: skip
    k1 = np.tile([root_s / 2, 0, 0, root_s / 2], (n, 1))
    k2 = np.tile([root_s / 2, 0, 0, -root_s / 2], (n, 1))
    energy = x * root_s / 2
    pz = np.sqrt(energy**2 - jet_pt**2)
    jet = np.stack([energy, jet_pt * np.cos(phi), jet_pt * np.sin(phi), pz], axis=1)
    rest = k1 + k2 - jet
    mass = np.sqrt(lorentz.dot(rest, rest))
    p = np.sqrt((mass**2 - (M_TOP + M_HIGGS) ** 2) * (mass**2 - (M_TOP - M_HIGGS) ** 2)) / (
        2 * mass
    )
    sin = np.sqrt(1 - cos**2)
    n_t = np.stack([sin * np.cos(phi_t), sin * np.sin(phi_t), cos], axis=1) * p[:, None]
    top = _boost(np.concatenate([np.sqrt(p**2 + M_TOP**2)[:, None], n_t], 1), rest)
    higgs = _boost(np.concatenate([np.sqrt(p**2 + M_HIGGS**2)[:, None], -n_t], 1), rest)
    return k1, k2, top, higgs, jet


def test_thq_growth_with_energy_cancels_only_in_the_standard_model():
    """The W_L b -> t H amplitude grows like ``(kappa_t - kappa_V) sqrt(s) / v``: from 10 to 100
    TeV, at fixed jet pT, the SM ``|M|^2`` stays put while those with ``kappa_t = -1`` or
    ``kappa_V = 2`` grow like ``s`` relative to it (a wrong sign or normalisation of either
    Higgs coupling would make the SM grow)."""

    def at(root_s, **kappas):
        k1, k2, top, higgs, jet = _fixed_angle_thq(root_s)
        return thq.squared_amplitude("u b -> t H d", k1, k2, top, higgs, jet, **kappas)

    sm_low, sm_high = at(1e4), at(1e5)
    assert np.all((sm_high / sm_low > 0.7) & (sm_high / sm_low < 1.3))
    for kappas in ({"kappa_t": -1.0}, {"kappa_v": 2.0}):
        growth = (at(1e5, **kappas) / sm_high) / (at(1e4, **kappas) / sm_low)
        assert np.all((growth > 50) & (growth < 200)), growth  # ~ (10^5 / 10^4)^2


def _thq_by_traces(k1, k2, top, higgs, jet, params):
    """``|M|^2`` of u b -> t H d by the trace technique (Dirac representation): ``M ~ L_mu
    P^{mu nu}(q) / (q^2 - M^2) [ubar(t) Gamma_nu u(b)]`` with ``Gamma_nu = (m_t / v) (pslash_t +
    pslash_H + m_t) gamma_nu P_L / ((p_t + p_H)^2 - m_t^2) + g m_W P_{nu kappa}(q') gamma^kappa
    P_L / (q'^2 - M^2)``, ``q = k1 - p_d``, ``q' = q - p_H``, ``P = g - q q / M^2``."""
    m, m_w = params.m_t, params.m_w
    g_low = np.diag(lorentz.METRIC)

    def projector(q):  # P^{mu nu}, upper
        return g_low[None] - np.einsum("na,nb->nab", q, q) / m_w**2

    q = k1 - jet
    q2 = q - higgs
    d_q, d_q2 = lorentz.dot(q, q) - m_w**2, lorentz.dot(q2, q2) - m_w**2
    inner = top + higgs
    gamma_low_left = np.einsum("ab,bij->aij", g_low, DIRAC) @ LEFT  # gamma_nu P_L
    from_top = (
        (params.m_t / params.v)
        * ((_dslash(inner) + m * ONE) / (lorentz.dot(inner, inner) - m * m)[:, None, None])[:, None]
        @ gamma_low_left[None]
    )  # [N, nu, 4, 4]
    p2_low = np.einsum("ab,nbc,cd->nad", g_low, projector(q2), g_low)
    from_w = (
        params.hww * np.einsum("nak,kij->naij", p2_low, DIRAC @ LEFT) / d_q2[:, None, None, None]
    )
    big_b = np.einsum("nmv,nvij->nmij", projector(q), from_top + from_w) / d_q[:, None, None, None]
    light_a = gamma_low_left  # L_mu = ubar(d) gamma_mu P_L u(u)
    light = np.einsum("nij,ajk,nkl,bli->nab", _dslash(jet), light_a, _dslash(k1), _dbar(light_a))
    heavy = np.einsum(
        "nij,najk,nkl,nbli->nab", _dslash(top) + m * ONE, big_b, _dslash(k2), _dbar(big_b)
    )
    total = np.einsum("nab,nab->n", light, heavy).real
    return thq.AVERAGE * (params.g**2 / 2) ** 2 * total


def test_thq_equals_a_trace_calculation():
    k1, k2, top, higgs, jet = chain(60, [M_TOP, M_HIGGS, 0.0], seed=9)
    ours = thq.squared_amplitude("u b -> t H d", k1, k2, top, higgs, jet)
    assert ours == pytest.approx(_thq_by_traces(k1, k2, top, higgs, jet, SM), rel=1e-10, abs=0)


def _parity(p):
    return p * np.array([1.0, -1.0, -1.0, -1.0])


@pytest.mark.parametrize(
    ("channel", "conjugate"),
    [("u b -> t H d", "ubar bbar -> tbar H dbar"), ("dbar b -> t H ubar", "d bbar -> tbar H u")],
)
def test_thq_is_cp_symmetric(channel, conjugate):
    """CP: the charge-conjugate channel at parity-mirrored momenta has the same ``|M|^2``. (The
    spin-summed ``|M|^2`` holds no epsilon-tensor terms here, so parity alone changes nothing: this
    checks the antitop and antiquark lines, separate code paths, against the top and quark ones.)"""
    k1, k2, top, higgs, jet = chain(50, [M_TOP, M_HIGGS, 0.0], seed=10)
    one = thq.squared_amplitude(channel, k1, k2, top, higgs, jet)
    two = thq.squared_amplitude(conjugate, *(_parity(p) for p in (k1, k2, top, higgs, jet)))
    assert two == pytest.approx(one, rel=1e-10, abs=0)


# -- t tbar gamma gamma ----------------------------------------------------------------------------


def _soft_photons(n, softness, seed):
    """t tbar plus two photons of energy ~ ``softness * sqrt(s)`` in the partonic rest frame."""
    rng = np.random.default_rng(seed)
    root_s = rng.uniform(500, 1500, n)
    zero = np.zeros(n)
    k1 = np.stack([root_s / 2, zero, zero, root_s / 2], axis=1)
    k2 = np.stack([root_s / 2, zero, zero, -root_s / 2], axis=1)
    photons = []
    for _ in range(2):
        energy = softness * root_s * rng.uniform(0.5, 1.0, n)
        photons.append(np.concatenate([energy[:, None], _directions(rng, n) * energy[:, None]], 1))
    top, antitop = _two_body(k1 + k2 - photons[0] - photons[1], M_TOP, M_TOP, rng)
    return k1, k2, top, antitop, *photons


@pytest.mark.parametrize("channel", list(ttaa.CHANNELS))
def test_ttaa_factorises_for_soft_photons(channel):
    """Two soft photons: ``|M(t tbar a a)|^2 -> |M(t tbar)|^2 E(a1) E(a2)`` with the eikonal factor
    ``E(k) = -e^2 J.J``, ``J = sum_i eta_i Q_i p_i / (p_i.k)`` over the charged legs (outgoing
    ``+``, incoming ``-``; the light quarks' charges enter the q qbar channels), at photon energies
    ``1e-6 sqrt(s)``: this fixes the photon couplings and the relative signs of the quark- and
    top-line emissions, which gauge invariance alone would not."""
    k1, k2, top, antitop, a1, a2 = _soft_photons(100, 1e-6, seed=12)
    full = ttaa.squared_amplitude(channel, k1, k2, top, antitop, a1, a2)
    hard = ttbar.squared_amplitude("gg" if channel == "gg" else "qqbar", k1, k2, top, antitop)
    q_light = ttaa.CHANNELS[channel]

    def eikonal(k):
        j = ttaa.CHARGE_TOP * (
            top / lorentz.dot(top, k)[:, None] - antitop / lorentz.dot(antitop, k)[:, None]
        )
        if q_light is not None:
            j = j - q_light * (k1 / lorentz.dot(k1, k)[:, None] - k2 / lorentz.dot(k2, k)[:, None])
        return -(SM.e**2) * lorentz.dot(j, j)

    assert full == pytest.approx(hard * eikonal(a1) * eikonal(a2), rel=1e-4, abs=0)


# -- Lorentz invariance and symmetries -------------------------------------------------------------

PROCESSES = {
    "ttbar-gg": (lambda *p: ttbar.squared_amplitude("gg", *p), [M_TOP, M_TOP]),
    "ttbar-qqbar": (lambda *p: ttbar.squared_amplitude("qqbar", *p), [M_TOP, M_TOP]),
    "tth-gg": (lambda *p: tth.squared_amplitude("gg", *p), [M_TOP, M_TOP, M_HIGGS]),
    "tth-qqbar": (lambda *p: tth.squared_amplitude("qqbar", *p), [M_TOP, M_TOP, M_HIGGS]),
    "ttw": (ttw.squared_amplitude, [M_TOP, M_TOP, SM.m_w]),
    "thq": (lambda *p: thq.squared_amplitude("u b -> t H d", *p), [M_TOP, M_HIGGS, 0.0]),
    "thq-antitop": (
        lambda *p: thq.squared_amplitude("d bbar -> tbar H u", *p),
        [M_TOP, M_HIGGS, 0.0],
    ),
    "ttaa-gg": (lambda *p: ttaa.squared_amplitude("gg", *p), [M_TOP, M_TOP, 0.0, 0.0]),
    "ttaa-uubar": (lambda *p: ttaa.squared_amplitude("uubar", *p), [M_TOP, M_TOP, 0.0, 0.0]),
    "tttt-gg": (lambda *p: tttt.squared_amplitude("gg", *p), [M_TOP] * 4),
    "ttt-ub": (lambda *p: ttt.squared_amplitude("u b -> t t tbar d", *p), [M_TOP] * 3 + [0.0]),
    "ttt-udbar": (
        lambda *p: ttt.squared_amplitude("u dbar -> t t tbar bbar", *p),
        [M_TOP] * 3 + [0.0],
    ),
    "ttt-gb": (lambda *p: ttt.squared_amplitude("g b -> t t tbar W-", *p), [M_TOP] * 3 + [SM.m_w]),
    "tttt-qqbar": (lambda *p: tttt.squared_amplitude("qqbar", *p), [M_TOP] * 4),
}


@pytest.mark.parametrize("name", list(PROCESSES))
def test_lorentz_invariance(name):
    """A rotation and a boost of every momentum leave ``|M|^2`` unchanged (the helicity basis
    and the gluons' and photons' polarisation vectors are frame-dependent; their sums are not)."""
    function, masses = PROCESSES[name]
    momenta = chain(8 if name.startswith("tttt") else 30, masses, seed=14)
    before = function(*momenta)
    c, s = math.cos(1.1), math.sin(1.1)
    rotation = np.array([[1, 0, 0, 0], [0, c, 0, s], [0, 0, 1, 0], [0, -s, 0, c]])
    frame = np.tile([0.0, 220.0, -340.0, 150.0], (len(before), 1))
    frame[:, 0] = np.sqrt(300.0**2 + np.sum(frame[:, 1:] ** 2, axis=1))
    after = function(*(_boost(p @ rotation.T, frame) for p in momenta))
    assert np.all(before > 0)
    assert after == pytest.approx(before, rel=1e-9, abs=0)


@pytest.mark.parametrize("module", [ttbar, tth, ttaa], ids=["ttbar", "tth", "ttaa"])
def test_gluon_fusion_is_symmetric_in_the_gluons(module):
    masses = {ttbar: [M_TOP] * 2, tth: [M_TOP, M_TOP, M_HIGGS], ttaa: [M_TOP, M_TOP, 0, 0]}
    k1, k2, *rest = chain(30, masses[module], seed=15)
    one = module.squared_amplitude("gg", k1, k2, *rest)
    assert module.squared_amplitude("gg", k2, k1, *rest) == pytest.approx(one, rel=1e-10, abs=0)


@pytest.mark.parametrize("channel", list(ttaa.CHANNELS))
def test_ttaa_is_symmetric_in_the_photons(channel):
    k1, k2, top, antitop, a1, a2 = chain(30, [M_TOP, M_TOP, 0.0, 0.0], seed=16)
    one = ttaa.squared_amplitude(channel, k1, k2, top, antitop, a1, a2)
    assert ttaa.squared_amplitude(channel, k1, k2, top, antitop, a2, a1) == pytest.approx(
        one, rel=1e-10, abs=0
    )


def test_bad_input_is_named():
    k1, k2, top, antitop = chain(3, [M_TOP, M_TOP])
    with pytest.raises(AmplitudeError, match="channel"):
        ttbar.squared_amplitude("qg", k1, k2, top, antitop)
    with pytest.raises(AmplitudeError, match="channel"):
        thq.squared_amplitude("u u -> t H d", k1, k2, top, antitop, antitop)
    with pytest.raises(AmplitudeError, match=r"\[\.\.\., 4\]"):
        ttbar.squared_amplitude("gg", k1, k2, top[:, :3], antitop)


# -- MadGraph's own matrix elements ----------------------------------------------------------------

# Reference points of MadGraph5_aMC@NLO's standalone C++ matrix elements: the first events of
# madgraph4gpu's ``epochX/cudacpp/CODEGEN/PLUGIN/CUDACPP_SA_OUTPUT/test/ref/dump_CPUTest.Sigma_
# {sm_gg_ttx, sm_uux_ttx, sm_no_b_mass_udx_ttxwp, sm_no_b_mass_dux_ttxwm, sm_gg_ttxuux,
# sm_uux_ttxccx, SMEFTsim_topU3l_MwScheme_UFO_gg_ttxttx}.txt`` (commit 82c6b1b0),
# beams (750, 0, 0, +-750) GeV, final-state momenta in MadGraph's order, then the ME (spin- and
# colour-averaged |M|^2). MadGraph's test momenta are massless (RAMBO) while its HELAS spinors
# and polarisations take m_t = 173 and m_W: the comparison is off shell, so it checks the HELAS
# wavefunctions formula by formula as well as the diagrams and couplings. (All 512 events of each
# dump agree to 4e-12, 1e-11 for the four-quark final states.) Its param card: sm /
# sm-no_b_mass, G_mu scheme, alpha_s = 0.118, MT = 173, and the widths in every propagator
# (``zerowidth_tchannel = F``). The g g > t t~ t t~ reference is SMEFTsim with every Wilson
# coefficient zero (the SM: MT = 172.76, WT = 1.33, alpha_s = 0.118 in the test driver) and its ME
# includes the identical-particle factor 1/4.
MADGRAPH_POINTS = {
    "gg_ttx": [
        (
            (750.0000000000001, 584.9331413473452, -313.8365726669762, -349.084267491637),
            (749.9999999999999, -584.9331413473452, 313.8365726669762, 349.0842674916369),
            0.6797636301916554,
        ),
        (
            (750.0000000000001, 48.10632950825978, -720.1507372976421, -203.8840274050556),
            (749.9999999999999, -48.10632950825982, 720.150737297642, 203.8840274050557),
            0.4495766127147005,
        ),
        (
            (750.0000000000002, -664.8646621266246, -98.44173672211537, -332.8125681616956),
            (750.0000000000001, 664.8646621266246, 98.44173672211531, 332.8125681616955),
            0.6422910117019383,
        ),
        (
            (750.0, 284.0443703260547, 288.0181894591822, -631.5570585677351),
            (750.0, -284.0443703260547, -288.0181894591822, 631.5570585677352),
            3.269069826658272,
        ),
        (
            (749.9999999999992, 106.8110730975248, -741.7834499166057, 29.13259503670246),
            (750.0000000000003, -106.8110730975249, 741.7834499166061, -29.13259503670253),
            0.3624696373877699,
        ),
    ],
    "uux_ttx": [
        (
            (750.0000000000001, 584.9331413473452, -313.8365726669762, -349.084267491637),
            (749.9999999999999, -584.9331413473452, 313.8365726669762, 349.0842674916369),
            0.6307606372206132,
        ),
        (
            (750.0000000000001, 48.10632950825978, -720.1507372976421, -203.8840274050556),
            (749.9999999999999, -48.10632950825982, 720.150737297642, 203.8840274050557),
            0.5628582630825953,
        ),
        (
            (750.0000000000002, -664.8646621266246, -98.44173672211537, -332.8125681616956),
            (750.0000000000001, 664.8646621266246, 98.44173672211531, 332.8125681616955),
            0.6213770481802714,
        ),
        (
            (750.0, 284.0443703260547, 288.0181894591822, -631.5570585677351),
            (750.0, -284.0443703260547, -288.0181894591822, 631.5570585677352),
            0.8650239098168296,
        ),
        (
            (749.9999999999992, 106.8110730975248, -741.7834499166057, 29.13259503670246),
            (750.0000000000003, -106.8110730975249, 741.7834499166061, -29.13259503670253),
            0.5284212844920412,
        ),
    ],
    "udx_ttxwp": [
        (
            (264.7483690509011, 75.2765726534238, -252.8976247704283, -21.63164141117324),
            (625.2973211776934, -572.1080498766039, -15.78766990348902, 251.8727230515589),
            (609.9543097714056, 496.8314772231801, 268.6852946739174, -230.2410816403857),
            2.304864863982634e-06,
        ),
        (
            (254.2827954151951, 148.2213322085297, -198.8618298139057, -56.07271498295619),
            (688.3656117507994, 126.5478873489434, 560.2777828023584, 379.3700749224231),
            (557.3515928340057, -274.7692195574731, -361.4159529884527, -323.2973599394666),
            2.967398288996943e-06,
        ),
        (
            (430.1460683791099, -365.699543207924, -225.7802895903974, -17.68459985405172),
            (505.8528987551351, 275.5467101243706, -203.4821274188551, 372.2313656043857),
            (564.0010328657552, 90.1528330835533, 429.2624170092525, -354.546765750334),
            2.943824240314707e-06,
        ),
        (
            (675.8793342627306, 145.5349847705338, 436.0940220328824, -495.4335945799966),
            (300.8019460079605, -160.7139834787175, 27.32727402256834, 252.7964523704277),
            (523.3187197293092, 15.17899870818372, -463.4212960554508, 242.6371422095687),
            2.791104668227638e-06,
        ),
        (
            (354.0811678028368, 54.14642718170583, -349.7885023717099, -9.467915537920053),
            (741.5000547748699, 1.453779348794731, 727.7337852109663, 142.2102514562808),
            (404.4187774222939, -55.60020653050049, -377.9452828392566, -132.7423359183604),
            2.198374549535437e-06,
        ),
    ],
    "dux_ttxwm": [
        (
            (264.7483690509011, 75.2765726534238, -252.8976247704283, -21.63164141117324),
            (625.2973211776934, -572.1080498766039, -15.78766990348902, 251.8727230515589),
            (609.9543097714056, 496.8314772231801, 268.6852946739174, -230.2410816403857),
            2.304864863982634e-06,
        ),
        (
            (254.2827954151951, 148.2213322085297, -198.8618298139057, -56.07271498295619),
            (688.3656117507994, 126.5478873489434, 560.2777828023584, 379.3700749224231),
            (557.3515928340057, -274.7692195574731, -361.4159529884527, -323.2973599394666),
            2.967398288996943e-06,
        ),
        (
            (430.1460683791099, -365.699543207924, -225.7802895903974, -17.68459985405172),
            (505.8528987551351, 275.5467101243706, -203.4821274188551, 372.2313656043857),
            (564.0010328657552, 90.1528330835533, 429.2624170092525, -354.546765750334),
            2.943824240314707e-06,
        ),
        (
            (675.8793342627306, 145.5349847705338, 436.0940220328824, -495.4335945799966),
            (300.8019460079605, -160.7139834787175, 27.32727402256834, 252.7964523704277),
            (523.3187197293092, 15.17899870818372, -463.4212960554508, 242.6371422095687),
            2.791104668227638e-06,
        ),
        (
            (354.0811678028368, 54.14642718170583, -349.7885023717099, -9.467915537920053),
            (741.5000547748699, 1.453779348794731, 727.7337852109663, 142.2102514562808),
            (404.4187774222939, -55.60020653050049, -377.9452828392566, -132.7423359183604),
            2.198374549535437e-06,
        ),
    ],
    "gg_ttxttx": [
        (
            (204.5233209356229, 68.77986897204742, -190.538124801314, 28.18406336784419),
            (547.4933604313482, -459.6225360107567, 30.30720946352413, 295.9350894402094),
            (501.4688717566, 418.8441856206846, 257.2754903817053, -99.24666020293016),
            (246.5144468764299, -28.00151858197543, -97.04457504391527, -224.8724926051236),
            1.72831956499437e-09,
        ),
        (
            (200.8083996490003, 78.83320272753285, -177.9144499629305, -49.55590793941931),
            (509.5915127572658, 19.45100505575214, 423.2835353003264, 283.0834100052794),
            (533.0731110420373, -335.1807593152421, -343.7684940301842, -231.6117933377167),
            (256.5269765516966, 236.8965515319572, 98.39940869278837, -1.915708728143433),
            4.467361707635212e-10,
        ),
        (
            (387.4993553150719, -335.3676580361334, -180.8823320939806, -70.46890271033257),
            (362.64557289356, 205.6734411127569, -162.5327830620693, 250.5859963969135),
            (531.4718876693759, 36.81440252065145, 374.5048277115114, -375.3041448887399),
            (218.3831841219926, 92.8798144027251, -31.08971255546146, 195.1870512021589),
            6.622187562723069e-10,
        ),
    ],
    "gg_ttxuux": [
        (
            (204.5233209356229, 68.77986897204742, -190.538124801314, 28.18406336784419),
            (547.4933604313482, -459.6225360107567, 30.30720946352413, 295.9350894402094),
            (501.4688717566, 418.8441856206846, 257.2754903817053, -99.24666020293016),
            (246.5144468764299, -28.00151858197543, -97.04457504391527, -224.8724926051236),
            3.213735862505756e-09,
        ),
        (
            (200.8083996490003, 78.83320272753285, -177.9144499629305, -49.55590793941931),
            (509.5915127572658, 19.45100505575214, 423.2835353003264, 283.0834100052794),
            (533.0731110420373, -335.1807593152421, -343.7684940301842, -231.6117933377167),
            (256.5269765516966, 236.8965515319572, 98.39940869278837, -1.915708728143433),
            3.427667141138125e-10,
        ),
        (
            (387.4993553150719, -335.3676580361334, -180.8823320939806, -70.46890271033257),
            (362.64557289356, 205.6734411127569, -162.5327830620693, 250.5859963969135),
            (531.4718876693759, 36.81440252065145, 374.5048277115114, -375.3041448887399),
            (218.3831841219926, 92.8798144027251, -31.08971255546146, 195.1870512021589),
            1.281830694262595e-09,
        ),
    ],
    "uux_ttxccx": [
        (
            (204.5233209356229, 68.77986897204742, -190.538124801314, 28.18406336784419),
            (547.4933604313482, -459.6225360107567, 30.30720946352413, 295.9350894402094),
            (501.4688717566, 418.8441856206846, 257.2754903817053, -99.24666020293016),
            (246.5144468764299, -28.00151858197543, -97.04457504391527, -224.8724926051236),
            2.35395356708719e-10,
        ),
        (
            (200.8083996490003, 78.83320272753285, -177.9144499629305, -49.55590793941931),
            (509.5915127572658, 19.45100505575214, 423.2835353003264, 283.0834100052794),
            (533.0731110420373, -335.1807593152421, -343.7684940301842, -231.6117933377167),
            (256.5269765516966, 236.8965515319572, 98.39940869278837, -1.915708728143433),
            1.681930679826379e-10,
        ),
        (
            (387.4993553150719, -335.3676580361334, -180.8823320939806, -70.46890271033257),
            (362.64557289356, 205.6734411127569, -162.5327830620693, 250.5859963969135),
            (531.4718876693759, 36.81440252065145, 374.5048277115114, -375.3041448887399),
            (218.3831841219926, 92.8798144027251, -31.08971255546146, 195.1870512021589),
            1.456850837620788e-10,
        ),
    ],
}


MADGRAPH_PARAMETERS = Parameters.g_mu_scheme(m_t=173.0, alpha_s=0.118, **MADGRAPH_WIDTHS)


@pytest.mark.parametrize("process", ["gg_ttx", "uux_ttx", "udx_ttxwp", "dux_ttxwm"])
def test_equals_madgraph_point_by_point(process):
    rows = MADGRAPH_POINTS[process]
    final = [np.array([row[i] for row in rows]) for i in range(len(rows[0]) - 1)]
    reference = np.array([row[-1] for row in rows])
    n = len(reference)
    k1, k2 = np.tile([750.0, 0, 0, 750.0], (n, 1)), np.tile([750.0, 0, 0, -750.0], (n, 1))
    params, m_t = MADGRAPH_PARAMETERS, 173.0
    size = 5 if "ttxw" in process else 4
    if process == "gg_ttx":
        first = [wf.external("vector_in", k, 0.0, i, size) for i, k in enumerate((k1, k2))]
    else:  # quark first, antiquark second
        first = [wf.external("fermion_in", k1, 0.0, 0, size)]
        first.append(wf.external("antifermion_in", k2, 0.0, 1, size))
    heavy = [
        wf.external("fermion_out", final[0], m_t, 2, size),
        wf.external("antifermion_out", final[1], m_t, 3, size),
    ]
    if process == "gg_ttx":
        amps, colour = ttbar.colour_amplitudes("gg", first + heavy, params), heavy_pair.GG_COLOUR
        average = heavy_pair.GG_AVERAGE
    elif process == "uux_ttx":
        amps, colour = ttbar.colour_amplitudes("qqbar", first + heavy, params), heavy_pair.QQ_COLOUR
        average = heavy_pair.QQ_AVERAGE
    else:
        w = wf.external("vector_out", final[2], params.m_w, 4, size)
        amps, colour = ttw.colour_amplitudes(first + heavy + [w], params), heavy_pair.QQ_COLOUR
        average = heavy_pair.QQ_AVERAGE
    ours = average * lines.colour_sum(amps, colour)
    assert ours == pytest.approx(reference, rel=1e-10, abs=0)


def _madgraph_heavy_lines(rows, masses):
    n = len(rows)
    final = [np.array([row[i] for row in rows]) for i in range(4)]
    k1, k2 = np.tile([750.0, 0, 0, 750.0], (n, 1)), np.tile([750.0, 0, 0, -750.0], (n, 1))
    kinds = ("fermion_out", "antifermion_out", "fermion_out", "antifermion_out")
    outs = [
        wf.external(k, p, m, i + 2, 6)
        for i, (k, p, m) in enumerate(zip(kinds, final, masses, strict=True))
    ]
    return k1, k2, outs, np.array([row[-1] for row in rows])


@pytest.mark.parametrize("process", ["gg_ttxuux", "uux_ttxccx"])
def test_two_heavy_lines_equal_madgraph(process):
    """One pairing of the t tbar t tbar diagrams with the second line a massless quark is ``g g >
    t t~ u u~`` (36 diagrams) and ``u u~ > t t~ c c~`` (7): MadGraph's numbers (as above)."""
    params = MADGRAPH_PARAMETERS
    k1, k2, outs, reference = _madgraph_heavy_lines(MADGRAPH_POINTS[process], [173.0, 173.0, 0, 0])
    if process.startswith("gg"):
        a, b = wf.external("vector_in", k1, 0.0, 0, 6), wf.external("vector_in", k2, 0.0, 1, 6)
        channel, average = "gg", tttt.GG_AVERAGE
    else:
        a, b = (
            wf.external("fermion_in", k1, 0.0, 0, 6),
            wf.external("antifermion_in", k2, 0.0, 1, 6),
        )
        channel, average = "qqbar", tttt.QQ_AVERAGE
    t, tb, q, qb = outs
    pairing = ((t, tb, "i", "j", params.m_t, params.width_t), (q, qb, "k", "l", 0.0, 0.0), 1.0)
    amps, colour_matrix = tttt.pairing_diagrams(channel, a, b, [pairing], params)
    ours = average * lines.colour_sum(amps, colour_matrix)
    assert ours == pytest.approx(reference, rel=1e-10, abs=0)


def test_tttt_equals_madgraph():
    """``g g > t t~ t t~`` (72 diagrams, both pairings): MadGraph's ME times 4 (its
    identical-particle factor)."""
    params = Parameters(alpha_s=0.118, m_t=172.76, width_t=1.33)
    masses = [params.m_t] * 4
    k1, k2, outs, reference = _madgraph_heavy_lines(MADGRAPH_POINTS["gg_ttxttx"], masses)
    gluons = [wf.external("vector_in", k, 0.0, i, 6) for i, k in enumerate((k1, k2))]
    amps, colour_matrix = tttt.diagrams("gg", gluons + outs, params)
    ours = tttt.GG_AVERAGE * lines.colour_sum(amps, colour_matrix)
    assert ours / 4 == pytest.approx(reference, rel=1e-10, abs=0)


# -- t tbar t tbar ---------------------------------------------------------------------------------


@pytest.mark.parametrize("which", [0, 1])
def test_tttt_gauge_invariance(which):
    """A gluon's polarisation replaced by its momentum: the colour-summed ``|M|^2`` vanishes
    (1e-9 of the physical one)."""
    momenta = chain(6, [M_TOP] * 4, seed=17)
    waves = tttt.external_waves("gg", *momenta)
    amps, c = tttt.diagrams("gg", waves)
    good = lines.colour_sum(amps, c)
    waves[which] = _longitudinal(waves[which], momenta[which])
    bad = lines.colour_sum(tttt.diagrams("gg", waves)[0], c)
    assert np.all(np.abs(bad / good) < 1e-9)


@pytest.mark.parametrize("channel", tttt.CHANNELS)
def test_tttt_identical_quarks(channel):
    """Swapping the two tops, or the two antitops, leaves ``|M|^2`` unchanged (the amplitude
    changes sign: both pairings, the second with a minus)."""
    k1, k2, t1, tb2, t3, tb4 = chain(6, [M_TOP] * 4, seed=18)
    one = tttt.squared_amplitude(channel, k1, k2, t1, tb2, t3, tb4)
    assert tttt.squared_amplitude(channel, k1, k2, t3, tb2, t1, tb4) == pytest.approx(
        one, rel=1e-10, abs=0
    )
    assert tttt.squared_amplitude(channel, k1, k2, t1, tb4, t3, tb2) == pytest.approx(
        one, rel=1e-10, abs=0
    )


# -- three tops ------------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", list(ttt.W_CHANNELS))
def test_ttt_w_gauge_invariance(channel):
    """g b -> t t tbar W- (24 diagrams, triple-gluon vertex included): the gluon's polarisation
    replaced by its momentum gives zero (colour-summed, 1e-9 of the physical)."""
    momenta = chain(10, [M_TOP] * 3 + [SM.m_w], seed=22)
    waves = ttt.external_waves(channel, *momenta)
    amps, c = ttt.diagrams(channel, waves)
    good = lines.colour_sum(amps, c)
    waves[0] = _longitudinal(waves[0], momenta[0])
    assert np.all(np.abs(lines.colour_sum(ttt.diagrams(channel, waves)[0], c) / good) < 1e-9)


@pytest.mark.parametrize("light", ["quark", "antiquark", "annihilation"])
def test_w_exchange_with_a_gluon_is_gauge_invariant(light):
    """The q-channel diagrams of t t tbar q' with the pair's gluon replaced by a real one are
    ``u b -> t d g`` (``dbar b -> t ubar g``, ``u dbar -> t bbar g``): replacing its polarisation
    by its momentum gives zero, which fixes the emissions on both sides of both W vertices and the
    W line's b and top propagators."""
    k1, k2, top, jet, g = chain(20, [M_TOP, 0.0, 0.0], seed=23)
    kinds = {
        "quark": ("fermion_in", "fermion_in", "fermion_out"),
        "antiquark": ("antifermion_in", "fermion_in", "antifermion_out"),
        "annihilation": ("fermion_in", "antifermion_in", "antifermion_out"),
    }[light]
    w1, w2, wj = (
        wf.external(k, p, 0.0, i, 5)
        for k, p, i in zip(kinds, (k1, k2, jet), (0, 1, 3), strict=True)
    )
    wt = wf.external("fermion_out", top, M_TOP, 2, 5)
    gluon = wf.external("vector_out", g, 0.0, 4, 5)
    light_line = {"quark": (wj, w1, "u", "p"), "antiquark": (w1, wj, "p", "u"),
                  "annihilation": (w2, w1, "q", "p")}[light]  # fmt: skip
    w_line = (wt, wj, "r", "u", "fo") if light == "annihilation" else (wt, w2, "r", "q", "fo")

    def build(wave):
        out = colour.Diagrams("pqrux", fresh="mnovwz")
        ttt.add_w_exchange(out, 1.0, light_line, w_line, wave, [], SM)
        return out.amps, out.colour_matrix

    amps, c = build(gluon)
    good = lines.colour_sum(amps, c)
    bad = lines.colour_sum(build(_longitudinal(gluon, g))[0], c)
    assert np.all(np.abs(bad / good) < 1e-9)


TTT_CONJUGATES = [
    ("u b -> t t tbar d", "ubar bbar -> tbar tbar t dbar", False),
    ("dbar b -> t t tbar ubar", "d bbar -> tbar tbar t u", False),
    ("u dbar -> t t tbar bbar", "d ubar -> tbar tbar t b", True),
    ("g b -> t t tbar W-", "g bbar -> tbar tbar t W+", False),
]


@pytest.mark.parametrize(("channel", "conjugate", "swap_beams"), TTT_CONJUGATES)
def test_ttt_identical_tops_and_charge_conjugation(channel, conjugate, swap_beams):
    """Swapping the two identical tops leaves ``|M|^2`` unchanged; the charge-conjugate channel
    (separate code paths: antiquark lines, antitop W lines) has the same ``|M|^2`` (``k1`` is the
    quark of an annihilating pair, so its beams swap)."""
    last = SM.m_w if channel.startswith("g") else 0.0
    k1, k2, t1, t2, odd, end = chain(12, [M_TOP] * 3 + [last], seed=24)
    one = ttt.squared_amplitude(channel, k1, k2, t1, t2, odd, end)
    swapped = ttt.squared_amplitude(channel, k1, k2, t2, t1, odd, end)
    assert swapped == pytest.approx(one, rel=1e-10, abs=0)
    beams = (k2, k1) if swap_beams else (k1, k2)
    assert ttt.squared_amplitude(conjugate, *beams, t1, t2, odd, end) == pytest.approx(
        one, rel=1e-10, abs=0
    )
