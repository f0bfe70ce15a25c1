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
from pathlib import Path

import awkward as ak
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

KFOLD_FILE = "kfold.json"
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


def write_kfold(out: str | os.PathLike, k: int) -> Path:
    """``RUN/kfold.json``: the number of folds and the fold runs."""
    path = Path(out) / KFOLD_FILE
    path.write_text(json.dumps({"kfold": k, "folds": [f"fold{f}" for f in range(k)]}) + "\n")
    return path


def read_kfold(run: str | os.PathLike) -> dict | None:
    """The k-fold description of ``run`` (None: an ordinary run)."""
    path = Path(run) / KFOLD_FILE
    return json.loads(path.read_text()) if path.is_file() else None
