"""t tbar phi with a CP-mixed top Yukawa coupling by accept-reject on Pythia's SM t tbar H events.

Pythia 8 makes the SM hard process (``HiggsSM:gg2Httbar``, ``HiggsSM:qqbar2Httbar``); a user hook
sees every process-level event before the parton shower (``doVetoProcessLevel``), computes
``w = |M_a|^2 / |M_SM|^2`` from its four-momenta (:mod:`.cp_yukawa`) and keeps it with probability
``w / w_max``, so rejected events cost only their hard process. The kept events are distributed as
``|M_a|^2``; Pythia's own top and Higgs decays, shower and hadronisation follow.

``w_max`` comes from a pilot run before the sample (hard process only, :data:`PILOT_EVENTS`
events, its own seed): the largest weight times :data:`WEIGHT_MARGIN`. One ``w_max`` serves both
channels (g g and q qbar): a bound per channel would change their relative rates.
The weight has no upper bound: near configurations where t, tbar and phi move along the beams the
SM amplitude nearly vanishes while the CP-odd one does not (w reaches ~65 at sqrt(s-hat) = 950 GeV
and ~7,700 at 3 TeV there), so a finite ``w_max`` is exceeded now and then. Such an event is kept
and carries the event weight ``w / w_max`` (every other event has weight 1), which keeps the
sample exactly unbiased; their number and the share of the cross-section above ``w_max`` are
reported, and a sample where that share exceeds :data:`OVERFLOW_TOLERANCE` fails with
:class:`~eventgnn._core.errors.GeneratorError` (the pilot was too small for the tail).

The cross-section of the sample is ``sigma_SM * <w>``: ``sigma_SM`` from the pilot (Pythia's
``sigmaGen`` with its error), ``<w>`` the mean weight over every SM event the pilot and the sample
tried (both follow the SM distribution), the two errors added in quadrature.

Not modelled: spin correlations between the produced tops and their decay products. Pythia decays
the tops of the kept events as it does for the SM (with its own SM-based decay weights), so
observables built from the top decay products' angles (for example the leptons' azimuthal
difference) carry the SM top polarisation, not that of the CP-mixed coupling; the kinematics of the
tops and the Higgs boson themselves are exact at tree level.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, field

import numpy as np

from .cp_yukawa import CHANNELS, cp_weight

PILOT_EVENTS = 20_000
"""Hard-process events of the pilot run that sets ``w_max``."""
WEIGHT_MARGIN = 1.5
"""``w_max`` = this times the largest weight of the pilot (per channel)."""
OVERFLOW_TOLERANCE = 0.01
"""Largest share of the sample's cross-section above ``w_max`` before the run fails."""

PROCESS_ROWS = (3, 4, 5, 6, 7)
"""Entries of Pythia's process record: incoming partons, then H, t, tbar (``setId`` order)."""
HARD_IDS = (25, 6, -6)


class CPMixingError(RuntimeError):
    """The hard process is not g g / q qbar -> H t tbar, or the accept-reject went wrong."""


def hard_momenta(process) -> tuple[str, np.ndarray]:
    """The channel ("gg" or "qqbar") and ``[5, 4]`` four-momenta ``(k1, k2, top, antitop,
    higgs)`` (``(E, px, py, pz)``, ``k1`` the quark for q qbar) of Pythia's process record."""
    ids = [process[i].id() for i in PROCESS_ROWS]
    if tuple(ids[2:]) != HARD_IDS:
        raise CPMixingError(
            f"expected H t tbar (ids {HARD_IDS}) at entries 5-7 of Pythia's process record, got "
            f"{ids[2:]}: CP reweighting needs HiggsSM:gg2Httbar / qqbar2Httbar only"
        )
    rows = [process[i] for i in PROCESS_ROWS]
    mom = np.array([[p.e(), p.px(), p.py(), p.pz()] for p in rows])
    if ids[0] == 21 and ids[1] == 21:
        channel = "gg"
    elif ids[0] == -ids[1] and 0 < abs(ids[0]) < 6:
        channel = "qqbar"
        if ids[0] < 0:  # quark first
            mom[[0, 1]] = mom[[1, 0]]
    else:
        raise CPMixingError(f"incoming partons {ids[:2]} are neither g g nor q qbar")
    # order (k1, k2, top, antitop, higgs)
    return channel, mom[[0, 1, 3, 4, 2]]


@dataclass
class ChannelTally:
    """Weights of the SM events tried in one channel, and what the accept-reject did with them."""

    tried: int = 0
    sum_w: float = 0.0
    sum_w2: float = 0.0
    max_w: float = 0.0
    kept: int = 0
    above: int = 0
    excess: float = 0.0  # sum of (w - w_max) over the events above w_max

    def add(self, w: np.ndarray) -> None:
        w = np.atleast_1d(w)
        self.tried += len(w)
        self.sum_w += float(np.sum(w))
        self.sum_w2 += float(np.sum(w * w))
        self.max_w = max(self.max_w, float(np.max(w, initial=0.0)))


@dataclass
class Pilot:
    """What the pilot run measured: weights per channel and Pythia's SM cross-section [mb]."""

    tallies: dict[str, ChannelTally]
    sigma_sm_mb: float
    sigma_sm_err_mb: float

    def w_max(self, margin: float = WEIGHT_MARGIN) -> float:
        if not any(t.tried for t in self.tallies.values()):
            raise CPMixingError("the pilot run produced no event")
        return margin * max(t.max_w for t in self.tallies.values())


@functools.cache
def _hook_class():
    import pythia8mc

    class CPMixingHook(pythia8mc.UserHooks):
        """Accept-reject (or, with ``w_max=None``, record the weights) at process level."""

        def __init__(self, angle: float, w_max: float | None, rng):
            pythia8mc.UserHooks.__init__(self)
            self.angle = angle
            self.w_max = w_max
            self.rng = rng
            self.tallies = {c: ChannelTally() for c in CHANNELS}
            self.pilot_rows: dict[str, list[np.ndarray]] = {c: [] for c in CHANNELS}
            self.overweights: dict[float, float] = {}  # Higgs pz -> event weight w / w_max

        def canVetoProcessLevel(self):  # noqa: N802 (Pythia's name)
            return True

        def doVetoProcessLevel(self, process):  # noqa: N802
            channel, mom = hard_momenta(process)
            if self.w_max is None:  # pilot: weights computed for all events at once later
                self.pilot_rows[channel].append(mom)
                return False
            w = float(cp_weight(channel, *mom, self.angle))
            tally = self.tallies[channel]
            tally.add(w)
            keep = self.rng.random() * self.w_max < w
            if keep:
                tally.kept += 1
                if w > self.w_max:
                    tally.above += 1
                    tally.excess += w - self.w_max
                    self.overweights[float(process[5].pz())] = w / self.w_max
            return not keep

    return CPMixingHook


def make_hook(angle: float, w_max: float | None, seed: int):
    """A Pythia user hook for the mixing angle ``angle`` (radians); ``w_max=None`` records the
    weights of every event without vetoing (the pilot). ``seed`` seeds the accept-reject."""
    return _hook_class()(angle, w_max, np.random.default_rng([seed, 0x0C9]))


def pilot_weights(hook) -> dict[str, ChannelTally]:
    """The pilot hook's tallies, with the weights of the recorded events computed at once."""
    for channel, rows in hook.pilot_rows.items():
        if rows:
            mom = np.stack(rows)  # [n, 5, 4]
            hook.tallies[channel].add(cp_weight(channel, *np.moveaxis(mom, 1, 0), hook.angle))
        rows.clear()
    return hook.tallies


@dataclass
class CPReport:
    """The accept-reject summary of one Pythia run (pilot and sample together)."""

    angle_deg: float
    w_max: float
    pilot_events: int
    pilot_max_w: dict[str, float]
    tallies: dict[str, ChannelTally] = field(default_factory=dict)
    sigma_sm_mb: float = math.nan
    sigma_sm_err_mb: float = math.nan
    pilot_tallies: dict[str, ChannelTally] = field(default_factory=dict)

    def mean_weight(self) -> tuple[float, float]:
        """``<w>`` over every SM event tried (pilot and sample) and its standard error."""
        n = s = s2 = 0.0
        for t in [*self.tallies.values(), *self.pilot_tallies.values()]:
            n, s, s2 = n + t.tried, s + t.sum_w, s2 + t.sum_w2
        mean = s / n
        var = max(s2 / n - mean * mean, 0.0)
        return mean, math.sqrt(var / n)

    def sigma_mb(self) -> tuple[float, float]:
        """``sigma_SM * <w>`` and its error."""
        mean, err = self.mean_weight()
        sigma = self.sigma_sm_mb * mean
        rel = math.hypot(self.sigma_sm_err_mb / self.sigma_sm_mb, err / mean)
        return sigma, sigma * rel

    def overflow_share(self) -> float:
        """Share of the sample's cross-section above ``w_max`` (carried by weighted events)."""
        total = sum(t.sum_w for t in self.tallies.values())
        return sum(t.excess for t in self.tallies.values()) / total if total else 0.0

    def as_dict(self) -> dict:
        mean, err = self.mean_weight()
        out = {
            "cp_angle_deg": self.angle_deg,
            "w_max": self.w_max,
            "pilot_events": self.pilot_events,
            "pilot_max_w": self.pilot_max_w,
            "mean_weight": mean,
            "mean_weight_err": err,
            "sigma_sm_pb": self.sigma_sm_mb * 1e9,
            "sigma_sm_err_pb": self.sigma_sm_err_mb * 1e9,
            "tried": sum(t.tried for t in self.tallies.values()),
            "kept": sum(t.kept for t in self.tallies.values()),
            "above_w_max": sum(t.above for t in self.tallies.values()),
            "overflow_share": self.overflow_share(),
            "channels": {c: asdict(t) for c, t in self.tallies.items()},
        }
        return out
