"""Streaming evaluation: model outputs over a dataset read in chunks, in bounded memory.

``evaluate`` on millions of events must not hold them all (nor their graphs) in memory at once.
Here the events are read chunk by chunk (Parquet shards by row groups, other formats file by file),
labelled, turned into graphs and scored; only the outputs (a few numbers per event) accumulate.
The results equal those of the in-memory path (:func:`eventgnn.graphs.dataset.load_task_data`
then :func:`eventgnn.train.engine.predict`) event for event, in the same order, including the
re-derived test split of a run: its indices come from a first pass that reads only the ``process``
column.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import awkward as ak
import numpy as np
import torch

from ..events.io import _expand, count_entries, read_file
from ..events.parquet import SHARD_SUFFIX, iter_shard_chunks
from ..graphs.batch import GraphTensors
from ..graphs.dataset import DatasetError, process_names, split_indices
from .engine import predict

DEFAULT_CHUNK_SIZE = 200_000
"""Events per chunk: about 0.3 GB of event record and graph tensors at 8 objects per event."""

__all__ = ["DEFAULT_CHUNK_SIZE", "iter_event_chunks", "predict_stream", "stream_test_indices"]


def iter_event_chunks(data: str | os.PathLike, chunk_size: int) -> Iterator[tuple[Path, ak.Array]]:
    """``(file, events)`` chunks of at most ``chunk_size`` events, in the order
    :func:`eventgnn.read_events` would return them. Parquet shards are read a few row groups at a
    time, ROOT files (Delphes, NanoAOD) ``chunk_size`` tree entries at a time."""
    if chunk_size < 1:
        raise ValueError(f"chunk size must be at least 1, got {chunk_size}")
    for path in _expand(data):
        if path.suffix == SHARD_SUFFIX:
            parts = iter_shard_chunks(path, chunk_size)
        else:
            n = count_entries(path)
            parts = (read_file(path, entries=(a, a + chunk_size)) for a in range(0, n, chunk_size))
        for part in parts:
            for start in range(0, len(part), chunk_size):
                yield path, part[start : start + chunk_size]


def _labeller(processes: Sequence[str], signal: Sequence[str] | None):
    """Process name -> label (-1: not used), as in
    :func:`~eventgnn.graphs.dataset.select_processes`."""
    table = {
        p: ((1 if p in signal else 0) if signal is not None else k) for k, p in enumerate(processes)
    }
    return lambda name: table.get(name, -1)


def _chunk_labels(events: ak.Array, label_of) -> tuple[np.ndarray, list[str]]:
    codes, names = process_names(events)
    lookup = np.array([label_of(n) for n in names] or [-1], dtype=np.int64)
    return lookup[codes] if len(codes) else np.zeros(0, np.int64), names


def _check_present(seen: set[str], processes: Sequence[str], data) -> None:
    """``seen``: every process name met in the data (the message lists them)."""
    missing = [p for p in processes if p not in seen]
    if missing:
        raise DatasetError(
            f"{data}: no events of process(es) {', '.join(missing)}; the data holds "
            f"{', '.join(sorted(seen)) or 'nothing'}"
        )


def stream_test_indices(
    data: str | os.PathLike,
    processes: Sequence[str],
    signal: Sequence[str] | None,
    *,
    val_fraction: float,
    test_fraction: float,
    split_seed: int,
    seed: int,
    train_size: int | None,
    max_per_class: int | None,
) -> np.ndarray:
    """Sorted positions (among the task's events, in read order) of a run's test split,
    computed from the ``process`` column alone (Parquet data only)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    label_of = _labeller(processes, signal)
    labels, seen = [], set()
    for path in _expand(data):
        if path.suffix != SHARD_SUFFIX:
            raise ValueError(f"{path}: streaming the test split needs Parquet shards")
        column = pq.read_table(path, columns=["process"]).column("process")
        encoded = column.combine_chunks().cast(pa.string()).dictionary_encode()
        names = [str(s) for s in encoded.dictionary.to_pylist()]
        lookup = np.array([label_of(n) for n in names] or [-1], dtype=np.int64)
        codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        lab = lookup[codes] if len(codes) else np.zeros(0, np.int64)
        seen.update(names)
        labels.append(lab[lab >= 0])
    _check_present(seen, processes, data)
    labels = np.concatenate(labels) if labels else np.zeros(0, np.int64)
    splits = split_indices(
        labels, val_fraction, test_fraction, split_seed, seed, train_size, max_per_class
    )
    return splits["test"]


@torch.no_grad()
def predict_stream(
    model: torch.nn.Module,
    data: str | os.PathLike,
    processes: Sequence[str],
    signal: Sequence[str] | None,
    target: str | None,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    batch_size: int = 1024,
    device: torch.device | str = "cpu",
    only: np.ndarray | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None, int]:
    """Model outputs for the task's events of ``data``, streamed in chunks.

    Events whose process is not in ``processes`` are skipped; labels are set as in
    :func:`~eventgnn.graphs.dataset.select_processes`. ``only``: sorted positions (among the
    task's events) to score, for example a run's test split. Returns ``(logits, y, n_events)``;
    raises :class:`~eventgnn.graphs.dataset.DatasetError` when a process has no events.
    """
    label_of = _labeller(processes, signal)
    outs, ys, seen, offset = [], [], set(), 0
    for _, chunk in iter_event_chunks(data, chunk_size):
        labels, names = _chunk_labels(chunk, label_of)
        seen.update(names)
        keep = labels >= 0
        n_keep = int(keep.sum())
        if n_keep == 0:
            continue
        chosen = np.nonzero(keep)[0]
        if only is not None:  # positions of this chunk's task events among all task events
            pos = offset + np.arange(n_keep)
            inside = np.isin(pos, only, assume_unique=True)
            chosen = chosen[inside]
        offset += n_keep
        if len(chosen) == 0:
            continue
        part = ak.with_field(chunk[chosen], labels[chosen], "label")
        logits, y = predict(model, GraphTensors.from_events(part), target, batch_size, device)
        outs.append(logits)
        if y is not None:
            ys.append(y)
    _check_present(seen, processes, data)
    logits = torch.cat(outs) if outs else torch.zeros(0, getattr(model, "n_outputs", 1))
    y = torch.cat(ys) if ys else None
    return logits, y, len(logits)
