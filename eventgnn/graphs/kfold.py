"""K-fold training, so that every score in an analysis is unbiased.

``eventgnn finetune --kfold K --out RUN`` trains K models, ``RUN/fold0`` ... ``RUN/fold<K-1>``:
model ``k`` is tested on the events of fold ``k`` and trains and validates on the others.
``eventgnn predict --model RUN`` gives each event the score of the model of its fold, the one that
never saw it, with a ``fold`` column.

An event's fold is a stable hash of its identity: its ``source`` without any folder part
(``events.root:123`` for entry 123 of a file ``.../events.root``, ``pythia8:wh:seed1:123`` for a
generated event), so it is the same in training (on the converted shards) and in ``predict`` (on
the original files, wherever they are moved). The hash is 64-bit FNV-1a of the identity's UTF-8
bytes, modulo ``K``: vectorised over events, and the same on every machine and version.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import awkward as ak
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .._core.errors import InputError
from .._core.fileio import clip, write_text_atomic
from ..events.io import input_files
from ..events.parquet import SHARD_SUFFIX

KFOLD_FILE = "kfold.json"
FOLD_KEY = "fnv1a64(source without its folder) % kfold"
"""How an event's fold is found, as recorded in ``kfold.json``."""
FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)


def fnv1a(strings: pa.Array) -> np.ndarray:
    """``[B]`` uint64 64-bit FNV-1a hashes of the UTF-8 bytes of each string (no Python loop
    over strings: one pass per character position)."""
    strings = pc.cast(strings, pa.large_string())
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int64)[
        strings.offset : strings.offset + len(strings) + 1
    ]
    data = np.frombuffer(strings.buffers()[2], dtype=np.uint8) if len(strings) else np.zeros(0)
    starts, lengths = offsets[:-1], np.diff(offsets)
    h = np.full(len(strings), FNV_OFFSET, dtype=np.uint64)
    with np.errstate(over="ignore"):  # multiplication modulo 2**64 is the algorithm
        for j in range(int(lengths.max()) if len(lengths) else 0):
            live = lengths > j
            byte = data[starts[live] + j].astype(np.uint64)
            h[live] = (h[live] ^ byte) * FNV_PRIME
    return h


def event_identity(sources: pa.Array) -> pa.Array:
    """Each ``source`` without its folder part (see the module docstring)."""
    return pc.replace_substring_regex(sources, pattern=r"^.*/", replacement="")


def event_folds(events_or_sources, k: int) -> np.ndarray:
    """``[B]`` fold (0..k-1) of each event (an event array or its ``source`` column)."""
    sources = events_or_sources
    if isinstance(sources, ak.Array):
        sources = ak.to_arrow(sources.source if sources.fields else sources, extensionarray=False)
    elif not isinstance(sources, (pa.Array, pa.ChunkedArray)):
        sources = pa.array(sources, pa.string())
    return (fnv1a(event_identity(sources)) % np.uint64(k)).astype(np.int64)


def source_names(data) -> list[str]:
    """The names the fold keys of ``data``'s events start with, sorted: each event's ``source``
    without its folder and entry (``events.root`` for ``/x/events.root:12``; for a generated
    event ``pythia8:wh:seed1``). Parquet shards: their ``source`` column alone; another input
    file: its own name (its readers make the sources from it)."""
    names: set[str] = set()
    for path in input_files(data):
        if path.suffix != SHARD_SUFFIX:
            names.add(path.name)
            continue
        ids = event_identity(pq.read_table(path, columns=["source"]).column("source"))
        names.update(pc.unique(pc.replace_substring_regex(ids, r":[^:]*$", "")).to_pylist())
    return sorted(names)


def write_kfold(out: str | os.PathLike, k: int, data=None) -> Path:
    """``RUN/kfold.json``: the number of folds, the fold runs and, with ``data`` (the training
    data), the names of its fold keys (:func:`source_names`), so that ``predict`` can tell an
    input whose name is not among them."""
    path = Path(out) / KFOLD_FILE
    record = {"kfold": k, "folds": [f"fold{f}" for f in range(k)], "fold_key": FOLD_KEY}
    if data is not None:
        record["sources"] = source_names(data)
    write_text_atomic(path, json.dumps(record) + "\n")
    return path


def read_kfold(run: str | os.PathLike) -> dict | None:
    """The k-fold description of ``run`` (None: an ordinary run), checked: a truncated file,
    a wrong number of folds or a fold folder outside ``run`` is an
    :class:`~eventgnn._core.errors.InputError` naming the file and the field."""
    path = Path(run) / KFOLD_FILE
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"{path}: cannot read the k-fold description ({err})") from err
    if not isinstance(record, dict):
        raise InputError(f"{path}: expected a JSON object, got {type(record).__name__}")
    k, folds = record.get("kfold"), record.get("folds")
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise InputError(f"{path}: field 'kfold': expected a number of folds >= 2, got {k!r}")
    if not isinstance(folds, list) or len(folds) != k:
        raise InputError(f"{path}: field 'folds': expected a list of {k} fold folders (one per "
                         f"fold), got {clip(repr(folds), 120)}")  # fmt: skip
    top = Path(run).resolve()
    for name in folds:
        inside = isinstance(name, str) and name not in ("", ".", "..") and Path(name).name == name
        if not inside or not (top / name).resolve().is_relative_to(top):
            raise InputError(
                f"{path}: field 'folds': {clip(repr(name), 120)} is not a folder inside {run}"
            )
    sources = record.get("sources", [])
    if not isinstance(sources, list) or not all(isinstance(n, str) for n in sources):
        raise InputError(f"{path}: field 'sources': expected a list of names")
    return record


def unknown_inputs(kfold: dict, files: Sequence[str | os.PathLike]) -> str | None:
    """A warning when the k-fold models trained on files (``kfold``'s ``sources``) and some
    non-Parquet inputs are not among them by name: their events' folds are hashes of their own
    names, so a training file renamed would be scored by models that trained on its events. None
    when every input is known, or nothing was recorded. (A Parquet input's fold keys are its
    ``source`` column, which a rename does not change.)"""
    known = set(kfold.get("sources", []))
    if not any(n.endswith(".root") for n in known):  # trained on generated events or Parquet
        return None
    files = [Path(f) for f in files]
    strange = [str(f) for f in files if f.suffix != SHARD_SUFFIX and f.name not in known]
    if not strange:
        return None
    more = f" and {len(strange) - 3} more" if len(strange) > 3 else ""
    return (
        f"{', '.join(strange[:3])}{more}: not the name of a file the k-fold models trained on; "
        "new events are scored as usual, but a training file renamed gets other folds, and scores "
        "from models that trained on its events (an event's fold is a hash of its file's name "
        "and entry): give it its original name"
    )
