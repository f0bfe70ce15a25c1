"""Pythia 8 runs: built-in processes and LHE input, with the whole event record as awkward arrays.

Pythia 8.3's ``Pythia.nextBatch(n)`` (pythia8mc >= 8.315) returns ``n`` events as one awkward
array (``prt``: id, status, mother1/2, daughter1/2, four-momentum ``p``...), filled in C++; no
Python loop touches a particle. :func:`to_particles` turns it into the flat jagged fields every
other step uses.

Index conventions of the returned :class:`~awkward.Array` of particles (one list per event):
entry 0 is Pythia's system entry (id 90); ``mother`` is the 0-based index of ``mother1`` within the
event, -1 for none (Pythia's 0); ``daughter1``/``daughter2`` likewise, -1 for none.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import awkward as ak
import numpy as np

from .._core.errors import GeneratorError
from ..catalog.processes import Process
from ..events.physics import pt_eta_phi
from .cp_mixing import (
    OVERFLOW_TOLERANCE,
    PILOT_EVENTS,
    CPReport,
    Pilot,
    make_hook,
    pilot_weights,
)

BEAM_SETTINGS: tuple[str, ...] = ("Beams:idA = 2212", "Beams:idB = 2212", "Beams:eCM = 13000.")
"""Proton-proton collisions at sqrt(s) = 13 TeV."""

QUIET_SETTINGS: tuple[str, ...] = (
    "Print:quiet = on",
    "SLHA:verbose = 0",
    "Next:numberCount = 0",
    "Next:numberShowLHA = 0",
    "Next:numberShowInfo = 0",
    "Next:numberShowProcess = 0",
    "Next:numberShowEvent = 0",
)

MAX_SEED = 900_000_000
"""Pythia's ``Random:seed`` accepts 0..900,000,000."""


@dataclass
class RunInfo:
    """What Pythia reports at the end of a run (cross-section in mb, counts)."""

    sigma_gen_mb: float
    sigma_err_mb: float
    n_tried: int
    n_accepted: int


def pythia_seed(seed: int, variant: int = 0) -> int:
    """Pythia's seed for one run; variants of a process get disjoint seed ranges."""
    if not 0 <= seed < MAX_SEED // 2:
        raise ValueError(f"seed must be in [0, {MAX_SEED // 2}), got {seed}")
    return seed + variant * (MAX_SEED // 2)


def make_pythia(
    process: Process,
    seed: int,
    *,
    mpi: bool = True,
    variant: int = 0,
    lhe: Path | None = None,
    extra: tuple[str, ...] = (),
    hook=None,
):
    """A Pythia 8 instance initialised for ``process`` (or to shower the LHE file ``lhe``), with
    the user hook ``hook`` if given (the caller keeps a reference to it)."""
    import pythia8mc

    if process.lhe_only and lhe is None:
        raise GeneratorError(
            f"process '{process.name}' has no Pythia hard process: give a MadGraph LHE file with "
            f"--lhe FILE --process {process.name} (cards in data_recipes/madgraph/{process.name}/)"
        )
    pythia = pythia8mc.Pythia("", False)
    lines = list(QUIET_SETTINGS)
    if lhe is not None:
        lhe = Path(lhe)
        if not lhe.is_file():
            raise FileNotFoundError(f"{lhe}: LHE file not found")
        # frameType 4: beams and hard process from the Les Houches file (Pythia reads .gz too)
        lines += ["Beams:frameType = 4", f"Beams:LHEF = {lhe}"]
    else:
        lines += [*BEAM_SETTINGS, *process.pythia_settings(variant)]
    lines += [
        f"PartonLevel:MPI = {'on' if mpi else 'off'}",
        "Random:setSeed = on",
        f"Random:seed = {pythia_seed(seed, variant)}",
        *extra,
    ]
    for line in lines:
        if not pythia.readString(line):
            raise GeneratorError(f"process '{process.name}': Pythia rejected setting '{line}'")
    if hook is not None:
        pythia.setUserHooksPtr(hook)
    if not pythia.init():
        where = f"LHE file {lhe}" if lhe is not None else f"process '{process.name}'"
        raise GeneratorError(f"{where}: Pythia failed to initialise (settings: {lines})")
    return pythia


def run_info(pythia) -> RunInfo:
    info = pythia.infoPython()
    return RunInfo(
        sigma_gen_mb=float(info.sigmaGen()),
        sigma_err_mb=float(info.sigmaErr()),
        n_tried=int(info.nTried()),
        n_accepted=int(info.nAccepted()),
    )


def next_batches(pythia, n_events: int, chunk: int = 250) -> Iterator[ak.Array]:
    """Yield the raw batches (``prt`` records and ``info``) of up to ``n_events`` events.

    Stops early at the end of an LHE file. Events Pythia fails on are skipped (``errorMode
    "skip"``), so an LHE file gives at most one event per LHE event and never a duplicate.
    """
    done = 0
    while done < n_events:
        want = min(chunk, n_events - done)
        batch = pythia.nextBatch(want, "skip")
        if len(batch):
            yield batch
        done += len(batch)
        if len(batch) < want:
            if pythia.infoPython().atEndOfFile():
                return
            if len(batch) == 0:
                raise GeneratorError(f"Pythia produced no event in {want} tries")


def to_particles(prt: ak.Array) -> ak.Array:
    """The record as jagged fields: pid, status, mother, daughter1/2, px, py, pz, e, pt, eta, phi.

    Pythia's index 0 is the system entry; mother/daughter index 0 therefore means "none" and is
    mapped to -1 so that indices stay 0-based positions within the event.
    """
    p = prt["p"]
    px, py, pz, e = (ak.values_astype(p[f], np.float64) for f in ("px", "py", "pz", "e"))
    # particles along the beam (pT = 0: the system entry, beams) get eta = +-1e3
    pt, eta, phi = pt_eta_phi(px, py, pz)

    def none_to_minus_one(a):
        return ak.where(a > 0, a, -1)

    return ak.zip(
        {
            "pid": prt["id"],
            "status": prt["status"],
            "mother": none_to_minus_one(prt["mother1"]),
            "daughter1": none_to_minus_one(prt["daughter1"]),
            "daughter2": none_to_minus_one(prt["daughter2"]),
            "px": px,
            "py": py,
            "pz": pz,
            "e": e,
            "pt": pt,
            "eta": eta,
            "phi": phi,
        }
    )


HARD_PROCESS_ONLY: tuple[str, ...] = (
    "PartonLevel:all = off",
    "HadronLevel:all = off",
    "ProcessLevel:resonanceDecays = off",
)
"""Settings that stop Pythia after the hard process (pilot runs)."""


@dataclass
class Chunk:
    """One ``nextBatch`` of events: the raw batch, the events' weights (``None``: all 1) and the
    seconds Pythia took to make it."""

    batch: ak.Array
    weight: np.ndarray | None
    seconds: float


@dataclass
class VariantResult:
    """What one Pythia run (one variant of a process) reported."""

    info: RunInfo
    cp: CPReport | None = None

    def sigma_mb(self) -> tuple[float, float]:
        """The physical cross-section of the events of this run and its error [mb]."""
        if self.cp is not None:
            return self.cp.sigma_mb()
        return self.info.sigma_gen_mb, self.info.sigma_err_mb


class ProcessRun:
    """The Pythia runs that make ``n_events`` events of ``process``: one per variant (the events
    are split evenly between them), or one over the LHE file ``lhe``.

    Iterate to get :class:`Chunk` s; afterwards :attr:`results` holds one :class:`VariantResult`
    per run and :meth:`report` the shard-report fields. A process with a nonzero
    ``cp_angle_deg`` is generated by accept-reject on its SM hard process (:mod:`.cp_mixing`),
    after a pilot run of ``pilot_events`` hard-process events. ``extra`` settings are added to
    every run (for example :data:`HARD_PROCESS_ONLY` for parton-level studies).
    """

    def __init__(
        self,
        process: Process,
        n_events: int,
        seed: int,
        *,
        mpi: bool = True,
        lhe: Path | None = None,
        chunk: int = 250,
        pilot_events: int = PILOT_EVENTS,
        extra: tuple[str, ...] = (),
    ):
        self.process, self.n_events, self.seed = process, n_events, seed
        self.mpi, self.lhe, self.chunk, self.pilot_events = mpi, lhe, chunk, pilot_events
        self.extra = extra
        self.results: list[VariantResult] = []

    def __iter__(self) -> Iterator[Chunk]:
        if self.lhe is not None:
            plan = [(0, self.n_events)]
        else:
            plan = list(enumerate(split_events(self.n_events, len(self.process.variants))))
        for variant, n in plan:
            if n == 0:
                continue
            hook, cp = self._cp_hook(variant)
            pythia = make_pythia(
                self.process,
                self.seed,
                mpi=self.mpi,
                variant=variant,
                lhe=self.lhe,
                extra=self.extra,
                hook=hook,
            )
            batches = next_batches(pythia, n, self.chunk)
            while True:
                start = time.perf_counter()
                batch = next(batches, None)
                seconds = time.perf_counter() - start
                if batch is None:
                    break
                yield Chunk(batch, self._weights(batch, hook), seconds)
            self.results.append(VariantResult(run_info(pythia), cp))
            if cp is not None:
                _check_overflow(self.process, cp)

    def _cp_hook(self, variant: int):
        angle = self.process.cp_angle_deg
        if not angle or self.lhe is not None:
            return None, None
        radians = math.radians(angle)
        # a seed the sample runs of this variant never use (the pilot only sets w_max, so sharing
        # a seed with another shard or variant would be harmless)
        pilot_seed = MAX_SEED - pythia_seed(self.seed, variant)
        pilot_hook = make_hook(radians, None, pilot_seed)
        pilot = make_pythia(
            self.process,
            self.seed,
            mpi=False,
            variant=variant,
            extra=(*self.extra, *HARD_PROCESS_ONLY, f"Random:seed = {pilot_seed}"),
            hook=pilot_hook,
        )
        pilot.nextBatch(self.pilot_events, "skip")
        pilot_info = run_info(pilot)
        tallies = pilot_weights(pilot_hook)
        measured = Pilot(tallies, pilot_info.sigma_gen_mb, pilot_info.sigma_err_mb)
        w_max = measured.w_max()
        hook = make_hook(radians, w_max, pythia_seed(self.seed, variant))
        cp = CPReport(
            angle_deg=float(angle),
            w_max=w_max,
            pilot_events=pilot_info.n_accepted,
            pilot_max_w={c: t.max_w for c, t in tallies.items()},
            tallies=hook.tallies,  # filled while the sample runs
            sigma_sm_mb=pilot_info.sigma_gen_mb,
            sigma_sm_err_mb=pilot_info.sigma_err_mb,
            pilot_tallies=tallies,
        )
        return hook, cp

    def _weights(self, batch: ak.Array, hook) -> np.ndarray | None:
        if self.lhe is not None:
            # keep the sign of LHE event weights (NLO samples have negative weights)
            w0 = ak.fill_none(ak.firsts(batch["info"]["weights"]), 1.0)
            return np.where(ak.to_numpy(w0) < 0, -1.0, 1.0).astype(np.float32)
        if hook is None:
            return None
        weight = np.ones(len(batch), np.float32)
        if hook.overweights:
            # events kept above w_max carry w / w_max; found by their hard Higgs (entry 5)
            if ak.any(ak.num(batch["prt"]) < 6):
                raise GeneratorError(
                    f"process '{self.process.name}': a CP-reweighted run needs Pythia's event "
                    "record (the hard process at entries 3-7); do not switch PartonLevel:all off"
                )
            higgs_pz = ak.to_numpy(batch["prt"]["p"]["pz"][:, 5])
            for i, pz in enumerate(higgs_pz.tolist()):
                weight[i] = hook.overweights.pop(pz, 1.0)
        return weight

    def sigma_pb(self) -> tuple[float, float]:
        """The physical cross-section of the process and its error [pb]: the sum over the
        variants (disjoint final states, for example FCNC's two charge halves)."""
        values = [r.sigma_mb() for r in self.results]
        sigma = sum(v for v, _ in values)
        err = math.sqrt(sum(e * e for _, e in values))
        return sigma * 1e9, err * 1e9

    def report(self) -> dict:
        """The shard-report fields of these runs."""
        sigma, err = self.sigma_pb()
        out = {
            "sigma_gen_pb": sigma,
            "sigma_err_pb": err,
            "variant_sigma_pb": [r.sigma_mb()[0] * 1e9 for r in self.results],
            "n_tried": sum(r.info.n_tried for r in self.results),
            "n_accepted": sum(r.info.n_accepted for r in self.results),
        }
        cps = [r.cp.as_dict() for r in self.results if r.cp is not None]
        if cps:
            out["cp_mixing"] = cps
        return out


def _check_overflow(process: Process, cp: CPReport) -> None:
    share = cp.overflow_share()
    if share > OVERFLOW_TOLERANCE:
        raise GeneratorError(
            f"process '{process.name}': {share:.2%} of the CP-reweighted cross-section lies above "
            f"w_max = {cp.w_max} ({sum(t.above for t in cp.tallies.values())} weighted events; "
            f"largest weight {max(t.max_w for t in cp.tallies.values()):.3g}); the pilot of "
            f"{cp.pilot_events} events is too small for the weight's tail (tolerance "
            f"{OVERFLOW_TOLERANCE:.0%})"
        )


def generate_particles(
    process: Process,
    n_events: int,
    seed: int,
    *,
    mpi: bool = True,
    lhe: Path | None = None,
    chunk: int = 250,
    pilot_events: int = PILOT_EVENTS,
    extra: tuple[str, ...] = (),
) -> tuple[ak.Array, ProcessRun]:
    """Run Pythia and return the particle records of ``n_events`` events (split over variants)
    and the finished :class:`ProcessRun` (cross-sections, CP accept-reject report).

    The hook the tests use to check each process's signature on Pythia's own record; it runs
    the same loop as ``eventgnn generate``.
    """
    run = ProcessRun(
        process,
        n_events,
        seed,
        mpi=mpi,
        lhe=lhe,
        chunk=chunk,
        pilot_events=pilot_events,
        extra=extra,
    )
    parts = [to_particles(c.batch["prt"]) for c in run]
    return (ak.concatenate(parts) if parts else ak.Array([])), run


def split_events(n_events: int, n_parts: int) -> list[int]:
    """Split ``n_events`` as evenly as possible over ``n_parts`` (the first parts get the rest)."""
    base, rest = divmod(n_events, n_parts)
    return [base + (i < rest) for i in range(n_parts)]
