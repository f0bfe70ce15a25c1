"""Parallel generation: one Parquet shard per (process, seed), resumable, with a progress bar.

A request (processes x events) is cut into shards of at most ``shard_events`` events. Shard ``k``
of a process uses seed ``seed + k`` (Pythia's ``Random:seed`` and the detector's numpy generator),
so a shard is the same whatever the number of workers or the order they run in, and is named
``<out>/<process>/<process>_seed<S>_n<N>.parquet`` (from an LHE file:
``<process>_lhe-<file stem>-<id>_seed<S>.parquet``, ``<id>`` a fingerprint of the file's
resolved path, so two files named ``unweighted_events.lhe.gz`` give two shards). Beside each
shard, ``.record.json`` records what made it (process settings, seed, events, multiparton
interactions, the LHE file's path, size and modification time, the eventgnn version) and ``.json``
what Pythia reported (cross-section, counts) and the timing. A rerun skips a finished shard
whose record matches (writes are atomic, so a killed generation resumes where it stopped); a
shard made with other settings, or another shard of the same process and seed (the same events
again), is an error (:class:`~eventgnn._core.errors.StaleOutputError`) unless ``overwrite``. The job
holds the output folder's lock, and worker processes end with their parent.

``shard=(i, n)`` keeps every n-th work item starting at i of the full, ordered work list: the
``n`` array jobs of a cluster together make exactly the full request. Each of them writes
``<out>/manifest.json`` naming every shard of the request (:mod:`eventgnn.events.manifest`), and
reading ``<out>`` refuses a set with shards missing or doubled, naming them.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import time
import warnings
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path

import awkward as ak
import numpy as np

from .._core.errors import CatalogError, EmptyEventsWarning, StaleOutputError
from .._core.fileio import remove_stale_temporaries, safe_name, write_text_atomic
from .._core.provenance import check_record, file_identity, fingerprint, lock, write_record
from .._core.system import die_with_parent
from ..catalog.processes import Process, get_process
from ..events.lhe import count_lhe
from ..events.manifest import write_manifest
from ..events.parquet import record_path, write_events
from ..events.selection import drop_empty
from .extract import events_from_particles
from .pythia import ProcessRun, to_particles

DEFAULT_SHARD_EVENTS = 5000
"""Events per shard unless ``shard_events`` is given."""

CHUNK = 1000
"""Events per Pythia ``nextBatch`` call and detector pass (bounds memory, keeps progress live)."""


@dataclass(frozen=True)
class ShardSpec:
    """One unit of work: ``events`` events of ``process`` with seed ``seed``, into ``path``."""

    process: str
    seed: int
    events: int
    path: str
    mpi: bool = True
    lhe: str | None = None


def lhe_id(lhe: str | Path) -> str:
    """A short fingerprint of an LHE file's resolved path (in shard names and sources)."""
    return fingerprint(str(Path(lhe).resolve()), 10)


def shard_path(out: Path, process: str, seed: int, events: int, lhe: Path | None = None) -> Path:
    name = f"{process}_seed{seed}_n{events}"
    if lhe is not None:
        stem = Path(lhe).name.split(".")[0][:80]
        name = f"{process}_lhe-{stem}-{lhe_id(lhe)}_seed{seed}"
    return Path(out) / process / f"{name}.parquet"


GENERATOR_VERSION = 2
"""Raised whenever the generator's physics changes for the same settings and seed (2: MET from
reconstructed objects, CP-mixed top Yukawa by reweighting), so shards of an older generator are
never reused as if they were today's."""


def shard_record(spec: ShardSpec) -> dict:
    """What decides a shard's events, as plain values: its record (``.record.json``)."""
    from .._core.version import __version__

    process = resolve_process(spec.process, spec.lhe)
    slha = None
    if process.slha is not None:
        slha = hashlib.sha256(Path(process.slha).read_bytes()).hexdigest()[:16]
    return {
        "made_by": "eventgnn generate",
        "eventgnn": __version__,
        "generator": GENERATOR_VERSION,
        "process": spec.process,
        "settings": list(process.settings),
        "cp_angle_deg": process.cp_angle_deg,
        "variants": [list(v) for v in process.variants],
        "slha_sha256": slha,
        "seed": spec.seed,
        "events": spec.events,
        "mpi": spec.mpi,
        "lhe": file_identity(spec.lhe) if spec.lhe else None,
    }


def work_list(
    processes: Sequence[str],
    out: Path,
    events: int,
    seed: int = 1,
    mpi: bool = True,
    shard_events: int | None = None,
    lhe: Path | None = None,
) -> list[ShardSpec]:
    """The full, ordered list of shards of a request (before ``--shard`` and skipping)."""
    if events <= 0:
        raise ValueError(f"events must be positive, got {events}")
    per = shard_events or DEFAULT_SHARD_EVENTS
    if per <= 0:
        raise ValueError(f"shard_events must be positive, got {per}")
    specs = []
    for proc in processes:
        if resolve_process(proc, lhe).lhe_only and lhe is None:  # fail before any work starts
            raise CatalogError(
                f"process '{proc}' has no Pythia hard process: give a MadGraph LHE file with "
                f"--lhe FILE --process {proc} (cards in data_recipes/madgraph/{proc}/)"
            )
        if lhe is not None:
            # an LHE file is one shard: its events are read in order, none twice
            path = shard_path(out, proc, seed, events, lhe)
            specs.append(ShardSpec(proc, seed, events, str(path), mpi, str(lhe)))
            continue
        n_shards = -(-events // per)
        for k in range(n_shards):
            n = min(per, events - k * per)
            path = shard_path(out, proc, seed + k, n)
            specs.append(ShardSpec(proc, seed + k, n, str(path), mpi))
    return specs


def resolve_process(name: str, lhe: str | Path | None = None) -> Process:
    """The catalog process ``name``; with an LHE file, any other name is accepted as a new process
    (its hard process comes from the file)."""
    try:
        return get_process(name)
    except CatalogError:
        if lhe is None:
            raise
        safe_name(name, "process")  # a new name becomes a folder under the output folder
        return Process(
            name, f"events showered from the LHE file {Path(lhe).name}", (), lhe_only=True
        )


def detector_rng(process: str, seed: int) -> np.random.Generator:
    """The detector's random numbers for one shard: fixed by (process, seed)."""
    return np.random.default_rng([seed, zlib.crc32(process.encode())])


_progress_queue = None


def _init_worker(queue, parent: int) -> None:
    global _progress_queue
    _progress_queue = queue
    die_with_parent(parent)


def run_shard(spec: ShardSpec, progress=None) -> dict:
    """Generate one shard, write it atomically with its ``.json`` report; return the report."""
    progress = progress or _progress_queue
    start, cpu_start = time.perf_counter(), time.process_time()
    process = resolve_process(spec.process, spec.lhe)
    rng = detector_rng(spec.process, spec.seed)
    lhe = Path(spec.lhe) if spec.lhe else None
    source = f"pythia8:{spec.process}:seed{spec.seed}"
    if lhe is not None:  # the file's fingerprint: two LHE files of one name are other events
        source = f"pythia8:{spec.process}:lhe:{lhe.name}@{lhe_id(lhe)}:seed{spec.seed}"
    run = ProcessRun(process, spec.events, spec.seed, mpi=spec.mpi, lhe=lhe, chunk=CHUNK)
    chunks = []
    pythia_seconds = 0.0
    n_pythia = 0
    for chunk in run:
        pythia_seconds += chunk.seconds
        particles = to_particles(chunk.batch["prt"])
        # one source per event (generator, process, seed, event number), so a shard copied or
        # generated twice is found when a dataset is read (events.parquet.check_duplicates)
        numbers = np.arange(n_pythia, n_pythia + len(particles)).astype(str)
        chunks.append(
            events_from_particles(
                particles,
                process=spec.process,
                source=np.char.add(f"{source}:", numbers).astype(object),
                rng=rng,
                weight=chunk.weight,
            )
        )
        n_pythia += len(particles)
        if progress is not None:
            progress.put(len(particles))
    events = ak.concatenate(chunks) if chunks else None
    if events is None:
        raise RuntimeError(f"{spec.path}: Pythia produced no events")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EmptyEventsWarning)
        events, n_dropped = drop_empty(events, spec.path)
    report = {
        **asdict(spec),
        "pythia_events": n_pythia,
        "events_written": len(events),
        "dropped_no_object": n_dropped,
        **run.report(),
        "pythia_seconds": pythia_seconds,
        "seconds": time.perf_counter() - start,
        "cpu_seconds": time.process_time() - cpu_start,  # this worker only: robust to load
    }
    if lhe is not None:
        report["lhe_events"] = count_lhe(lhe)  # checked before any work started
    path = Path(spec.path)
    write_text_atomic(path.with_suffix(".json"), json.dumps(report, indent=1) + "\n")
    write_record(record_path(path), shard_record(spec))
    write_events(events, path)  # last: its existence marks the shard finished
    return report


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` -> ``(I, N)`` with ``0 <= I < N``."""
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard: expected I/N (for example 0/4), got '{text}'") from None
    if not 0 <= i < n:
        raise ValueError(f"--shard: need 0 <= I < N, got {i}/{n}")
    return i, n


def generate(
    processes: Sequence[str],
    out: Path,
    events: int,
    seed: int = 1,
    jobs: int = 1,
    shard: tuple[int, int] | None = None,
    mpi: bool = True,
    shard_events: int | None = None,
    lhe: Path | None = None,
    progress: bool = True,
    overwrite: bool = False,
    announce: Callable[[list[ShardSpec]], None] | None = None,
) -> list[Path]:
    """Generate ``events`` events of each process into Parquet shards under ``out``.

    Returns the paths of every shard of the (``shard``-selected) request, including shards that
    already existed and were skipped (their records match). ``jobs`` worker processes run shards
    in parallel; with ``lhe`` the file is showered once per process name (give one process) and
    ``events`` is the maximum number of LHE events read. ``overwrite``: remake shards made with
    other settings instead of stopping with :class:`~eventgnn._core.errors.StaleOutputError`.
    ``announce``: called with the shards still to make, before any is made (not when all exist).
    """
    out = Path(out)
    if lhe is not None and len(processes) != 1:
        raise ValueError("--lhe needs exactly one --process name")
    if lhe is not None:
        count_lhe(lhe)  # a truncated or corrupt file is named before any work starts
    specs = work_list(processes, out, events, seed, mpi, shard_events, lhe)
    if shard is None:
        job_lock = lock(out, "generate")
    else:  # array jobs write disjoint shards into one folder at once: one lock per job
        i, n = shard
        job_lock = lock(out / ".generate-jobs" / f"{i}-of-{n}", f"generate --shard {i}/{n}")
    with job_lock:
        if shard is not None:  # the manifest names the whole request (the same from every job)
            request = {"processes": list(processes), "events": events, "seed": seed,
                       "mpi": mpi, "shard_events": shard_events or DEFAULT_SHARD_EVENTS,
                       "lhe": file_identity(lhe) if lhe else None, "jobs": shard[1]}  # fmt: skip
            write_manifest(out, request, [_manifest_entry(s, out) for s in specs], overwrite)
            specs = specs[i::n]
        for folder in {Path(s.path).parent for s in specs}:
            # left by a killed job; we hold the lock (an array job: of our own shards only)
            stems = None if shard is None else [
                Path(s.path).name.removesuffix(".parquet") for s in specs
                if Path(s.path).parent == folder]  # fmt: skip
            remove_stale_temporaries(folder, stems)
        todo = [s for s in specs if not _finished(s, overwrite)]
        if todo and announce is not None:
            announce(todo)
        _generate(specs, todo, jobs, progress)
    return [Path(s.path) for s in specs]


def _manifest_entry(spec: ShardSpec, out: Path) -> dict:
    return {"path": Path(spec.path).relative_to(out).as_posix(), "process": spec.process,
            "seed": spec.seed, "events": spec.events}  # fmt: skip


def _finished(spec: ShardSpec, overwrite: bool) -> bool:
    """Is ``spec``'s shard there, made with the same settings? Raises
    :class:`StaleOutputError` for one made otherwise, and for another shard of the same process
    and seed (the same events again under another name: other ``--events``), unless
    ``overwrite``, which removes them."""
    path = Path(spec.path)
    remedy = "rerun with --overwrite to remake it, or generate into another --out"
    same_seed = set()
    if spec.lhe is None and path.parent.is_dir():
        prefix = f"{spec.process}_seed{spec.seed}_n"
        same_seed = {
            p for p in path.parent.glob(f"{prefix}*.parquet") if p.name[len(prefix) : -8].isdigit()
        } - {path}
    stale = same_seed | ({path} if overwrite and path.exists() else set())
    if same_seed and not overwrite:
        other = min(same_seed)
        raise StaleOutputError(
            f"{other} holds the same events as {path.name} would (process {spec.process}, seed "
            f"{spec.seed}; other --events or --shard-events); {remedy}"
        )
    for p in stale:
        for f in (p, p.with_suffix(".json"), record_path(p)):
            f.unlink(missing_ok=True)
    if not path.exists():
        return False
    rec = record_path(path)
    if not rec.exists():
        raise StaleOutputError(
            f"{path}: exists without a record of what made it (an older eventgnn, or copied "
            f"here); {remedy}"
        )
    return check_record(rec, shard_record(spec), f"shard {path}", remedy)


def _generate(specs: list[ShardSpec], todo: list[ShardSpec], jobs: int, progress: bool) -> None:
    if not todo:  # every shard there already: no empty progress bar on every reuse
        return
    total = sum(s.events for s in todo)
    bar = _progress_bar(total, len(specs) - len(todo), progress)
    try:
        if jobs <= 1 or len(todo) <= 1:
            for spec in todo:
                report = run_shard(spec, _BarQueue(bar))
                _fix_bar(bar, spec, report)
        else:
            _run_parallel(todo, jobs, bar)
    finally:
        bar.close()


def _run_parallel(todo: list[ShardSpec], jobs: int, bar) -> None:
    ctx = multiprocessing.get_context("spawn")  # Pythia and fastjet are not fork-safe to share
    queue = ctx.Queue()
    with ProcessPoolExecutor(
        max_workers=min(jobs, len(todo)),
        mp_context=ctx,
        initializer=_init_worker,
        initargs=(queue, os.getpid()),
    ) as pool:
        futures = {pool.submit(run_shard, spec): spec for spec in todo}
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                _drain(queue, bar)
                for fut in done:
                    report = fut.result()  # re-raises a worker's error here
                    _fix_bar(bar, futures[fut], report)
        except BaseException:
            # do not start the queued shards after a failure or Ctrl-C; finished ones are kept
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        _drain(queue, bar)


def _drain(queue, bar) -> None:
    while True:
        try:
            bar.update(queue.get_nowait())
        except Exception:  # queue.Empty; nothing else is raised by get_nowait
            return


def _fix_bar(bar, spec: ShardSpec, report: dict) -> None:
    # an LHE file may hold fewer events than requested: shrink the total accordingly
    missing = spec.events - report["pythia_events"]
    if missing > 0 and bar.total:
        bar.total -= missing
        bar.refresh()


class _BarQueue:
    """The queue interface of the worker progress reports, for in-process runs."""

    def __init__(self, bar):
        self.bar = bar

    def put(self, n: int) -> None:
        self.bar.update(n)


def _progress_bar(total: int, skipped: int, enabled: bool):
    from tqdm.auto import tqdm

    desc = "generate" + (f" ({skipped} shard(s) done before)" if skipped else "")
    return tqdm(total=total, unit="ev", desc=desc, disable=not enabled, smoothing=0.1)
