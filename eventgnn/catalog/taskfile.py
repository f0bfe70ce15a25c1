"""Task files: your own signal and background samples, by files, folders or globs.

A task file names the samples of a binary task (``eventgnn finetune --task my_task.yaml``)::

    name: my_analysis                     # optional; default: the file's stem
    signal:
      - files: [sig/*.root]               # files, folders or globs (relative to this file)
        process: my_signal                # optional; default: the stem of the first file
        options: {btag_branch: Jet_btagCSVV2, btag_threshold: 0.8}   # reader options
                                          # (cuts: {jet_pt: 30}; branch_map: relative to this file)
        weight: genWeight                 # optional per-event weight branch ('none': unit)
        scale: 0.35                       # optional factor on every weight
        normalize: xsec                   # optional: 'events' (total weight = its events) or
        xsec: 0.507                       #   'xsec' (total weight = xsec [pb] x lumi [fb^-1]
        lumi: 138                         #   x 1000 expected events)
    background:
      - files: [bkg_a/*.root]
      - process: ttbar                    # a process of --data (or of the built-in data)

Each sample is one process. Samples with files are converted once (:func:`stage`) into Parquet
shards under ``$EVENTGNN_CACHE/tasks/<name>-<fingerprint>/<process>/``, with the usual records
beside them; the fingerprint is of what staging reads (:meth:`TaskFile.cache_name`), so two
analyses never share a folder. A rerun reuses shards whose inputs and options are unchanged and
remakes the others; shards of files no longer in a sample are removed; finetunes of one task at
once share the folder (:func:`stage`). Samples with only a ``process`` are taken from ``--data``
(or the built-in downstream data). A file in two samples (by path, hard link or as a copy), or one
process name for two samples, is an error: the same events would be signal and background at
once. A path that exists is read as it is, glob characters and all; a pattern globs otherwise.

Weights: each event's ``weight`` branch (``genWeight`` or ``Event.Weight`` where the file has one;
``weight: none`` for unit weights), times ``scale``, times the factor of ``normalize``
(:func:`weight_factors`): with ``events`` a sample's weights sum to its number of events (NLO
weights of +-225,892 keep their signs and ratios, and the two classes are compared per event);
with ``xsec`` they sum to the events expected in ``lumi``. Without ``normalize`` the weights are
used as they are.

``eventgnn finetune --signal PATH... --background PATH...`` is the same with one sample per side,
named ``signal`` and ``background``.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import json
import math
import os
import socket
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .._core.errors import CatalogError, InputError, LockedError, StaleOutputError
from .._core.fileio import read_yaml, safe_name
from .._core.provenance import LOCK_NAME, file_identity, fingerprint, write_record
from .._core.version import __version__
from ..events.io import READER_OPTIONS, check_reader_options, convert, input_files
from ..events.parquet import SHARD_SUFFIX, record_path
from ..events.selection import SelectionCuts
from .processes import Task

NORMALIZE_KEYS = ("normalize", "xsec", "lumi")
NORMALIZE_MODES = ("events", "xsec")
SAMPLE_KEYS = ("files", "process", "options", "weight", "scale", *NORMALIZE_KEYS)
TASK_KEYS = ("name", "description", "signal", "background")
READER_OPTION_NAMES = sorted(
    {o for opts in READER_OPTIONS.values() for o in opts} - {"process", "entries", "weight_branch"}
)


@dataclass(frozen=True)
class Sample:
    """One process of a task: ``files`` (absolute patterns; empty for a process taken from the
    data), reader ``options``, the ``weight`` branch and a ``scale`` on every weight."""

    process: str
    files: tuple[str, ...] = ()
    options: Mapping = field(default_factory=dict)
    weight: str | None = None
    scale: float = 1.0
    normalize: str | None = None
    xsec: float | None = None
    lumi: float | None = None

    def to_dict(self) -> dict:
        out: dict = {"process": self.process}
        if self.files:
            out["files"] = list(self.files)
        if self.options:
            out["options"] = dict(self.options)
        if self.weight is not None:
            out["weight"] = self.weight
        if self.scale != 1.0:
            out["scale"] = self.scale
        out.update({k: v for k in NORMALIZE_KEYS if (v := getattr(self, k)) is not None})
        return out


@dataclass(frozen=True)
class TaskFile:
    """A binary task made of samples (see the module docstring)."""

    name: str
    signal: tuple[Sample, ...]
    background: tuple[Sample, ...]
    description: str = ""

    @property
    def samples(self) -> tuple[Sample, ...]:
        return self.signal + self.background

    @property
    def task(self) -> Task:
        """The task as training sees it: signal and background process names."""
        return Task(
            self.name,
            tuple(s.process for s in self.signal),
            tuple(s.process for s in self.background),
            builtin=False,
            description=self.description or "task file",
        )

    @property
    def scales(self) -> dict[str, float]:
        """Weight factors of the processes whose ``scale`` is not 1."""
        return {s.process: s.scale for s in self.samples if s.scale != 1.0}

    def cache_name(self) -> str:
        """The name of the task's cache folder (``$EVENTGNN_CACHE/tasks/<cache_name>``): its name
        and a fingerprint of what staging reads (each sample with files: its process, files,
        reader options and weight branch). Two analyses share a folder only when they stage the
        same; one analysis finds its own folder again."""
        staged = [{k: v for k, v in s.to_dict().items() if k not in ("scale", *NORMALIZE_KEYS)}
                  for s in self.samples if s.files]  # fmt: skip
        return f"{self.name[:100]}-{fingerprint(staged)}"

    def from_data(self) -> tuple[str, ...]:
        """The processes taken from ``--data`` (samples without files)."""
        return tuple(s.process for s in self.samples if not s.files)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "signal": [s.to_dict() for s in self.signal],
            "background": [s.to_dict() for s in self.background],
        }


def is_task_file(name: str) -> bool:
    """True when ``--task`` names a YAML file rather than a catalog task (``.yaml`` or ``.yml``,
    in any case)."""
    return name.lower().endswith((".yaml", ".yml"))


def load_task_file(path: str | os.PathLike) -> TaskFile:
    """Read and check a task file; file patterns are made absolute relative to its folder."""
    path = Path(path)
    data = read_yaml(path, CatalogError, "task file")
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: expected a mapping with signal and background samples")
    _unknown(data, TASK_KEYS, str(path))
    name = _task_name(data, path)
    sides = {}
    for side in ("signal", "background"):
        entries = data.get(side)
        if not isinstance(entries, list) or not entries:
            raise CatalogError(f"{path}: field '{side}': expected a list of samples")
        sides[side] = tuple(
            _sample(e, f"{path}: {side}[{k}]", path.resolve().parent) for k, e in enumerate(entries)
        )
    task = TaskFile(name, sides["signal"], sides["background"], str(data.get("description", "")))
    _check_distinct(task, str(path))
    return task


def _task_name(data: dict, path: Path) -> str:
    """The task's name: its ``name`` field, else the file's stem. It names the task's cache
    folder and runs, so it must be a safe folder name of ASCII letters, digits and ``_ . + = -``
    (portable across file systems, shells and batch systems)."""
    given = "name" in data
    name = data["name"] if given else path.stem
    try:
        return safe_name(name, "task name")
    except ValueError as err:
        source = "field 'name'" if given else "no field 'name', so the name is the file's stem"
        advice = "" if given else "; give the task a 'name:'"
        raise CatalogError(
            f"{path}: {source}: {err} (ASCII letters only: the name becomes folder names){advice}"
        ) from None


def task_from_paths(signal: list[str], background: list[str]) -> TaskFile:
    """``--signal PATH... --background PATH...``: one sample per side."""
    here = Path.cwd()
    task = TaskFile(
        "signal_vs_background",
        (_sample({"files": signal, "process": "signal"}, "--signal", here),),
        (_sample({"files": background, "process": "background"}, "--background", here),),
        "--signal / --background",
    )
    _check_distinct(task, "--signal/--background")
    return task


def _unknown(data: dict, known: tuple[str, ...], where: str) -> None:
    extra = sorted(set(data) - set(known))
    if extra:
        raise CatalogError(f"{where}: unknown field '{extra[0]}' (expected {', '.join(known)})")


def _sample(entry, where: str, base: Path) -> Sample:
    if isinstance(entry, str):  # a bare string is a process of the data
        entry = {"process": entry}
    if not isinstance(entry, dict):
        raise CatalogError(f"{where}: expected a mapping (files, process, ...)")
    _unknown(entry, SAMPLE_KEYS, where)
    files = entry.get("files", [])
    if isinstance(files, str):
        files = [files]
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise CatalogError(f"{where}: field 'files': expected a list of paths or globs")
    files = tuple(str(base / os.path.expanduser(f)) for f in files)
    process = entry.get("process")
    if process is None:
        if not files:
            raise CatalogError(f"{where}: a sample needs 'files' or a 'process'")
        process = Path(expand(files, where)[0]).stem
    try:
        safe_name(process, "process")
    except ValueError as err:
        raise CatalogError(f"{where}: field 'process': {err}") from None
    options = entry.get("options") or {}
    if not isinstance(options, dict):
        raise CatalogError(f"{where}: field 'options': expected a mapping of reader options")
    bad = sorted(set(options) - set(READER_OPTION_NAMES))
    if bad:
        raise CatalogError(
            f"{where}: field 'options': unknown reader option '{bad[0]}' (expected "
            f"{', '.join(READER_OPTION_NAMES)})"
        )
    options = _sample_options(options, f"{where} (process '{process}')", base)
    weight = entry.get("weight")
    if weight is not None and not (isinstance(weight, str) and weight.strip()):
        raise CatalogError(
            f"{where}: field 'weight': expected a branch name, got {weight!r} (leave 'weight' "
            "out for genWeight or Event.Weight where the file has it, else unit weights; "
            "'none' for unit weights)"
        )
    scale = entry.get("scale", 1.0)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale):
        raise CatalogError(f"{where}: field 'scale': expected a finite number, got {scale!r}")
    if not files and (options or weight is not None):
        raise CatalogError(
            f"{where}: 'options' and 'weight' apply to files; process '{process}' comes from "
            "the data as it was converted or generated"
        )
    return Sample(process, files, options, weight, float(scale), *_normalization(entry, where))


def _normalization(entry: dict, where: str) -> tuple[str | None, float | None, float | None]:
    """``(normalize, xsec, lumi)`` of a sample, checked: ``xsec`` and ``lumi`` (positive, finite)
    exactly when ``normalize: xsec``."""
    mode, xsec, lumi = (entry.get(k) for k in NORMALIZE_KEYS)
    if mode is not None and mode not in NORMALIZE_MODES:
        raise CatalogError(
            f"{where}: field 'normalize': expected one of {', '.join(NORMALIZE_MODES)}, got "
            f"{mode!r}"
        )
    given = [k for k, v in (("xsec", xsec), ("lumi", lumi)) if v is not None]
    if mode != "xsec" and given:
        raise CatalogError(f"{where}: field '{given[0]}' needs 'normalize: xsec'")
    for name, value in (("xsec", xsec), ("lumi", lumi)):
        if mode != "xsec":
            continue
        ok = _finite(value) and value > 0
        if not ok:
            unit = "pb" if name == "xsec" else "fb^-1"
            raise CatalogError(
                f"{where}: field '{name}': expected a positive number ({unit}) with "
                f"'normalize: xsec', got {value!r}"
            )
    return mode, None if xsec is None else float(xsec), None if lumi is None else float(lumi)


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def weight_factors(task: TaskFile, inputs, log: Callable[[str], None] = print) -> dict[str, float]:
    """Each process's factor on its events' weights: its ``scale`` times, for a sample with
    ``normalize``, the factor that brings its total weight (over every event of it in
    ``inputs``) to its number of events (``events``) or to ``xsec * 1000 * lumi`` (``xsec``:
    pb and fb^-1). Processes whose factor is 1 are left out."""
    factors = dict(task.scales)
    normalized = [s for s in task.samples if s.normalize is not None]
    if not normalized:
        return factors
    totals = _weight_totals(inputs, {s.process for s in normalized})
    for s in normalized:
        n, total = totals.get(s.process, (0, 0.0))
        if n == 0 or not total > 0:
            raise CatalogError(
                f"task '{task.name}': sample '{s.process}' cannot be normalised: its {n:,} "
                f"events' weights sum to {total:.6g} (expected a positive total)"
            )
        target = n if s.normalize == "events" else s.xsec * 1000.0 * s.lumi
        factors[s.process] = s.scale * target / total
        what = f"its {n:,} events"
        if s.normalize == "xsec":
            what = f"xsec x lumi = {s.xsec:g} pb x {s.lumi:g} fb^-1 = {target:,.6g} events"
        log(f"sample {s.process}: weights normalised to {what} (sum of weights {total:.6g}; "
            f"factor {factors[s.process]:.6g})")  # fmt: skip
    return factors


def _weight_totals(inputs, processes: set[str]) -> dict[str, tuple[int, float]]:
    """``{process: (events, sum of weights)}`` over the shards of ``inputs`` (two columns read)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    totals: dict[str, list] = {}
    for path in input_files(inputs):
        table = pq.read_table(path, columns=["process", "weight"])
        for p in processes & set(pc.unique(table["process"]).to_pylist()):
            w = table.filter(pc.equal(table["process"], p))["weight"]
            acc = totals.setdefault(p, [0, 0.0])
            acc[0] += len(w)
            acc[1] += float(pc.sum(w.cast("float64")).as_py() or 0.0)
    return {p: (n, s) for p, (n, s) in totals.items()}


def expand(patterns: tuple[str, ...], where: str) -> list[str]:
    """Each pattern's matches (globs sorted, ``**`` recursive); a pattern matching nothing is an
    error naming it. A pattern that names an existing path is that path, glob characters and
    all (``sig[1].root`` is the file of that name, not ``sig1.root``), and so are the existing
    folders a pattern starts with (a task file in ``br[v2]/`` finds ``br[v2]/sig/*.root``)."""
    out = []
    for pattern in patterns:
        found = _matches(pattern)
        if not found or not all(os.path.exists(f) for f in found):
            raise CatalogError(f"{where}: '{pattern}' matches no file or folder")
        out += found
    return out


def _matches(pattern: str) -> list[str]:
    if os.path.exists(pattern) or not glob.has_magic(pattern):
        return [pattern]
    parts = Path(pattern).parts
    k = next((k for k in range(len(parts) - 1, 0, -1) if Path(*parts[:k]).is_dir()), 0)
    head = glob.escape(str(Path(*parts[:k]))) if k else ""
    return sorted(glob.glob(os.path.join(head, *parts[k:]), recursive=True))


def sample_files(sample: Sample, where: str) -> list[Path]:
    """The input files of a sample with files (folders expanded, see
    :func:`~eventgnn.events.io.input_files`); anything that is not a regular file (a FIFO, a
    device, a socket) is an error naming it: reading one would block or fail."""
    files = input_files(expand(sample.files, where))
    for f in files:
        if not f.is_file():
            raise CatalogError(
                f"{where}: {f} (sample '{sample.process}') is not a regular file (a FIFO, device "
                "or socket?); give ROOT or Parquet files or folders of them"
            )
    return files


def _check_distinct(task: TaskFile, where: str) -> None:
    """No process name twice and no input file in two samples, nor twice in one: not by path,
    not through a hard link, not as a copy (same size and content)."""
    seen: set[str] = set()
    for s in task.samples:
        if s.process in seen:
            raise CatalogError(
                f"{where}: process '{s.process}' names two samples; give each a distinct 'process:'"
            )
        seen.add(s.process)
    owner: dict[Path, str] = {}
    for s in task.samples:
        if not s.files:
            continue
        for f in sample_files(s, where):
            other = owner.setdefault(f.resolve(), s.process)
            if other != s.process:
                raise CatalogError(
                    f"{where}: {f} is in sample '{other}' and in sample '{s.process}'; its "
                    "events would be counted twice"
                )
    _check_same_content(owner, where)


def _check_same_content(owner: dict[Path, str], where: str) -> None:
    """Two input files that are one file (hard links) or hold the same bytes (copies): an error
    naming both and their samples. Only files of equal size are read: their first
    :data:`PREFIX_BYTES`, and whole where those are equal."""
    for group in _groups(owner, lambda f: f.stat().st_size):
        _refuse_equal(group, _inode, "the same file (a hard link)", owner, where)
        for same_start in _groups(group, lambda f: _digest(f, PREFIX_BYTES)):
            _refuse_equal(same_start, _digest, "copies (the same content)", owner, where)


PREFIX_BYTES = 1 << 20
"""Bytes of two equal-sized input files compared before their whole content."""


def _groups(files, key: Callable) -> list[list[Path]]:
    """The files grouped by ``key``, groups of at least two."""
    out: dict = {}
    for f in files:
        out.setdefault(key(f), []).append(f)
    return [g for g in out.values() if len(g) > 1]


def _refuse_equal(files: list[Path], key: Callable, how: str, owner: dict, where: str) -> None:
    for group in _groups(files, key):
        a, b = group[:2]
        raise CatalogError(
            f"{where}: {a} (sample '{owner[a]}') and {b} (sample '{owner[b]}') are {how}: the "
            "same events would be read twice; name only one of them"
        )


def _inode(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_dev, st.st_ino


def _digest(path: Path, limit: int | None = None) -> str:
    """sha256 of the file's first ``limit`` bytes (None: all of it)."""
    with open(path, "rb") as f:
        if limit is not None:
            return hashlib.sha256(f.read(limit)).hexdigest()
        return hashlib.file_digest(f, "sha256").hexdigest()


def _sample_options(options: dict, where: str, base: Path) -> dict:
    """Reader options as given, checked: ``cuts`` a mapping of known cuts, ``branch_map`` a
    path made absolute relative to the task file's folder (as ``files`` are)."""
    out = dict(options)
    if "cuts" in out:
        try:
            SelectionCuts.from_mapping(out["cuts"], f"{where}: field 'options.cuts'")
        except ValueError as err:
            raise CatalogError(str(err)) from None
    if "branch_map" in out:
        if not isinstance(out["branch_map"], str):
            raise CatalogError(f"{where}: field 'options.branch_map': expected a YAML file path")
        out["branch_map"] = str(base / os.path.expanduser(out["branch_map"]))
    try:
        check_reader_options(out, f"{where}: field 'options'")
    except InputError as err:
        raise CatalogError(str(err)) from None
    return out


STAGED_NAME = "staged.json"
"""The record of a staged task cache: every sample's inputs (path, size, modification time),
reader options and shards."""


def stage(task: TaskFile, folder: str | os.PathLike, log: Callable[[str], None] = print) -> list:
    """Convert the samples with files into Parquet shards under ``folder/<process>/`` and return
    the shards, in sample order (see the module docstring for reuse and removal).

    Jobs share ``folder`` safely: each checks it under a shared lock and returns at once when its
    record (:data:`STAGED_NAME`) says every sample's inputs and options are those staged (so two
    finetunes of one task file run together); only a conversion takes the exclusive lock, and a
    job that finds the folder locked waits, saying for what."""
    folder = Path(folder)
    plan = [(s, _reader_options(s), sample_files(s, f"sample '{s.process}'"))
            for s in task.samples if s.files]  # fmt: skip
    wanted = _staged_record(plan)
    with _cache_lock(folder, False, log):
        shards = _staged_shards(folder, wanted)
    if shards is not None:
        return shards
    with _cache_lock(folder, True, log):
        shards = _staged_shards(folder, wanted)  # staged by the job this one waited for
        if shards is not None:
            return shards
        (folder / STAGED_NAME).unlink(missing_ok=True)
        shards = [_convert_sample(s, options, inputs, folder, log) for s, options, inputs in plan]
        names = [[str(p.relative_to(folder)) for p in each] for each in shards]
        write_record(folder / STAGED_NAME, {**wanted, "shards": names})
    return [p for each in shards for p in each]


def _reader_options(s: Sample) -> dict:
    """The options :func:`~eventgnn.events.io.convert` reads sample ``s`` with."""
    options = {**s.options, "process": s.process}
    if "cuts" in options:
        options["cuts"] = SelectionCuts.from_mapping(options["cuts"], s.process)
    if s.weight is not None:
        options["weight_branch"] = s.weight
    return options


def _staged_record(plan: list) -> dict:
    """What a staged cache holds: per sample its inputs' identities and its reader options (a
    branch map by its file's identity too)."""
    samples = []
    for s, options, inputs in plan:
        rec = {"process": s.process, "inputs": [file_identity(f) for f in inputs],
               "options": _plain_options(options)}  # fmt: skip
        if "branch_map" in s.options and Path(s.options["branch_map"]).is_file():
            rec["branch_map"] = file_identity(s.options["branch_map"])  # else convert says so
        samples.append(rec)
    return {"made_by": "eventgnn stage", "eventgnn": __version__, "samples": samples}


def _plain_options(options: dict) -> dict:
    """Reader options as plain values (cuts as a mapping)."""
    out = dict(options)
    if isinstance(out.get("cuts"), SelectionCuts):
        out["cuts"] = asdict(out["cuts"])
    return out


def _staged_shards(folder: Path, wanted: dict) -> list[Path] | None:
    """The shards of ``folder`` when its record equals ``wanted`` and they all exist, else None
    (never staged, inputs or options changed, a shard removed)."""
    record = folder / STAGED_NAME
    try:
        stored = json.loads(record.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict):
        return None
    names = stored.pop("shards", [])
    if stored != json.loads(json.dumps(wanted, default=str)):
        return None
    shards = [folder / name for each in names for name in each]
    return shards if all(p.is_file() for p in shards) else None


@contextlib.contextmanager
def _cache_lock(folder: Path, exclusive: bool, log: Callable[[str], None]) -> Iterator[None]:
    """Hold ``folder``'s lock, shared (checking) or exclusive (converting); when another job holds
    it, say which and wait for it (the kernel's ``flock``: it ends with the holder)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
    mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    try:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
            log(f"task cache {folder}: waiting for "
                f"{holder or 'other jobs checking it'} to finish")  # fmt: skip
            fcntl.flock(fd, mode)
        if exclusive:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()} on host {socket.gethostname()}, converting "
                      "its samples\n".encode(), 0)  # fmt: skip
        yield
    finally:
        if exclusive:
            os.ftruncate(fd, 0)  # no holder named once the conversion is over
        os.close(fd)


def _convert_sample(
    s: Sample, options: dict, inputs: list[Path], folder: Path, log: Callable[[str], None]
) -> list[Path]:
    """Convert one sample into ``folder/<process>/`` (reusing what is up to date) and remove the
    shards of files no longer in it."""
    out = folder / s.process
    try:
        try:
            written = convert(inputs, out, progress=False, **options)
        except StaleOutputError as err:
            log(f"sample '{s.process}': its inputs or options changed, converting again ({err})")
            written = convert(inputs, out, progress=False, overwrite=True, **options)
    except LockedError as err:
        raise LockedError(
            f"sample '{s.process}': its cache folder is in use by a job outside this task's "
            f"finetunes ({str(err).partition('; ')[0]}); wait for that job to end"
        ) from None
    for old in sorted(set(out.glob(f"*{SHARD_SUFFIX}")) - set(written)):
        log(f"sample '{s.process}': removing {old.name} (its input is no longer in the sample)")
        old.unlink()
        record_path(old).unlink(missing_ok=True)
    return written
