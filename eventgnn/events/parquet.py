"""Sharded Parquet storage of the event record (awkward <-> Parquet)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import awkward as ak
import pyarrow.parquet as pq

from ..fileio import atomic_path
from .schema import SchemaError, validate

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
    path = Path(path)
    try:
        events = ak.from_parquet(path)
    except Exception as err:  # pyarrow raises several unrelated types for corrupt files
        raise SchemaError(str(path), "<file>", f"not a readable Parquet file ({err})") from err
    return validate(events, str(path))


def iter_shard_chunks(path: str | os.PathLike, chunk_size: int = 100_000) -> Iterator[ak.Array]:
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
