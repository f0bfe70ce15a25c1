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

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import awkward as ak
import numpy as np

from ..catalog import Process
from ..errors import GeneratorError

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
):
    """A Pythia 8 instance initialised for ``process`` (or to shower the LHE file ``lhe``)."""
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
    pt = np.hypot(px, py)
    # eta from pz/pT; particles along the beam (pT = 0: the system entry, beams) get +-1e3
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.arcsinh(pz / pt)
    eta = ak.where(pt > 0, eta, ak.where(pz >= 0, 1e3, -1e3))
    phi = np.arctan2(py, px)

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


def generate_particles(
    process: Process,
    n_events: int,
    seed: int,
    *,
    mpi: bool = True,
    lhe: Path | None = None,
    chunk: int = 250,
) -> tuple[ak.Array, list[RunInfo]]:
    """Run Pythia and return the particle records of ``n_events`` events (split over variants).

    The hook the tests use to check each process's signature on Pythia's own record.
    """
    parts, infos = [], []
    for variant, n in enumerate(split_events(n_events, len(process.variants))):
        if n == 0:
            continue
        pythia = make_pythia(process, seed, mpi=mpi, variant=variant, lhe=lhe)
        parts += [to_particles(b["prt"]) for b in next_batches(pythia, n, chunk)]
        infos.append(run_info(pythia))
    return ak.concatenate(parts) if parts else ak.Array([]), infos


def split_events(n_events: int, n_parts: int) -> list[int]:
    """Split ``n_events`` as evenly as possible over ``n_parts`` (the first parts get the rest)."""
    base, rest = divmod(n_events, n_parts)
    return [base + (i < rest) for i in range(n_parts)]


def count_lhe_events(path: Path) -> int:
    """Number of ``<event>`` blocks in a plain or gzipped LHE file."""
    import gzip

    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    n = 0
    with opener(path, "rb") as f:
        for line in f:
            if line.lstrip().startswith(b"<event"):
                n += 1
    return n
