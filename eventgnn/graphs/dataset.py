"""In-memory datasets for training: pick processes, assign labels, split, batch.

A dataset folder may mix processes; a task selects its processes by the event's ``process``
field. Splits are stratified by class:

- the test split depends only on ``split_seed`` and the data, never on the training seed, so
  every run of a task on the same data (every seed, every training size, scratch or finetuned)
  is scored on the same test events;
- the validation and training splits are drawn from the rest by the training ``seed``;
- ``train_size`` (per class) takes the first events of that seeded order, and the validation
  split shrinks in proportion (``val_fraction / (1 - val_fraction - test_fraction)`` of it), as in
  a real small-data analysis.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import awkward as ak
import numpy as np
import pyarrow as pa
import torch

from .batch import GraphTensors


class DatasetError(ValueError):
    """The data does not hold what a task needs (for example a missing process)."""


def process_names(events: ak.Array) -> tuple[np.ndarray, list[str]]:
    """``(codes [B] int64, names)``: ``names[codes[b]]`` is the process of event ``b``."""
    arrow = ak.to_arrow(events.process, extensionarray=False)
    if isinstance(arrow, pa.ChunkedArray):
        arrow = arrow.combine_chunks()
    encoded = arrow.cast(pa.string()).dictionary_encode()
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    return codes, [str(s) for s in encoded.dictionary.to_pylist()]


def select_processes(
    events: ak.Array,
    processes: list[str] | tuple[str, ...],
    signal: list[str] | tuple[str, ...] | None = None,
    where: str = "<data>",
) -> ak.Array:
    """Keep the events of ``processes`` and set ``label``.

    Multiclass (``signal`` None): ``label`` = index of the process in ``processes``. Binary:
    ``label`` = 1 for the ``signal`` processes, 0 for the others. Raises :class:`DatasetError`
    naming the missing processes and those present.
    """
    codes, names = process_names(events)
    present = set(names)
    missing = [p for p in processes if p not in present]
    if missing:
        raise DatasetError(
            f"{where}: no events of process(es) {', '.join(missing)}; the data holds "
            f"{', '.join(sorted(present)) or 'nothing'}"
        )
    lookup = np.full(len(names), -1, dtype=np.int64)
    for k, p in enumerate(processes):
        lookup[names.index(p)] = (1 if p in signal else 0) if signal is not None else k
    labels = lookup[codes]
    keep = labels >= 0
    if not keep.all():  # pretraining keeps every event: no copy of the whole record then
        events, labels = events[keep], labels[keep]
    return ak.with_field(events, labels, "label")


def split_indices(
    labels: np.ndarray,
    val_fraction: float,
    test_fraction: float,
    split_seed: int,
    seed: int,
    train_size: int | None = None,
    max_per_class: int | None = None,
) -> dict[str, np.ndarray]:
    """Stratified ``{"train", "val", "test"}`` index arrays (sorted) over events with ``labels``."""
    out: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    fixed = np.random.default_rng(split_seed)
    order = fixed.permutation(len(labels))  # one fixed order: the test split never moves
    # each class's events in that order: one stable sort instead of a pass per class (on 16-bit
    # keys numpy's stable sort is a radix sort, 3x faster on 10^7 events)
    key = labels[order]
    if len(key) and -(2**15) <= key.min() and key.max() < 2**15:
        key = key.astype(np.int16)
    by_class = order[np.argsort(key, kind="stable")]
    classes, sizes = np.unique(labels, return_counts=True)
    rng = np.random.default_rng(seed)
    for c, members in zip(classes, np.split(by_class, np.cumsum(sizes)[:-1]), strict=True):
        if max_per_class is not None:
            members = members[:max_per_class]
        n_test = int(round(test_fraction * len(members)))
        test, pool = members[:n_test], rng.permutation(members[n_test:])
        frac_val = val_fraction / max(1e-9, 1.0 - test_fraction)
        n_val = int(round(frac_val * len(pool)))
        if train_size is not None:
            n_val = min(
                n_val,
                max(
                    1,
                    int(
                        round(
                            train_size * val_fraction / max(1e-9, 1 - val_fraction - test_fraction)
                        )
                    ),
                ),
            )
        val, train = pool[:n_val], pool[n_val:]
        if train_size is not None:
            if train_size > len(train):
                raise DatasetError(
                    f"--train-size {train_size} asks for more events than class {c} has for "
                    f"training ({len(train)})"
                )
            train = train[:train_size]
        out["test"].append(test)
        out["val"].append(val)
        out["train"].append(train)
    return {k: np.sort(np.concatenate(v)).astype(np.int64) for k, v in out.items()}


@dataclass
class TaskData:
    """A labelled dataset in memory with its splits.

    ``graphs``: all selected events (labels set); ``splits``: index tensors into it;
    ``processes``: the task's processes (multiclass: in label order); ``signal``: binary signal
    processes (empty otherwise); ``provenance``: plain values saved in the checkpoint.
    """

    graphs: GraphTensors
    splits: dict[str, torch.Tensor]
    processes: tuple[str, ...]
    signal: tuple[str, ...] = ()
    provenance: dict = field(default_factory=dict)

    def part(self, name: str) -> GraphTensors:
        return self.graphs.subset(self.splits[name])


def load_task_data(
    data: str | os.PathLike,
    processes: list[str] | tuple[str, ...],
    signal: list[str] | tuple[str, ...] | None = None,
    *,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    split_seed: int = 2024,
    seed: int = 0,
    train_size: int | None = None,
    max_per_class: int | None = None,
    events: ak.Array | None = None,
) -> TaskData:
    """Read ``data`` (anything :func:`eventgnn.read_events` reads), select, label and split it."""
    from ..events.io import read_events

    if events is None:
        events = read_events(data)
    events = select_processes(events, processes, signal, where=str(data))
    labels = np.asarray(ak.to_numpy(events.label), dtype=np.int64)
    splits = split_indices(
        labels, val_fraction, test_fraction, split_seed, seed, train_size, max_per_class
    )
    graphs = GraphTensors.from_events(events)
    counts = {name: int(len(v)) for name, v in splits.items()}
    provenance = {
        "data": str(Path(data).resolve()) if data is not None else None,
        "n_events": int(len(events)),
        "split_seed": int(split_seed),
        "seed": int(seed),
        "val_fraction": float(val_fraction),
        "test_fraction": float(test_fraction),
        "train_size": train_size,
        "max_per_class": max_per_class,
        "split_sizes": counts,
        "class_counts": dict(
            zip(*(v.tolist() for v in np.unique(labels, return_counts=True)), strict=True)
        ),
    }
    return TaskData(
        graphs=graphs,
        splits={k: torch.from_numpy(v) for k, v in splits.items()},
        processes=tuple(processes),
        signal=tuple(signal or ()),
        provenance=provenance,
    )


def iter_batches(
    n: int, batch_size: int, generator: torch.Generator | None = None
) -> list[torch.Tensor]:
    """Positions ``0..n-1`` in batches, shuffled by ``generator`` when given."""
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    return list(order.split(batch_size))
