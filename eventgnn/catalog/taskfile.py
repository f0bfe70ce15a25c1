"""Task files: your own signal and background samples, by files, folders or globs.

A task file names the samples of a binary task (``eventgnn finetune --task my_task.yaml``)::

    name: my_analysis                     # optional; default: the file's stem
    signal:
      - files: [sig/*.root]               # files, folders or globs (relative to this file)
        process: my_signal                # optional; default: the stem of the first file
        options: {btag_branch: Jet_btagCSVV2, btag_threshold: 0.8}   # reader options
                                          # (cuts: {jet_pt: 30}; branch_map: relative to this file)
        weight: genWeight                 # optional per-event weight branch
        scale: 0.35                       # optional factor on every weight (say sigma * L / N)
    background:
      - files: [bkg_a/*.root]
      - process: ttbar                    # a process of --data (or of the built-in data)

Each sample is one process. Samples with files are converted once (:func:`stage`) into Parquet
shards under ``$EVENTGNN_CACHE/tasks/<name>/<process>/``, with the usual records beside them: a
rerun reuses shards whose inputs and options are unchanged and remakes the others; shards of
files no longer in a sample are removed. Samples with only a ``process`` are taken from ``--data``
(or the built-in downstream data). A file in two samples, or one process name for two samples, is
an error: the same events would be signal and background at once.

``eventgnn finetune --signal PATH... --background PATH...`` is the same with one sample per side,
named ``signal`` and ``background``.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .._core.errors import CatalogError, StaleOutputError
from .._core.fileio import read_yaml, safe_name
from ..events.io import READER_OPTIONS, convert, input_files
from ..events.parquet import SHARD_SUFFIX, record_path
from ..events.selection import SelectionCuts
from .processes import Task

SAMPLE_KEYS = ("files", "process", "options", "weight", "scale")
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
    """True when ``--task`` names a YAML file rather than a catalog task."""
    return name.endswith((".yaml", ".yml"))


def load_task_file(path: str | os.PathLike) -> TaskFile:
    """Read and check a task file; file patterns are made absolute relative to its folder."""
    path = Path(path)
    data = read_yaml(path, CatalogError, "task file")
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: expected a mapping with signal and background samples")
    _unknown(data, TASK_KEYS, str(path))
    name = data.get("name", path.stem)
    try:
        safe_name(name, "task name")
    except ValueError as err:
        raise CatalogError(f"{path}: field 'name': {err}") from None
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
    options = _sample_options(options, where, base)
    weight = entry.get("weight")
    if weight is not None and not isinstance(weight, str):
        raise CatalogError(f"{where}: field 'weight': expected a branch name")
    scale = entry.get("scale", 1.0)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale == scale:
        raise CatalogError(f"{where}: field 'scale': expected a number, got {scale!r}")
    if not files and (options or weight is not None):
        raise CatalogError(
            f"{where}: 'options' and 'weight' apply to files; process '{process}' comes from "
            "the data as it was converted or generated"
        )
    return Sample(process, files, options, weight, float(scale))


def expand(patterns: tuple[str, ...], where: str) -> list[str]:
    """Each pattern's matches (globs sorted, ``**`` recursive); a pattern matching nothing is an
    error naming it."""
    out = []
    for pattern in patterns:
        found = sorted(glob.glob(pattern, recursive=True)) if glob.has_magic(pattern) else [pattern]
        if not found or not all(os.path.exists(f) for f in found):
            raise CatalogError(f"{where}: '{pattern}' matches no file or folder")
        out += found
    return out


def _check_distinct(task: TaskFile, where: str) -> None:
    """No process name twice and no input file in two samples."""
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
        for f in input_files(expand(s.files, where)):
            other = owner.setdefault(f.resolve(), s.process)
            if other != s.process:
                raise CatalogError(
                    f"{where}: {f} is in sample '{other}' and in sample '{s.process}'; its "
                    "events would be counted twice"
                )


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
    return out


def stage(task: TaskFile, folder: str | os.PathLike, log: Callable[[str], None] = print) -> list:
    """Convert the samples with files into Parquet shards under ``folder/<process>/`` and return
    the shards, in sample order (see the module docstring for reuse and removal)."""
    shards: list[Path] = []
    for s in task.samples:
        if not s.files:
            continue
        out = Path(folder) / s.process
        inputs = expand(s.files, f"sample '{s.process}'")
        options = {**s.options, "process": s.process}
        if "cuts" in options:
            options["cuts"] = SelectionCuts.from_mapping(options["cuts"], s.process)
        if s.weight is not None:
            options["weight_branch"] = s.weight
        try:
            written = convert(inputs, out, progress=False, **options)
        except StaleOutputError as err:
            log(f"sample '{s.process}': its inputs or options changed, converting again ({err})")
            written = convert(inputs, out, progress=False, overwrite=True, **options)
        for old in sorted(set(out.glob(f"*{SHARD_SUFFIX}")) - set(written)):
            log(f"sample '{s.process}': removing {old.name} (its input is no longer in the sample)")
            old.unlink()
            record_path(old).unlink(missing_ok=True)
        shards += written
    return shards
