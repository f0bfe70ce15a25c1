"""One entry point for every input format: :func:`read_events` and :func:`convert`."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import astuple, fields
from glob import escape as glob_escape
from pathlib import Path

import awkward as ak
import pyarrow.parquet as pq

from .._core.errors import DatasetError, InputError, SchemaError, StaleOutputError
from .._core.fileio import clip
from .._core.provenance import file_identity, fingerprint
from ._uproot import open_tree
from .delphes import read_delphes
from .manifest import MANIFEST, check_manifest
from .nanoaod import read_nanoaod
from .ntuple import load_branch_map, read_ntuple
from .parquet import (
    SHARD_SUFFIX,
    check_duplicates,
    current_names,
    dataset_files,
    iter_shard_chunks,
    read_shard,
    read_shards,
    read_source_span,
    record_path,
    shard_paths,
    with_process,
    write_events,
)
from .schema import validate
from .selection import SelectionCuts

FORMATS = ("auto", "parquet", "delphes", "nanoaod", "ntuple")

MAX_FILE_GB_ENV = "EVENTGNN_MAX_FILE_GB"
DEFAULT_MAX_FILE_GB = 100.0
"""Largest input file read (GiB) unless ``EVENTGNN_MAX_FILE_GB`` says otherwise."""


def max_file_bytes() -> float:
    """The input-file size limit in bytes (``EVENTGNN_MAX_FILE_GB``, default 100 GiB)."""
    value = os.environ.get(MAX_FILE_GB_ENV, "")
    try:
        gb = float(value) if value else DEFAULT_MAX_FILE_GB
    except ValueError:
        raise ValueError(
            f"{MAX_FILE_GB_ENV}: expected a number of GiB, got {clip(value)!r}"
        ) from None
    if not gb > 0:
        raise ValueError(f"{MAX_FILE_GB_ENV}: expected a positive number of GiB, got {gb}")
    return gb * 2**30


def input_files(paths, exclude: str | os.PathLike | None = None) -> list[Path]:
    """The files ``paths`` name, each once, in reading order: files as given, folders expanded
    to their ``.parquet`` and ``.root`` files (recursively, sorted; symbolic links to folders
    followed, each folder once; hidden files and folders skipped; a folder ``x.parquet`` read
    as one Parquet dataset of its part files; see :func:`~eventgnn.events.parquet.dataset_files`).

    A file reached twice (given twice, or through a link) is read once. ``exclude``: a folder
    whose files are never inputs (``convert`` excludes its output folder); a file given
    explicitly inside it is an error. A ROOT file together with Parquet shards converted from
    it (their records name it) is an error, as is a file larger than ``EVENTGNN_MAX_FILE_GB``,
    and a folder whose shards differ from its generation manifest
    (:func:`~eventgnn.events.manifest.check_manifest`).
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    skip = Path(exclude).resolve() if exclude is not None else None
    out: dict[Path, Path] = {}  # resolved -> as found, in order
    for p in map(Path, paths):
        try:
            exists = p.exists()
        except OSError as err:  # a name too long, a permission denied on the way
            raise FileNotFoundError(f"{clip(p)}: {err.strerror}") from None
        if not exists:
            raise FileNotFoundError(f"{clip(p)}: no such file or directory")
        if p.is_dir():
            found = dataset_files(p, (SHARD_SUFFIX, ".root"), exclude=skip)
            if not found:
                raise InputError(f"{clip(p)}: folder holds no .parquet or .root files")
            if (p / MANIFEST).is_file():  # made by array jobs: all of them, each once
                check_manifest(p, found)
        else:
            if skip is not None and p.resolve().is_relative_to(skip):
                raise InputError(f"{clip(p)}: is inside the output folder {clip(exclude)}")
            found = [p]
        for f in found:
            out.setdefault(f.resolve(), f)
    limit = max_file_bytes()
    for f in out.values():
        size = f.stat().st_size
        if size > limit:
            raise InputError(
                f"{clip(f)}: {size / 2**30:.1f} GiB, more than the limit of {limit / 2**30:g} "
                f"GiB per input file ({MAX_FILE_GB_ENV}); split it, or raise the limit"
            )
    _check_converted_twice(out)
    return list(out.values())


def _check_converted_twice(files: dict[Path, Path]) -> None:
    """A ROOT file and shards converted from it must not both be inputs (same events twice).
    The shards' records name their input; read only when ROOT files are among the inputs."""
    roots = {r for r in files if r.suffix == ".root"}
    if not roots:
        return
    for shard in files.values():
        rec = record_path(shard)
        if shard.suffix != SHARD_SUFFIX or not rec.is_file():
            continue
        try:
            source = Path(json.loads(rec.read_text())["input"]["path"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if source in roots:
            raise InputError(
                f"{clip(files[source])} and {clip(shard)} (converted from it) are both inputs: "
                "the same events would be read twice; give the ROOT file or its shards"
            )


def detect_format(path: str | os.PathLike, tree: str | None = None) -> str:
    """Recognise a file: Parquet by suffix, ROOT files by their trees and branches. ``tree``
    (the reader option): the tree to look at instead of ``Delphes`` or ``Events``; a NanoAOD or
    Delphes file whose tree has another name is recognised by that tree's branches."""
    path = Path(path)
    if path.suffix == SHARD_SUFFIX:
        return "parquet"
    if path.suffix != ".root":
        raise InputError(f"{path}: unknown file type (expected .parquet or .root)")
    import uproot  # 1.5 s to import: paid on the first ROOT read, never by Parquet-only use

    try:
        with uproot.open(path) as f:
            names = {k.split(";")[0] for k in f.keys(recursive=False)}
            if tree is not None:
                return _tree_format(f, names, tree, path)
            if "Delphes" in names:
                return "delphes"
            if "Events" in names and "nJet" in f["Events"].keys():
                return "nanoaod"
    except InputError:
        raise
    except Exception as err:  # uproot raises ValueError, OSError or struct errors on bad files
        why = " ".join(str(err).split())  # one line: uproot's messages span several
        raise InputError(f"{path}: not a readable ROOT file ({why})") from err
    return "ntuple"


def _tree_format(f, names: set[str], tree: str, path: Path) -> str:
    """The format of the open ROOT file ``f`` read from its tree ``tree``: NanoAOD when the tree
    has ``nJet``, Delphes when it has ``Jet.PT``, else a flat ntuple."""
    if tree not in names:
        raise InputError(
            f"{path}: no tree '{tree}' (option 'tree'; the file holds "
            f"{', '.join(sorted(names)) or 'nothing'})"
        )
    keys = {k.split("/")[-1] for k in f[tree].keys()}
    if "nJet" in keys:
        return "nanoaod"
    if "Jet.PT" in keys:
        return "delphes"
    return "ntuple"


def read_file(
    path: str | os.PathLike, format: str = "auto", keep_empty: bool = False, **options
) -> ak.Array:
    """Read one file into the event record. ``options`` go to the format's reader;
    ``keep_empty``: keep the events with no selected object (ROOT inputs: one row per entry).

    Every failure is an :class:`InputError` (or :class:`~eventgnn.events.schema.SchemaError`)
    naming the file: a corrupt file that uproot still opens can fail deep inside awkward (for
    example branches of one collection with different counts), and that is reported as a bad
    file, not as an internal error.
    """

    path = Path(path)
    fmt = detect_format(path, options.get("tree")) if format == "auto" else format
    try:
        return _read_file(path, fmt, keep_empty, **options)
    except (InputError, SchemaError, FileNotFoundError):
        raise
    except Exception as err:
        why = " ".join(f"{type(err).__name__}: {err}".split())
        raise InputError(
            f"{path}: cannot read it as a {fmt} file; truncated or corrupt? ({why[:300]})"
        ) from err


READER_OPTIONS: dict[str, tuple[str, ...]] = {
    "parquet": ("process",),
    "delphes": ("process", "cuts", "tree", "btag_bit", "entries", "weight_branch"),
    "nanoaod": (
        "process",
        "cuts",
        "tree",
        "btag_branch",
        "btag_threshold",
        "entries",
        "weight_branch",
    ),
    "ntuple": ("process", "cuts", "branch_map", "entries", "weight_branch"),
}
"""The options each format's reader takes."""


def _read_file(path: Path, fmt: str, keep_empty: bool = False, **options) -> ak.Array:
    if fmt not in READER_OPTIONS:
        raise InputError(f"{path}: unknown format '{fmt}' (expected one of {', '.join(FORMATS)})")
    check_readable(path, fmt, options)
    if keep_empty and fmt != "parquet":  # a shard holds no empty events: its rows as they are
        options = {**options, "keep_empty": True}
    reader = {
        "parquet": read_shard,
        "delphes": read_delphes,
        "nanoaod": read_nanoaod,
        "ntuple": read_ntuple,
    }[fmt]
    return reader(path, **options)


def check_readable(path: Path, fmt: str, options: dict) -> None:
    """Can ``path`` be read as ``fmt`` with ``options``? Without reading it: an option the format
    cannot use or a value out of range (:func:`check_reader_options`), or a flat ntuple without
    a branch map, is an :class:`InputError` naming the file (``predict`` checks every input
    before scoring any)."""
    if fmt == "ntuple" and options.get("branch_map") is None:
        raise not_recognised(path)
    _check_options(path, fmt, options, READER_OPTIONS[fmt])


def not_recognised(path: Path) -> InputError:
    """The error for a ROOT file that is neither Delphes nor NanoAOD, read without a branch
    map: what was looked for, and what the file holds."""
    import uproot

    try:
        with uproot.open(path) as f:
            held = ", ".join(
                f"{k.split(';')[0]} ({c})" for k, c in f.classnames(recursive=False).items()
            )
    except Exception as err:  # uproot raises ValueError, OSError or struct errors on bad files
        why = " ".join(str(err).split())
        return InputError(f"{path}: not a readable ROOT file ({why})")
    return InputError(
        f"{path}: not a Delphes or NanoAOD file (looked for a tree 'Delphes', or a tree 'Events' "
        f"with a branch 'nJet'; the file holds {clip(held or 'nothing')}); reading it as a flat "
        "ntuple needs a branch map (--branch-map YAML)"
    )


def _check_options(path: Path, fmt: str, options: dict, accepted: tuple[str, ...]) -> None:
    """An option the format cannot use is an error, not silently ignored (a ``--branch-map``
    given for what turns out to be a Delphes file would otherwise do nothing); so is a value of
    the wrong type or range (:func:`check_reader_options`)."""
    unused = sorted(k for k, v in options.items() if v is not None and k not in accepted)
    if unused:
        raise InputError(
            f"{path}: option '{unused[0]}' does not apply to {fmt} files "
            f"(they take {', '.join(accepted) or 'no options'})"
        )
    check_reader_options(options, str(path))


def check_reader_options(options: dict, where: str) -> None:
    """Each reader option's value by type and range: an :class:`InputError` naming ``where``, the
    option, what is expected and the value given (None values are options not given)."""
    for name, value in options.items():
        check = _OPTION_CHECKS.get(name)
        problem = check(value) if check is not None and value is not None else ""
        if problem:
            raise InputError(f"{where}: option '{name}': {problem}")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _name_check(value) -> str:
    ok = isinstance(value, str) and value.strip()
    return "" if ok else f"expected a non-empty name, got {value!r}"


def _threshold_check(value) -> str:
    ok = _is_number(value) and 0 <= value <= 1
    return "" if ok else f"expected a number in [0, 1] (a discriminant's cut), got {value!r}"


def _bit_check(value) -> str:
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 32
    return "" if ok else f"expected a bit of Delphes' Jet.BTag from 0 to 31, got {value!r}"


def _cuts_check(value) -> str:
    try:
        cuts = SelectionCuts.from_mapping(value, "cuts")
    except ValueError as err:
        return str(err).removeprefix("cuts: ")
    for f, v in zip(fields(cuts), astuple(cuts), strict=True):
        if not all(x >= 0 for x in (v if isinstance(v, tuple) else (v,))):
            return f"cut '{f.name}': expected a threshold of at least 0, got {v!r}"
    if not cuts.crack[0] <= cuts.crack[1]:
        return f"cut 'crack': expected [low, high] with low <= high, got {list(cuts.crack)}"
    return ""


def _branch_map_check(value) -> str:
    ok = isinstance(value, (str, os.PathLike, dict)) and value != ""
    return "" if ok else f"expected a branch map (a YAML file's path or a mapping), got {value!r}"


_OPTION_CHECKS = {
    "process": _name_check,
    "tree": _name_check,
    "btag_branch": _name_check,
    "weight_branch": _name_check,
    "btag_threshold": _threshold_check,
    "btag_bit": _bit_check,
    "cuts": _cuts_check,
    "branch_map": _branch_map_check,
}
"""Reader options -> a check returning "" or what is wrong (expected, got)."""


def read_events(paths, format: str = "auto", keep_empty: bool = False, **options) -> ak.Array:
    """Read files or folders of any supported format into one event-record array.

    ``format``: ``auto`` (recognise each file), ``parquet``, ``delphes``, ``nanoaod`` or
    ``ntuple``. Reader options: ``process`` (name stored in the record; default the file stem),
    ``branch_map`` (YAML path or dict, ntuples), ``btag_branch``/``btag_threshold`` (NanoAOD).
    ``keep_empty``: keep the events the selection leaves without objects (no warning), so a ROOT
    file gives one row per entry, aligned with its other branches (such rows have no objects;
    :meth:`EventClassifier.predict` gives them NaN); Parquet shards hold no such events.
    """
    files = input_files(paths)
    if format in ("auto", "parquet") and all(p.suffix == SHARD_SUFFIX for p in files):
        _check_options(files[0], "parquet", options, READER_OPTIONS["parquet"])
        events = read_shards(files)  # parallel reads, one conversion and one check
        if options.get("process") is not None:
            events = with_process(events, options["process"])
    else:
        arrays = [read_file(path, format, keep_empty, **options) for path in files]
        events = arrays[0] if len(arrays) == 1 else ak.concatenate(arrays, axis=0)
    if len(events) == 0:
        raise no_events(paths, files)
    return events


def no_events(paths, files: list[Path]) -> DatasetError:
    """The error for data that holds no event at all (a folder of empty shards)."""
    what = clip(paths if isinstance(paths, (str, os.PathLike)) else ", ".join(map(str, paths)))
    return DatasetError(f"{what}: no events in its {len(files)} file(s)")


def count_entries(path: str | os.PathLike, format: str = "auto", **options) -> int:
    """Number of entries (events before selection) of one input file, read from its metadata."""
    path = Path(path)
    fmt = detect_format(path, options.get("tree")) if format == "auto" else format
    if fmt == "parquet":
        try:
            return pq.ParquetFile(path).metadata.num_rows
        except Exception as err:
            raise SchemaError(str(path), "<file>", f"not a readable Parquet file ({err})") from err
    tree = tree_name(path, fmt, options)
    if tree is None:  # an ntuple without a branch map
        raise not_recognised(path)
    with open_tree(path, tree, fmt) as t:
        return int(t.num_entries)


def tree_name(path: Path, fmt: str, options: dict) -> str | None:
    """The TTree a ROOT file of format ``fmt`` is read from: the ``tree`` option, else the
    format's own (Delphes ``Delphes``, NanoAOD ``Events``), for an ntuple its branch map's
    (None without a branch map)."""
    if fmt == "ntuple":
        if options.get("branch_map") is None:
            return None
        return load_branch_map(options["branch_map"], str(path))["tree"]
    return options.get("tree") or {"delphes": "Delphes", "nanoaod": "Events"}.get(fmt, "")


CONVERT_CHUNK_EVENTS = 500_000
"""Entries :func:`convert` reads at a time (one shard each), so its memory stays bounded whatever
the input size (docs/reliability.md: at most 1.6 GiB)."""


def iter_event_chunks(
    data: str | os.PathLike | Iterable[str | os.PathLike],
    chunk_size: int | None,
) -> Iterator[ak.Array]:
    """The events of ``data`` in chunks of at most ``chunk_size`` (None: everything at once, as
    :func:`read_events` returns it), in :func:`read_events` order. Parquet shards are read a few
    row groups at a time, ROOT files (Delphes, NanoAOD) ``chunk_size`` tree entries at a time."""
    if chunk_size is None:
        yield read_events(data)
        return
    if chunk_size < 1:
        raise ValueError(f"chunk size must be at least 1, got {chunk_size}")
    files = input_files(data)
    shards = [p for p in files if p.suffix == SHARD_SUFFIX]
    if len(shards) > 1:  # the same events in two shards: refused, as read_events does
        check_duplicates(shards, [read_source_span(p) for p in shards])
    n_events = 0
    for path in files:
        if path.suffix == SHARD_SUFFIX:
            parts = iter_shard_chunks(path, chunk_size)
        else:
            n = count_entries(path)
            parts = (read_file(path, entries=(a, a + chunk_size)) for a in range(0, n, chunk_size))
        for part in parts:
            n_events += len(part)
            for start in range(0, len(part), chunk_size):
                yield part[start : start + chunk_size]
    if n_events == 0:
        raise no_events(data, files)


def convert(
    inputs: Iterable[str | os.PathLike],
    out: str | os.PathLike,
    format: str = "auto",
    progress: bool = True,
    chunk_size: int | None = CONVERT_CHUNK_EVENTS,
    overwrite: bool = False,
    **options,
) -> list[Path]:
    """Convert input files to Parquet shards in ``out``.

    A file of up to ``chunk_size`` entries becomes one shard ``<stem>-<id>.parquet``, where
    ``<id>`` is a fingerprint of the file's resolved path: two ``events.root`` from different
    folders get different shards, and a file keeps its shard name when others are added to a
    folder. A larger file is read ``chunk_size`` entries at a time (ROOT: an entry range;
    Parquet: row groups) into shards ``<stem>-<id>.cKKKK.parquet``, so memory stays bounded.
    ``chunk_size`` None: whole files.

    Beside each shard, ``<name>.record.json`` records what made it (the input's path, size and
    modification time, the format, the reader options with defaults filled in, the entry range
    and the eventgnn version). A rerun reuses a shard whose record equals the one it would
    write, so an interrupted conversion resumes at the first missing chunk; a shard made from
    other inputs or options is an error (:class:`~eventgnn._core.errors.StaleOutputError` naming the
    differences) unless ``overwrite``, which remakes it. The job holds ``out``'s lock
    (:func:`eventgnn._core.provenance.lock`) throughout; files under ``out`` are never inputs.
    """
    from tqdm.auto import tqdm

    from .._core.fileio import remove_stale_temporaries
    from .._core.provenance import lock

    out = Path(out)
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"chunk size must be at least 1, got {chunk_size}")
    created = not out.exists()
    try:
        with lock(out, "convert"):
            remove_stale_temporaries(out)  # left by a killed job; nobody else writes here now
            files = input_files(inputs, exclude=out)
            written = []
            for path in tqdm(files, desc="convert", unit="file", disable=not progress):
                written += _convert_file(path, out, format, chunk_size, overwrite, options)
    except BaseException:
        if created:  # a failed first conversion leaves no empty folder behind
            _remove_if_empty(out)
        raise
    return written


def _convert_file(
    path: Path, out: Path, format: str, chunk_size: int | None, overwrite: bool, options: dict
) -> list[Path]:
    from .._core.provenance import check_record, write_record
    from .._core.version import __version__

    fmt = detect_format(path, options.get("tree")) if format == "auto" else format
    if fmt in READER_OPTIONS:  # an option the format cannot use: before anything is reused
        _check_options(path, fmt, options, READER_OPTIONS[fmt])
    n = count_entries(path, fmt, **options) if chunk_size is not None else -1
    stem = shard_stem(path)
    if chunk_size is None or n <= chunk_size:  # one shard for the whole file
        plan = [(out / f"{stem}{SHARD_SUFFIX}", None)]
    else:
        plan = [
            (out / f"{stem}.c{k:04d}{SHARD_SUFFIX}", (start, min(start + chunk_size, n)))
            for k, start in enumerate(range(0, n, chunk_size))
        ]
    remedy = "rerun with --overwrite to remake it, or convert into another --out"
    others = {
        p
        for suffix in (SHARD_SUFFIX, f".c*{SHARD_SUFFIX}")
        for p in out.glob(glob_escape(stem) + suffix)
    } - {target for target, _ in plan}
    if others and not overwrite:  # the same input cut into other chunks: its events twice
        raise StaleOutputError(
            f"{out} holds shards of {clip(path)} cut into other chunks ({clip(min(others).name)}"
            f"{f' and {len(others) - 1} more' if len(others) > 1 else ''}; another "
            f"--chunk-size?); {remedy}"
        )
    for p in others:
        p.unlink()
        record_path(p).unlink(missing_ok=True)
    base = {
        "made_by": "eventgnn convert",
        "eventgnn": __version__,
        "input": file_identity(path),
        "format": fmt,
        "reader_options": reader_options(path, fmt, options),
    }
    for target, entries in plan:
        record = {**base, "entries": "all" if entries is None else list(entries)}
        rec = record_path(target)
        if overwrite:
            target.unlink(missing_ok=True)
        elif target.exists():
            if not rec.exists():
                raise StaleOutputError(
                    f"{target}: exists without a record of what made it (an older eventgnn, "
                    f"or copied here); {remedy}"
                )
            if check_record(rec, record, f"shard {target}", remedy):
                continue
        events = (
            read_file(path, fmt, **options)
            if entries is None
            else _read_chunk(path, fmt, entries[0], entries[1], options)
        )
        write_record(rec, record)  # first: the shard's existence marks the pair finished
        write_events(events, target)
    return [target for target, _ in plan]


def shard_stem(path: Path) -> str:
    """``<stem>-<fingerprint of the resolved path>``: unique per input file, stable when other
    files are added (long stems are cut to 80 characters)."""
    return f"{path.stem[:80]}-{fingerprint(str(path.resolve()), 10)}"


def reader_options(path: Path, fmt: str, options: dict) -> dict:
    """The reader options that decide a shard's content, as plain values, with the reader's
    defaults filled in (so a record says which b-tag working point was used even when none was
    given); a branch map is recorded by its content."""
    from dataclasses import asdict, is_dataclass

    from .nanoaod import DEFAULT_BTAG_BRANCH, DEFAULT_BTAG_THRESHOLD

    rec = {k: v for k, v in options.items() if v is not None}
    if fmt != "parquet":
        rec["process"] = rec.get("process") or path.stem
    if fmt == "nanoaod":
        rec.setdefault("btag_branch", DEFAULT_BTAG_BRANCH)
        rec.setdefault("btag_threshold", DEFAULT_BTAG_THRESHOLD)
    if fmt == "delphes":
        rec.setdefault("btag_bit", 0)
    if "branch_map" in rec:
        rec["branch_map"] = {"content": fingerprint(load_branch_map(rec["branch_map"], str(path)))}
    if "cuts" in rec and is_dataclass(rec["cuts"]):
        rec["cuts"] = asdict(rec["cuts"])
    return rec


def _remove_if_empty(folder: Path) -> None:
    """Remove ``folder`` if it holds nothing but the lock file (a job failed before writing)."""
    from .._core.provenance import LOCK_NAME

    try:
        if {p.name for p in folder.iterdir()} <= {LOCK_NAME}:
            (folder / LOCK_NAME).unlink(missing_ok=True)
            folder.rmdir()
    except OSError:
        pass


def _read_chunk(path: Path, fmt: str, start: int, stop: int, options: dict) -> ak.Array:
    """Entries ``[start, stop)`` of one file."""
    if fmt == "parquet":
        return _parquet_rows(path, start, stop)
    return read_file(path, fmt, entries=(start, stop), **options)


def _parquet_rows(path: Path, start: int, stop: int) -> ak.Array:
    """Rows ``[start, stop)`` of a Parquet shard, reading only the row groups that hold them."""
    meta = pq.ParquetFile(path).metadata
    groups, first, row = [], None, 0
    for g in range(meta.num_row_groups):
        n = meta.row_group(g).num_rows
        if row + n > start and row < stop:
            groups.append(g)
            first = row if first is None else first
        row += n
    events = current_names(ak.from_parquet(path, row_groups=groups))
    return validate(events[start - first : stop - first], str(path))


__all__ = [
    "CONVERT_CHUNK_EVENTS",
    "input_files",
    "iter_event_chunks",
    "read_events",
    "read_file",
    "convert",
    "count_entries",
    "detect_format",
    "shard_paths",
]
