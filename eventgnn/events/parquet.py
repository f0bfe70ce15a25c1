"""Sharded Parquet storage of the event record (awkward <-> Parquet)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import awkward as ak
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .._core.errors import DatasetError, SchemaError
from .._core.fileio import atomic_path, clip
from .._core.system import cpu_count
from .schema import RENAMED_OBJECT_FIELDS, validate

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


def read_shard(path: str | os.PathLike, process: str | None = None) -> ak.Array:
    """Read and validate one Parquet shard; ``process``: a name that replaces every event's
    ``process`` (a task file's sample name for shards made elsewhere)."""
    events = read_shards([path])
    return events if process is None else with_process(events, process)


def with_process(events: ak.Array, process: str) -> ak.Array:
    """``events`` with every ``process`` set to ``process``."""
    return ak.with_field(events, ak.from_numpy(np.full(len(events), process)), "process")


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
    Shards written before an object field was renamed are read with its current name
    (:func:`current_names`).
    """
    paths = [Path(p) for p in paths]
    if threads is None:
        threads = min(32, cpu_count())
    if len(paths) == 1 or threads <= 1:
        tables = [_read_table(p) for p in paths]
    else:
        with ThreadPoolExecutor(min(threads, len(paths))) as pool:
            tables = list(pool.map(_read_table, paths))
    check_duplicates(paths, [_table_span(t) for t in tables])
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
    return validate(current_names(events), where)


def current_names(events: ak.Array) -> ak.Array:
    """``events`` as read from a shard, with object fields that were renamed since it was
    written under their current names (:data:`~eventgnn.events.schema.RENAMED_OBJECT_FIELDS`:
    ``objects.type`` is ``objects.kind``). Only the record's field names change: no data is
    copied, and an array without old names is returned as it is."""
    layout = events.layout
    if not layout.is_record or "objects" not in layout.fields:
        return events  # not an event record: the validation says what is wrong
    i = layout.fields.index("objects")
    objects = _rename_fields(layout.contents[i])
    if objects is layout.contents[i]:
        return events
    contents = [objects if k == i else c for k, c in enumerate(layout.contents)]
    renamed = ak.contents.RecordArray(
        contents, layout.fields, layout.length, parameters=layout.parameters
    )
    return ak.Array(renamed, behavior=events.behavior, attrs=events.attrs)


def _rename_fields(layout: ak.contents.Content) -> ak.contents.Content:
    """The per-object record under ``layout`` (lists and option wrappers are passed through)
    with old field names replaced; ``layout`` itself when there is nothing to rename."""
    if layout.is_record:
        fields = [
            RENAMED_OBJECT_FIELDS[f]
            if f in RENAMED_OBJECT_FIELDS and RENAMED_OBJECT_FIELDS[f] not in layout.fields
            else f
            for f in layout.fields
        ]
        if fields == layout.fields:
            return layout
        return ak.contents.RecordArray(
            layout.contents, fields, layout.length, parameters=layout.parameters
        )
    if layout.is_list or layout.is_option or layout.is_indexed:
        content = _rename_fields(layout.content)
        return layout if content is layout.content else layout.copy(content=content)
    return layout


Span = tuple[str, str] | None
"""The ``source`` of a shard's first and last event, or None when they do not name single
events (an empty shard, or one source for every event)."""


def source_span(sources: pa.ChunkedArray) -> Span:
    """:data:`Span` of one shard's ``source`` column (O(1): two values)."""
    n = len(sources)
    if n == 0:
        return None
    first, last = sources[0].as_py(), sources[n - 1].as_py()
    return (first, last) if n == 1 or first != last else None


def _table_span(table: pa.Table) -> Span:
    """:data:`Span` of a shard read as a table; None when it cannot tell (no ``source``, or
    corrupt strings: the schema validation names those)."""
    try:
        return source_span(table["source"]) if "source" in table.column_names else None
    except UnicodeDecodeError:
        return None


def read_source_span(path: Path) -> Span:
    """:data:`Span` of a shard on disk, reading the ``source`` column of its first and last row
    groups only (for the duplicate check of streamed reads)."""
    try:
        f = pq.ParquetFile(path)
        n = f.metadata.num_row_groups
        if n == 0:
            return None
        head = f.read_row_group(0, columns=["source"])["source"]
        tail = head if n == 1 else f.read_row_group(n - 1, columns=["source"])["source"]
    except Exception as err:
        raise SchemaError(str(path), "source", f"cannot read the column ({err})") from err
    span = source_span(pa.chunked_array(head.chunks + tail.chunks))
    return None if span is None or source_span(head) is None else span


def check_duplicates(paths: Sequence[Path], spans: Sequence[Span]) -> None:
    """Refuse two shards that hold the same events. Every event's ``source`` names it
    (``FILE:ENTRY``, or ``pythia8:PROCESS:seedS:EVENT``), so two files whose first or last
    events are the same event overlap: a copied shard, or one input converted twice (both
    conversions begin with its first kept event, whatever their chunks). Comparing the first
    and last event of each file costs nothing per event; an overlap that begins and ends inside
    other files is not seen. Refused, not dropped: which copy (made with which process name or
    reader options) should win is the user's choice. Shards whose events share one source
    (hand-made ones, or generated by an older eventgnn) are not compared."""
    seen: dict[str, Path] = {}
    for path, span in zip(paths, spans, strict=True):
        for source in dict.fromkeys(span or ()):  # first and last, once when equal
            other = seen.setdefault(source, path)
            if other != path:
                raise DatasetError(
                    f"duplicate events: {clip(other)} and {clip(path)} both hold the event "
                    f"'{clip(source, 120)}'; the same events would be read twice (a copied "
                    "shard, or one input converted into two folders?): remove one copy"
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
            yield validate(current_names(ak.from_parquet(path, row_groups=groups)), str(path))
            groups, rows = [], 0
    if groups:
        yield validate(current_names(ak.from_parquet(path, row_groups=groups)), str(path))


def count_events(path: str | os.PathLike) -> int:
    return sum(pq.ParquetFile(p).metadata.num_rows for p in shard_paths(path))
