"""Sharded Parquet storage of the event record (awkward <-> Parquet)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import awkward as ak
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import DatasetError, SchemaError
from ..fileio import atomic_path, clip
from ..system import cpu_count
from .schema import validate

SHARD_SUFFIX = ".parquet"
RECORD_SUFFIX = ".record.json"
"""A shard ``NAME.parquet`` has its record (what made it) in ``NAME.record.json``."""


def record_path(shard: str | os.PathLike) -> Path:
    """The record file of a shard: ``x.parquet`` -> ``x.record.json``."""
    shard = Path(shard)
    return shard.with_name(shard.name.removesuffix(SHARD_SUFFIX) + RECORD_SUFFIX)


def dataset_files(
    folder: str | os.PathLike,
    suffixes: tuple[str, ...] = (SHARD_SUFFIX,),
    exclude: str | os.PathLike | None = None,
) -> list[Path]:
    """The data files under ``folder``, each once, sorted: files with one of ``suffixes``,
    following symbolic links to folders (a folder reached twice, for example through a link
    loop, is read once), skipping hidden files and folders and anything under ``exclude``.

    Only files are returned, so a folder named ``x.parquet`` (a Parquet *dataset* in the
    pyarrow/Spark layout) is read once, as its part files ``part-*.parquet`` (``_metadata``,
    ``_SUCCESS`` and ``.crc`` files are skipped). Raises ``FileNotFoundError`` for a missing
    ``folder``.
    """
    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(f"{clip(folder)}: no such file or directory")
    skip = Path(exclude).resolve() if exclude is not None else None
    seen_dirs: set[tuple[int, int]] = set()
    out = []
    for top, dirs, files in os.walk(folder, followlinks=True):
        st = os.stat(top)
        if (st.st_dev, st.st_ino) in seen_dirs:  # a link loop, or one folder linked twice
            dirs[:] = []
            continue
        seen_dirs.add((st.st_dev, st.st_ino))
        top = Path(top)
        if skip is not None and top.resolve().is_relative_to(skip):
            dirs[:] = []
            continue
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        out += [top / n for n in files if n.endswith(suffixes) and not n.startswith((".", "_"))]
    return sorted(out)


def write_events(events: ak.Array, path: str | os.PathLike) -> Path:
    """Validate and write one shard atomically (temporary file, then rename)."""
    path = Path(path)
    validate(events, str(path))
    with atomic_path(path) as tmp:  # a full disk is reported as "disk full writing PATH"
        ak.to_parquet(events, tmp, compression="zstd", row_group_size=65536)
    return path


def shard_paths(path: str | os.PathLike) -> list[Path]:
    """The shards of a dataset: ``path`` itself if a file, else its ``*.parquet`` files, sorted."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{clip(path)}: no such file or directory")
    if path.is_dir():
        shards = dataset_files(path)
        if not shards:
            raise FileNotFoundError(f"{path}: folder holds no {SHARD_SUFFIX} shards")
        return shards
    return [path]


def read_shard(path: str | os.PathLike) -> ak.Array:
    """Read and validate one Parquet shard."""
    return read_shards([path])


def _read_table(path: Path) -> pa.Table:
    try:
        return pq.read_table(path)
    except Exception as err:  # pyarrow raises several unrelated types for corrupt files
        raise SchemaError(str(path), "<file>", f"not a readable Parquet file ({err})") from err


def read_shards(paths: Sequence[str | os.PathLike], threads: int | None = None) -> ak.Array:
    """Read and validate Parquet shards into one array, in the order given.

    The shards are read by ``threads`` threads at once (default: one per CPU core, at most 32;
    pyarrow releases the GIL while it decodes), joined as Arrow tables, converted to awkward once
    and validated once: the fixed cost per shard of awkward conversion and validation (about
    10 ms) would otherwise dominate a dataset of thousands of small shards. When something is
    wrong, the shards are checked one by one so that the error names the file and its entry.
    """
    paths = [Path(p) for p in paths]
    if threads is None:
        threads = min(32, cpu_count())
    if len(paths) == 1 or threads <= 1:
        tables = [_read_table(p) for p in paths]
    else:
        with ThreadPoolExecutor(min(threads, len(paths))) as pool:
            tables = list(pool.map(_read_table, paths))
    check_duplicates(paths, [t.column("source") for t in tables if "source" in t.column_names])
    try:
        table = pa.concat_tables(tables)
    except pa.ArrowInvalid:  # the shards differ in Arrow details (nullability, metadata)
        arrays = [_events(t, str(p)) for p, t in zip(paths, tables, strict=True)]
        return ak.concatenate(arrays, axis=0)
    try:
        return _events(table, str(paths[0]) if len(paths) == 1 else "<shards>")
    except SchemaError:
        for path, table in zip(paths, tables, strict=True):  # name the shard and its entry
            _events(table, str(path))
        raise


def _events(table: pa.Table, where: str) -> ak.Array:
    """An Arrow table as a validated event-record array."""
    try:
        events = ak.from_arrow(table)
    except Exception as err:  # Arrow types awkward cannot represent
        raise SchemaError(where, "<file>", f"not an event record ({err})") from err
    return validate(events, where)


def read_sources(path: Path) -> pa.ChunkedArray:
    """The ``source`` column of one shard (for the duplicate check of streamed reads)."""
    try:
        return pq.read_table(path, columns=["source"])["source"]
    except Exception as err:
        raise SchemaError(str(path), "source", f"cannot read the column ({err})") from err


def check_duplicates(paths: Sequence[Path], sources: Sequence[pa.ChunkedArray]) -> None:
    """Refuse events that two shards both hold: the same ``source`` (``file:entry``, or
    ``generator:process:seed:event``) in two files means the same input read twice (a copied
    shard, overlapping conversions, a file converted into two folders). Refused, not dropped:
    which copy (with which process name or reader options) should win is the user's choice.

    Only files whose sources name one event each take part (hand-made shards, or shards of an
    older eventgnn that gave every generated event of a shard one source, cannot be told apart
    from their own chunks). Vectorised: one hash per distinct source."""
    if len(sources) < 2 or len(sources) != len(paths):
        return
    uniques = [pc.unique(c).cast(pa.large_string()) for c in sources]
    keyed = [(p, u) for p, u, c in zip(paths, uniques, sources, strict=True) if len(u) == len(c)]
    if len(keyed) < 2:
        return
    counts = pc.value_counts(pa.concat_arrays([u for _, u in keyed]))
    dup = np.asarray(counts.field("counts")) > 1
    if not dup.any():
        return
    values = counts.field("values").filter(pa.array(dup))
    first = values[0].as_py()
    holders = [str(p) for p, u in keyed if pc.any(pc.equal(u, first)).as_py()]
    raise DatasetError(
        f"duplicate events: {clip(holders[0])} and {clip(holders[1])} both hold the event "
        f"'{clip(first, 120)}' ({len(values):,} events in more than one file); the same events "
        "would be read twice (a copied shard, or one input converted into two folders?): "
        "remove one copy"
    )


def iter_shard_chunks(path: str | os.PathLike, chunk_size: int) -> Iterator[ak.Array]:
    """Stream one shard in chunks of about ``chunk_size`` events (whole row groups)."""
    path = Path(path)
    meta = pq.ParquetFile(path).metadata
    groups: list[int] = []
    rows = 0
    for i in range(meta.num_row_groups):
        groups.append(i)
        rows += meta.row_group(i).num_rows
        if rows >= chunk_size:
            yield validate(ak.from_parquet(path, row_groups=groups), str(path))
            groups, rows = [], 0
    if groups:
        yield validate(ak.from_parquet(path, row_groups=groups), str(path))


def count_events(path: str | os.PathLike) -> int:
    return sum(pq.ParquetFile(p).metadata.num_rows for p in shard_paths(path))
