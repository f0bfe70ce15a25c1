"""One entry point for every input format: :func:`read_events` and :func:`convert`."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import awkward as ak
import pyarrow.parquet as pq

from ..errors import InputError, SchemaError
from ._uproot import open_tree
from .delphes import read_delphes
from .nanoaod import read_nanoaod
from .ntuple import load_branch_map, read_ntuple
from .parquet import (
    SHARD_SUFFIX,
    iter_shard_chunks,
    read_shard,
    read_shards,
    shard_paths,
    write_events,
)
from .schema import validate

FORMATS = ("auto", "parquet", "delphes", "nanoaod", "ntuple")


def input_files(paths) -> list[Path]:
    """The files ``paths`` name, in reading order: files as given, folders expanded to their
    ``.parquet`` and ``.root`` files (recursively, sorted, hidden files skipped)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[Path] = []
    for p in map(Path, paths):
        if not p.exists():
            raise FileNotFoundError(f"{p}: no such file or directory")
        if p.is_dir():
            found = sorted(
                q
                for q in p.rglob("*")
                if q.suffix in (SHARD_SUFFIX, ".root") and not q.name.startswith(".")
            )
            if not found:
                raise InputError(f"{p}: folder holds no .parquet or .root files")
            out += found
        else:
            out.append(p)
    return out


def detect_format(path: str | os.PathLike) -> str:
    """Recognise a file: Parquet by suffix, ROOT files by their trees and branches."""
    path = Path(path)
    if path.suffix == SHARD_SUFFIX:
        return "parquet"
    if path.suffix != ".root":
        raise InputError(f"{path}: unknown file type (expected .parquet or .root)")
    import uproot  # 1.5 s to import: paid on the first ROOT read, never by Parquet-only use

    try:
        with uproot.open(path) as f:
            names = {k.split(";")[0] for k in f.keys(recursive=False)}
            if "Delphes" in names:
                return "delphes"
            if "Events" in names and "nJet" in f["Events"].keys():
                return "nanoaod"
    except Exception as err:  # uproot raises ValueError, OSError or struct errors on bad files
        why = " ".join(str(err).split())  # one line: uproot's messages span several
        raise InputError(f"{path}: not a readable ROOT file ({why})") from err
    return "ntuple"


def read_file(path: str | os.PathLike, format: str = "auto", **options) -> ak.Array:
    """Read one file into the event record. ``options`` go to the format's reader.

    Every failure is an :class:`InputError` (or :class:`~eventgnn.events.schema.SchemaError`)
    naming the file: a corrupt file that uproot still opens can fail deep inside awkward (for
    example branches of one collection with different counts), and that is reported as a bad
    file, not as an internal error.
    """

    path = Path(path)
    fmt = detect_format(path) if format == "auto" else format
    try:
        return _read_file(path, fmt, **options)
    except (InputError, SchemaError, FileNotFoundError):
        raise
    except Exception as err:
        why = " ".join(f"{type(err).__name__}: {err}".split())
        raise InputError(
            f"{path}: cannot read it as a {fmt} file; truncated or corrupt? ({why[:300]})"
        ) from err


def _read_file(path: Path, fmt: str, **options) -> ak.Array:
    if fmt == "parquet":
        _check_options(path, fmt, options, ())
        return read_shard(path)
    if fmt == "delphes":
        _check_options(path, fmt, options, ("process", "cuts", "tree", "btag_bit", "entries"))
        return read_delphes(path, **options)
    if fmt == "nanoaod":
        _check_options(
            path,
            fmt,
            options,
            ("process", "cuts", "tree", "btag_branch", "btag_threshold", "entries"),
        )
        return read_nanoaod(path, **options)
    if fmt == "ntuple":
        if options.get("branch_map") is None:
            raise InputError(
                f"{path}: not a Delphes or NanoAOD file; reading it as a flat ntuple needs a "
                "branch map (--branch-map YAML)"
            )
        _check_options(path, fmt, options, ("process", "cuts", "branch_map", "entries"))
        return read_ntuple(path, **options)
    raise InputError(f"{path}: unknown format '{fmt}' (expected one of {', '.join(FORMATS)})")


def _check_options(path: Path, fmt: str, options: dict, accepted: tuple[str, ...]) -> None:
    """An option the format cannot use is an error, not silently ignored (a ``--branch-map``
    given for what turns out to be a Delphes file would otherwise do nothing)."""
    unused = sorted(k for k, v in options.items() if v is not None and k not in accepted)
    if unused:
        raise InputError(
            f"{path}: option '{unused[0]}' does not apply to {fmt} files "
            f"(they take {', '.join(accepted) or 'no options'})"
        )


def read_events(paths, format: str = "auto", **options) -> ak.Array:
    """Read files or folders of any supported format into one event-record array.

    ``format``: ``auto`` (recognise each file), ``parquet``, ``delphes``, ``nanoaod`` or
    ``ntuple``. Reader options: ``process`` (name stored in the record; default the file stem),
    ``branch_map`` (YAML path or dict, ntuples), ``btag_branch``/``btag_threshold`` (NanoAOD).
    """
    files = input_files(paths)
    if format in ("auto", "parquet") and all(p.suffix == SHARD_SUFFIX for p in files):
        _check_options(files[0], "parquet", options, ())
        return read_shards(files)  # parallel reads, one conversion and one check
    arrays = [read_file(path, format, **options) for path in files]
    if len(arrays) == 1:
        return arrays[0]
    return ak.concatenate(arrays, axis=0)


def count_entries(path: str | os.PathLike, format: str = "auto", **options) -> int:
    """Number of entries (events before selection) of one input file, read from its metadata."""
    path = Path(path)
    fmt = detect_format(path) if format == "auto" else format
    if fmt == "parquet":
        try:
            return pq.ParquetFile(path).metadata.num_rows
        except Exception as err:
            raise SchemaError(str(path), "<file>", f"not a readable Parquet file ({err})") from err
    if fmt == "ntuple":
        if options.get("branch_map") is None:
            return -1  # read_file gives the proper error
        tree = load_branch_map(options["branch_map"], str(path))["tree"]
    else:
        tree = options.get("tree") or {"delphes": "Delphes", "nanoaod": "Events"}.get(fmt, "")
    with open_tree(path, tree, fmt) as t:
        return int(t.num_entries)


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
    for path in input_files(data):
        if path.suffix == SHARD_SUFFIX:
            parts = iter_shard_chunks(path, chunk_size)
        else:
            n = count_entries(path)
            parts = (read_file(path, entries=(a, a + chunk_size)) for a in range(0, n, chunk_size))
        for part in parts:
            for start in range(0, len(part), chunk_size):
                yield part[start : start + chunk_size]


def convert(
    inputs: Iterable[str | os.PathLike],
    out: str | os.PathLike,
    format: str = "auto",
    progress: bool = True,
    chunk_size: int | None = CONVERT_CHUNK_EVENTS,
    **options,
) -> list[Path]:
    """Convert input files to Parquet shards in ``out``.

    A file of up to ``chunk_size`` entries becomes one shard ``NNNNN_<stem>.parquet``; a larger
    one is read ``chunk_size`` entries at a time (ROOT: an entry range; Parquet: row groups) into
    shards ``NNNNN_<stem>.cKKKK.parquet``, so memory stays bounded. ``chunk_size`` None: whole
    files. Finished shards are skipped on a rerun (each is written atomically), so an interrupted
    conversion resumes at the first missing chunk.
    """
    from tqdm.auto import tqdm

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = input_files(inputs)
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"chunk size must be at least 1, got {chunk_size}")
    written = []
    bar = tqdm(files, desc="convert", unit="file", disable=not progress)
    for i, path in enumerate(bar):
        fmt = detect_format(path) if format == "auto" else format
        n = count_entries(path, fmt, **options) if chunk_size is not None else -1
        if chunk_size is None or n <= chunk_size:  # one shard for the whole file
            target = out / f"{i:05d}_{path.stem}{SHARD_SUFFIX}"
            if not target.exists():
                write_events(read_file(path, fmt, **options), target)
            written.append(target)
            continue
        for k, start in enumerate(range(0, n, chunk_size)):
            target = out / f"{i:05d}_{path.stem}.c{k:04d}{SHARD_SUFFIX}"
            if not target.exists():
                write_events(_read_chunk(path, fmt, start, start + chunk_size, options), target)
            written.append(target)
    return written


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
    events = ak.from_parquet(path, row_groups=groups)
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
