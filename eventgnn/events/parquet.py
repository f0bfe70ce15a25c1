"""Sharded Parquet storage of the event record (awkward <-> Parquet)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import awkward as ak
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import SchemaError
from ..fileio import atomic_path
from ..system import cpu_count
from .schema import validate

SHARD_SUFFIX = ".parquet"


def write_events(events: ak.Array, path: str | os.PathLike) -> Path:
    """Validate and write one shard atomically (temporary file, then rename)."""
    path = Path(path)
    validate(events, str(path))
    with atomic_path(path) as tmp:
        ak.to_parquet(events, tmp, compression="zstd", row_group_size=65536)
    return path


def shard_paths(path: str | os.PathLike) -> list[Path]:
    """The shards of a dataset: ``path`` itself if a file, else its ``*.parquet`` files, sorted."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or directory")
    if path.is_dir():
        shards = sorted(p for p in path.rglob(f"*{SHARD_SUFFIX}") if not p.name.startswith("."))
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
