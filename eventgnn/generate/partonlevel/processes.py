"""Hadronic leading-order cross sections: partonic channels, amplitudes, cuts and the integral

    sigma = sum_ab int dx1 dx2 f_a(x1, mu_F) f_b(x2, mu_F) |M_ab|^2 / (2 s_hat) dPhi_n / S

(``S`` the identical-particle factor) over the unit hypercube with VEGAS: ``tau = x1 x2`` from
``tau_min^(1 - u)``, the rapidity ``y = log(x1 / x2) / 2`` uniform in ``[log tau / 2,
-log tau / 2]``, then the phase space of :mod:`.phase_space`. Every channel's ``|M|^2`` is
evaluated at the same momenta, and for ``a != b`` both beam orientations are summed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from eventgnn.generate.amplitudes import Parameters, thq, ttaa, ttbar, tth, tttt, ttw
from eventgnn.generate.amplitudes.parameters import STANDARD_MODEL

from . import phase_space
from .pdf import PartonDensities
from .scales import half_transverse_mass_sum
from .vegas import Estimate, Vegas

#: 1 GeV^-2 in pb.
GEV2_TO_PB = 0.3893793721e9

LIGHT = (1, 2, 3, 4)  # d u s c: MadGraph's four-flavour proton
FIVE = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Channel:
    """Parton pairs ``(id at k1, id at k2)`` sharing one ``|M|^2``:
    ``amplitude(k1, k2, final, params) -> [N]``, ``final`` in the process's order."""

    amplitude: Callable
    partons: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Process:
    """A hadronic process: final-state names and masses (phase-space order), its channels, the
    identical-particle factor and optional cuts (``final [n, N, 4] -> bool [N]``, lab frame)."""

    name: str
    final: tuple[str, ...]
    masses: tuple[float, ...]
    channels: tuple[Channel, ...]
    symmetry: float = 1.0
    cuts: Callable | None = None


def _pairs(quarks):
    return tuple((q, -q) for q in quarks)


def photon_cuts(pt_min=15.0, eta_max=2.7, delta_r_min=0.4, photons=(0, 1)):
    """Photon ``pT > pt_min``, ``|eta| < eta_max`` and ``Delta R(gamma gamma) > delta_r_min``
    (the study's run card: ``ptgmin = 15``, ``etaa = 2.7``, MadGraph's default ``draa = 0.4``)."""

    def cuts(final):
        eta, phi, ok = [], [], True
        for i in photons:
            p = final[i]
            pt = np.hypot(p[:, 1], p[:, 2])
            e = np.arcsinh(p[:, 3] / np.maximum(pt, 1e-300))
            ok = ok & (pt > pt_min) & (np.abs(e) < eta_max)
            eta.append(e)
            phi.append(np.arctan2(p[:, 2], p[:, 1]))
        dphi = np.abs((phi[0] - phi[1] + np.pi) % (2 * np.pi) - np.pi)
        return ok & (np.hypot(eta[0] - eta[1], dphi) > delta_r_min)

    return cuts


def jet_cuts(index, pt_min=20.0, eta_max=5.0):
    """Jet ``pT > pt_min``, ``|eta| < eta_max`` (MadGraph's ``ptj``, ``etaj``)."""

    def cuts(final):
        p = final[index]
        pt = np.hypot(p[:, 1], p[:, 2])
        return (pt > pt_min) & (np.abs(np.arcsinh(p[:, 3] / np.maximum(pt, 1e-300))) < eta_max)

    return cuts


def _ttbar(quarks=FIVE, m_t=STANDARD_MODEL.m_t) -> Process:
    return Process(
        "ttbar",
        ("t", "tbar"),
        (m_t, m_t),
        (
            Channel(lambda k1, k2, f, p: ttbar.squared_amplitude("gg", k1, k2, *f, p), ((21, 21),)),
            Channel(
                lambda k1, k2, f, p: ttbar.squared_amplitude("qqbar", k1, k2, *f, p),
                _pairs(quarks),
            ),
        ),
    )


def _tth(quarks=LIGHT, m_t=STANDARD_MODEL.m_t) -> Process:
    return Process(
        "tth",
        ("t", "tbar", "h"),
        (m_t, m_t, STANDARD_MODEL.m_h),
        (
            Channel(lambda k1, k2, f, p: tth.squared_amplitude("gg", k1, k2, *f, p), ((21, 21),)),
            Channel(
                lambda k1, k2, f, p: tth.squared_amplitude("qqbar", k1, k2, *f, p), _pairs(quarks)
            ),
        ),
    )


def _ttw(sign: int, m_t=STANDARD_MODEL.m_t) -> Process:
    pairs = ((2, -1), (4, -3)) if sign > 0 else ((1, -2), (3, -4))

    def amplitude(k1, k2, f, p):
        w, t, tb = f
        return ttw.squared_amplitude(k1, k2, t, tb, w, p)

    name = "ttw+" if sign > 0 else "ttw-"
    return Process(
        name, ("w", "t", "tbar"), (STANDARD_MODEL.m_w, m_t, m_t), (Channel(amplitude, pairs),)
    )


def _thq(jet_pt_min: float | None = None, m_t=STANDARD_MODEL.m_t) -> Process:
    ids = {"u": 2, "d": 1, "c": 4, "s": 3, "b": 5}

    def pid(token):
        return -ids[token[0]] if token.endswith("bar") else ids[token]

    channels = []
    for name in thq.CHANNELS:
        a, b = name.split(" -> ")[0].split()

        def amplitude(k1, k2, f, p, name=name):
            jet, top, higgs = f
            return thq.squared_amplitude(name, k1, k2, top, higgs, jet, p)

        channels.append(Channel(amplitude, ((pid(a), pid(b)),)))
    cuts = None if jet_pt_min is None else jet_cuts(0, jet_pt_min)
    return Process(
        "thq", ("j", "t", "h"), (0.0, m_t, STANDARD_MODEL.m_h), tuple(channels), cuts=cuts
    )


def _ttaa(cuts=None, m_t=STANDARD_MODEL.m_t) -> Process:
    def channel(kind):
        def amplitude(k1, k2, f, p):
            a1, a2, t, tb = f
            return ttaa.squared_amplitude(kind, k1, k2, t, tb, a1, a2, p)

        return amplitude

    return Process(
        "ttgammagamma",
        ("a", "a", "t", "tbar"),
        (0.0, 0.0, m_t, m_t),
        (
            Channel(channel("gg"), ((21, 21),)),
            Channel(channel("uubar"), _pairs((2, 4))),
            Channel(channel("ddbar"), _pairs((1, 3))),
        ),
        symmetry=2.0,
        cuts=cuts or photon_cuts(),
    )


def _tttt(quarks=LIGHT, m_t=STANDARD_MODEL.m_t) -> Process:
    def channel(kind):
        return lambda k1, k2, f, p: tttt.squared_amplitude(kind, k1, k2, *f, p)

    return Process(
        "tttt",
        ("t", "tbar", "t", "tbar"),
        (m_t,) * 4,
        (Channel(channel("gg"), ((21, 21),)), Channel(channel("qqbar"), _pairs(quarks))),
        symmetry=4.0,
    )


PROCESSES = {
    "ttbar": _ttbar,
    "tth": _tth,
    "ttw+": lambda **kw: _ttw(+1, **kw),
    "ttw-": lambda **kw: _ttw(-1, **kw),
    "thq": _thq,
    "ttgammagamma": _ttaa,
    "tttt": _tttt,
}
"""Process builders by name (keyword arguments: see each builder)."""


def _by_name(name: str, **options) -> Process:
    if name not in PROCESSES:
        raise ValueError(f"unknown process {name!r}; expected one of {sorted(PROCESSES)}")
    return PROCESSES[name](**options)


def process(name: str, **options) -> Process:
    """The :class:`Process` called ``name`` (:data:`PROCESSES`)."""
    return _by_name(name, **options)


@dataclass
class Integrand:
    """The hadronic integrand on the unit hypercube, in pb."""

    process: Process
    pdf: PartonDensities
    sqrt_s: float = 13000.0
    scale: Callable = half_transverse_mass_sum
    params: Parameters = STANDARD_MODEL
    factor_scale: Callable | None = None  # None: the same as ``scale``

    def __post_init__(self):
        self.tau_min = (sum(self.process.masses) / self.sqrt_s) ** 2
        if self.tau_min < self.pdf.x_min:
            raise ValueError(f"the PDF grid starts at x = {self.pdf.x_min}, above tau_min")
        self.dim = 2 + phase_space.dimensions(len(self.process.masses))

    def kinematics(self, u):
        """``(x1, x2, k1, k2, final, jacobian)`` for points ``u`` ``[N, dim]``: ``jacobian`` is
        ``dx1 dx2 dPhi / du``."""
        log_tau_min = np.log(self.tau_min)
        tau = np.exp(log_tau_min * (1 - u[:, 0]))
        half = -0.5 * np.log(tau)
        y = half * (2 * u[:, 1] - 1)
        x1, x2 = np.sqrt(tau) * np.exp(y), np.sqrt(tau) * np.exp(-y)
        e = 0.5 * self.sqrt_s
        zero = np.zeros_like(x1)
        k1 = np.stack([x1 * e, zero, zero, x1 * e], axis=1)
        k2 = np.stack([x2 * e, zero, zero, -x2 * e], axis=1)
        final, weight = phase_space.generate(k1 + k2, self.process.masses, u[:, 2:])
        jacobian = tau * (-log_tau_min) * (2 * half) * weight
        return x1, x2, k1, k2, final, jacobian

    def __call__(self, u) -> np.ndarray:
        x1, x2, k1, k2, final, jacobian = self.kinematics(u)
        keep = (jacobian > 0) & (x1 < 1) & (x2 < 1)
        if self.process.cuts is not None:
            keep &= self.process.cuts(final)
        out = np.zeros(len(u))
        if not keep.any():
            return out
        x1, x2, k1, k2, final, jacobian = (
            x1[keep],
            x2[keep],
            k1[keep],
            k2[keep],
            final[:, keep],
            jacobian[keep],
        )
        mu2_r = np.clip(self.scale(final), *self.pdf.q2_range)
        mu2_f = mu2_r if self.factor_scale is None else self.factor_scale(final)
        mu2_f = np.clip(mu2_f, *self.pdf.q2_range)
        params = replace(self.params, alpha_s=self.pdf.alpha_s(mu2_r))
        f1 = {pid: self.pdf.xf(pid, x1, mu2_f) / x1 for pid in _ids(self.process)}
        f2 = {pid: self.pdf.xf(pid, x2, mu2_f) / x2 for pid in _ids(self.process)}
        total = np.zeros(len(x1))
        for channel in self.process.channels:
            lum = sum(f1[a] * f2[b] for a, b in channel.partons)
            total += lum * channel.amplitude(k1, k2, list(final), params)
            swapped = [(a, b) for a, b in channel.partons if a != b]
            if swapped:
                lum = sum(f1[b] * f2[a] for a, b in swapped)
                total += lum * channel.amplitude(k2, k1, list(final), params)
        s_hat = x1 * x2 * self.sqrt_s**2
        out[keep] = total / (2 * s_hat) * jacobian * GEV2_TO_PB / self.process.symmetry
        return out


def _ids(process: Process) -> set[int]:
    return {pid for c in process.channels for pair in c.partons for pid in pair}


def cross_section(
    process: Process | str,
    pdf: PartonDensities | None = None,
    *,
    sqrt_s: float = 13000.0,
    scale: Callable = half_transverse_mass_sum,
    factor_scale: Callable | None = None,
    params: Parameters = STANDARD_MODEL,
    n_points: int = 20000,
    iterations: int = 5,
    warmup: int = 3,
    seed: int = 1,
) -> Estimate:
    """The hadronic cross section in pb with its Monte Carlo error (VEGAS): ``scale`` gives
    ``mu_R^2`` (and ``mu_F^2`` unless ``factor_scale`` is given) from the final-state momenta."""
    if isinstance(process, str):
        process = _by_name(process)
    pdf = pdf or PartonDensities()
    integrand = Integrand(process, pdf, sqrt_s, scale, params, factor_scale)
    grid = Vegas(integrand.dim)
    return grid.integrate(
        integrand, n_points, iterations, warmup, rng=np.random.default_rng(seed), batch=5000
    )
