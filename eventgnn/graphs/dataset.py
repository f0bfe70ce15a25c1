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

The split values travel together as one :class:`Split`, stored whole in every checkpoint, so that
a run's test split can be rebuilt exactly (``eventgnn evaluate``). Labels come from one lookup
(:func:`label_lookup`) whether the events are read at once or in chunks.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import awkward as ak
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import torch

from .._core.errors import DatasetError
from .._core.provenance import file_identity, fingerprint
from ..events.io import input_files, iter_event_chunks, read_events
from ..events.parquet import SHARD_SUFFIX, record_path
from .batch import GraphTensors
from .kfold import event_folds


@dataclass(frozen=True)
class Split:
    """How a task's events are split (see the module docstring).

    ``val_fraction``, ``test_fraction``: of each class; ``split_seed``: fixes the test split;
    ``seed``: draws validation and training events from the rest; ``train_size``: training events
    per class (None: all); ``max_per_class``: cap on each class before splitting (None: none);
    ``kfold``, ``fold``: the test split is the events of fold ``fold`` of ``kfold``
    (:mod:`eventgnn.graphs.kfold`) instead of ``test_fraction`` of each class.
    """

    val_fraction: float = 0.2
    test_fraction: float = 0.2
    split_seed: int = 2024
    seed: int = 0
    train_size: int | None = None
    max_per_class: int | None = None
    kfold: int | None = None
    fold: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_provenance(cls, provenance: dict) -> Split:
        """The split stored in a checkpoint's provenance (flat keys in files written before
        eventgnn stored it whole)."""
        if "split" in provenance:
            return cls(**provenance["split"])
        return cls(**{k: provenance[k] for k in asdict(cls()) if k in provenance})


def process_names(events: ak.Array) -> tuple[np.ndarray, list[str]]:
    """``(codes [B] int64, names)``: ``names[codes[b]]`` is the process of event ``b``."""
    return _encode(ak.to_arrow(events.process, extensionarray=False))


def _encode(arrow: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, list[str]]:
    if isinstance(arrow, pa.ChunkedArray):
        arrow = arrow.combine_chunks()
    encoded = arrow.cast(pa.string()).dictionary_encode()
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    return codes, [str(s) for s in encoded.dictionary.to_pylist()]


def label_lookup(
    names: Sequence[str], processes: Sequence[str], signal: Sequence[str] | None
) -> np.ndarray:
    """``[len(names)]`` labels of process ``names``: multiclass (``signal`` None) the index in
    ``processes``; binary 1 for ``signal`` processes, 0 for the others; -1 for a process the task
    does not use."""
    table = {
        p: ((1 if p in signal else 0) if signal is not None else k) for k, p in enumerate(processes)
    }
    return np.array([table.get(n, -1) for n in names], dtype=np.int64).reshape(len(names))


def label_names(processes: Sequence[str], signal: Sequence[str] | None) -> list[str]:
    """Each label of :func:`label_lookup` named for messages: the process (multiclass) or,
    binary, ``background`` and ``signal`` with their processes (``["background: zh", "signal:
    wh"]``). (The run's own class names, for its logs and metrics, are
    :meth:`eventgnn.train.objectives.Objective.label_names`.)"""
    if signal is None:
        return list(processes)
    background = [p for p in processes if p not in signal]
    return [f"background: {', '.join(background)}", f"signal: {', '.join(signal)}"]


def check_present(seen: Iterable[str], processes: Sequence[str], where: str) -> None:
    """Raise :class:`DatasetError` naming the task's processes that the data lacks (``seen``: the
    process names met in the data; the message lists them)."""
    seen = set(seen)
    missing = [p for p in processes if p not in seen]
    if missing:
        raise DatasetError(
            f"{where}: no events of process(es) {', '.join(missing)}; the data holds "
            f"{', '.join(sorted(seen)) or 'nothing'}"
        )


def event_labels(
    events: ak.Array, processes: Sequence[str], signal: Sequence[str] | None
) -> tuple[np.ndarray, list[str]]:
    """``(labels [B], process names present)`` of ``events`` (-1: not used by the task)."""
    codes, names = process_names(events)
    return label_lookup(names, processes, signal)[codes], names


def select_processes(
    events: ak.Array,
    processes: Sequence[str],
    signal: Sequence[str] | None = None,
    where: str = "<data>",
) -> ak.Array:
    """Keep the events of ``processes`` and set ``label`` (see :func:`label_lookup`). Raises
    :class:`DatasetError` naming the missing processes and those present."""
    labels, names = event_labels(events, processes, signal)
    check_present(names, processes, where)
    keep = labels >= 0
    if not keep.all():  # pretraining keeps every event: no copy of the whole record then
        events, labels = events[keep], labels[keep]
    return ak.with_field(events, labels, "label")


TASK_LABEL_CHUNK = 500_000
"""Events read at a time when labels come from a format other than Parquet."""


def _process_codes(data, kfold: int | None = None) -> Iterator[tuple]:
    """``(codes, names, folds)`` of the events of ``data`` file by file in read order (see
    :func:`process_names`; ``folds`` None without ``kfold``), in bounded memory: for Parquet
    shards the ``process`` (and ``source``) columns alone."""
    for path in input_files(data):
        if path.suffix == SHARD_SUFFIX:
            columns = ["process", "source"] if kfold else ["process"]
            table = pq.read_table(path, columns=columns)
            folds = event_folds(table.column("source"), kfold) if kfold else None
            yield (*_encode(table.column("process")), folds)
        else:
            for c in iter_event_chunks(path, TASK_LABEL_CHUNK):
                yield (*process_names(c), event_folds(c, kfold) if kfold else None)


def data_processes(data) -> set[str]:
    """The process names in ``data``."""
    return {n for _, names, _ in _process_codes(data) for n in names}


def task_labels(
    data, processes: Sequence[str], signal: Sequence[str] | None, kfold: int | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """``(labels, folds)`` of the task's events of ``data`` in read order, as
    :func:`select_processes` gives them, read in bounded memory (``folds``: with ``kfold``)."""
    labels, folds, seen = [], [], set()
    for codes, names, f in _process_codes(data, kfold):
        seen.update(names)
        lab = label_lookup(names, processes, signal)[codes]
        labels.append(lab[lab >= 0])
        if f is not None:
            folds.append(f[lab >= 0])
    check_present(seen, processes, describe(data))
    if not labels:
        return np.zeros(0, np.int64), None
    return np.concatenate(labels), (np.concatenate(folds) if kfold else None)


def describe(data) -> str:
    """``data`` (a path or a list of paths) for messages and provenance."""
    if isinstance(data, (str, os.PathLike)):
        return str(data)
    data = [str(d) for d in data]
    return data[0] if len(data) == 1 else f"{data[0]} and {len(data) - 1} more"


def resolved(data) -> str | list[str]:
    """``data`` with absolute paths, as stored in a checkpoint (a list stays a list)."""
    if isinstance(data, (str, os.PathLike)):
        return str(Path(data).resolve())
    return [str(Path(d).resolve()) for d in data]


def apply_scales(events: ak.Array, scales: Mapping[str, float] | None) -> ak.Array:
    """``events`` with each process's weights multiplied by ``scales[process]`` (a task file's
    ``scale``; processes not named keep their weights)."""
    if not scales:
        return events
    codes, names = process_names(events)
    factor = np.array([scales.get(n, 1.0) for n in names], dtype=np.float32)[codes]
    return ak.with_field(events, events.weight * factor, "weight")


def check_class_weights(
    events: ak.Array,
    labels: np.ndarray,
    processes: Sequence[str],
    signal: Sequence[str] | None,
    scales: Mapping[str, float] | None,
    where: str,
) -> None:
    """Every class needs a positive total weight: a class whose weights sum to zero or less (all
    events weighted 0, a ``scale`` of 0 or below, negative weights outweighing the positive
    ones) or to NaN cannot be learnt, and its metrics would be meaningless. A
    :class:`DatasetError` naming the class, and each of its processes with its total weight and
    ``scale``."""
    codes, present = process_names(events)
    weights = np.asarray(ak.to_numpy(events.weight), dtype=np.float64)
    check_class_totals(weights, labels, codes, present, processes, signal, scales, where)


def check_class_totals(
    weights: np.ndarray,
    labels: np.ndarray,
    codes: np.ndarray,
    present: Sequence[str],
    processes: Sequence[str],
    signal: Sequence[str] | None,
    scales: Mapping[str, float] | None,
    where: str,
) -> None:
    """:func:`check_class_weights` on plain arrays: each event's (scaled) weight, class label,
    and process as a code into ``present`` (the streamed cache holds them so)."""
    weights = np.asarray(weights, dtype=np.float64)
    names = label_names(processes, signal)
    totals = np.bincount(labels, weights=weights, minlength=len(names))
    bad = [k for k, total in enumerate(totals) if not total > 0]
    if not bad:
        return
    per_process = dict(zip(present, np.bincount(codes, weights=weights, minlength=len(present)),
                           strict=True))  # fmt: skip
    k = bad[0]
    members = [p for p in processes if label_lookup([p], processes, signal)[0] == k]
    each = ", ".join(
        f"'{p}' {per_process.get(p, 0.0):.6g}"
        + (f" (scale {scales[p]:g})" if scales and p in scales else "")
        for p in members
    )
    raise DatasetError(
        f"{where}: class '{names[k]}' has a total event weight of {totals[k]:.6g}, expected a "
        f"positive total to train on (its processes' totals: {each}); check their weights and "
        "'scale'"
    )


def data_identity(data) -> dict:
    """What a dataset is: its resolved path, number of files, and a fingerprint of every file's
    path, size and modification time (a file added, removed or rewritten changes it)."""
    files = input_files(data)
    return {
        "path": resolved(data),
        "n_files": len(files),
        "fingerprint": fingerprint([file_identity(f) for f in files], length=16),
    }


def reader_settings(data) -> list[dict]:
    """The distinct reader options (``convert``) and generator settings (``generate``) that made
    the shards of ``data``, from the records beside them; stored in a model's provenance so that
    the same reading can be applied to new data."""
    seen: dict[str, dict] = {}
    for path in input_files(data):
        record = record_path(path)
        if path.suffix != SHARD_SUFFIX or not record.is_file():
            continue
        r = json.loads(record.read_text())
        keep = {k: r[k] for k in ("made_by", "format", "reader_options", "generator",
                                  "process", "mpi") if k in r}  # fmt: skip
        seen.setdefault(fingerprint(keep), keep)
    return list(seen.values())


def check_identities(events: ak.Array, where: str) -> None:
    """A k-fold split needs a ``source`` that names each event: events that share one (shards
    from an older generator) would all fall in one fold, silently; a :class:`DatasetError`
    instead. (Identities may still coincide across files of one name in different folders:
    such events share a fold, which keeps every score unbiased.)"""
    ids = ak.to_arrow(events.source, extensionarray=False)
    n_distinct = pc.count_distinct(ids).as_py()
    if n_distinct < len(ids):
        counts = pc.value_counts(ids)
        top = counts[int(np.argmax(counts.field("counts").to_numpy()))]
        raise DatasetError(
            f"{where}: a k-fold split needs a distinct identity per event, but {len(ids):,} events "
            f"have {n_distinct:,} (for example {top['counts'].as_py():,} events with source "
            f"{top['values'].as_py()!r}); regenerate or reconvert the data with this version"
        )


def split_indices(
    labels: np.ndarray,
    split: Split,
    folds: np.ndarray | None = None,
    names: Sequence[str] | None = None,
) -> dict[str, np.ndarray]:
    """Stratified ``{"train", "val", "test"}`` index arrays (sorted) over events with ``labels``
    (``folds``: each event's fold, for a k-fold split; ``names``: each label's name, for
    messages)."""
    if split.kfold and folds is None:
        raise ValueError("a k-fold split needs the events' folds")
    out: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    order = np.random.default_rng(split.split_seed).permutation(len(labels))  # the fixed order
    # each class's events in that order: one stable sort instead of a pass per class (on 16-bit
    # keys numpy's stable sort is a radix sort, 3x faster on 10^7 events)
    key = labels[order]
    if len(key) and -(2**15) <= key.min() and key.max() < 2**15:
        key = key.astype(np.int16)
    by_class = order[np.argsort(key, kind="stable")]
    classes, sizes = np.unique(labels, return_counts=True)
    rng = np.random.default_rng(split.seed)
    val_of_rest = split.val_fraction / max(1e-9, 1.0 - split.test_fraction)
    val_per_train = split.val_fraction / max(1e-9, 1 - split.val_fraction - split.test_fraction)
    for c, members in zip(classes, np.split(by_class, np.cumsum(sizes)[:-1]), strict=True):
        if split.max_per_class is not None:
            members = members[: split.max_per_class]
        if split.kfold:  # the fold's events, whatever their share
            in_fold = folds[members] == split.fold
            test, pool = members[in_fold], rng.permutation(members[~in_fold])
            n_val = int(round(split.val_fraction * len(members)))
        else:
            n_test = int(round(split.test_fraction * len(members)))
            test, pool = members[:n_test], rng.permutation(members[n_test:])
            n_val = int(round(val_of_rest * len(pool)))
        if split.train_size is not None:  # a small training set gets a small validation set
            n_val = min(n_val, max(1, int(round(split.train_size * val_per_train))))
        val, train = pool[:n_val], pool[n_val:]
        if split.train_size is not None:
            if split.train_size > len(train):
                name = f"class {c}" + (f" ({names[c]})" if names is not None else "")
                raise DatasetError(
                    f"--train-size {split.train_size} asks for more events than {name} has "
                    f"for training: {len(train):,} of its {len(members):,} (the rest are its "
                    f"validation and test events)"
                )
            train = train[: split.train_size]
        out["test"].append(test)
        out["val"].append(val)
        out["train"].append(train)
    return {k: np.sort(np.concatenate(v)).astype(np.int64) for k, v in out.items()}


@dataclass
class TaskData:
    """A labelled dataset in memory with its splits.

    ``graphs``: all selected events (labels set); ``splits``: index tensors into it;
    ``processes``: the task's processes (multiclass: in label order); ``signal``: binary signal
    processes (empty otherwise); ``provenance``: plain values saved in the checkpoint (the data
    path, the :class:`Split` as ``split``, event and class counts).
    """

    graphs: GraphTensors
    splits: dict[str, torch.Tensor]
    processes: tuple[str, ...]
    signal: tuple[str, ...] = ()
    provenance: dict = field(default_factory=dict)

    def part(self, name: str) -> GraphTensors:
        return self.graphs.subset(self.splits[name])


def data_provenance(data, split: Split, labels: np.ndarray, splits: Mapping, scales) -> dict:
    """What a run's events are, stored in its checkpoint: the data (path, files' fingerprint,
    reader settings), the split and its sizes, the events per class, and the weight ``scales``
    (only when given: runs without them keep the provenance, and resume, of before)."""
    classes, counts = np.unique(labels, return_counts=True)
    provenance = {
        "data": resolved(data),
        "files": data_identity(data)["fingerprint"],
        "reader_settings": reader_settings(data),
        "n_events": int(len(labels)),
        "split": split.to_dict(),
        "split_sizes": {name: int(len(v)) for name, v in splits.items()},
        "class_counts": dict(zip(classes.tolist(), counts.tolist(), strict=True)),
    }
    if scales:
        provenance["scales"] = dict(scales)
    return provenance


def load_task_data(
    data,
    processes: Sequence[str],
    signal: Sequence[str] | None = None,
    split: Split | None = None,
    events: ak.Array | None = None,
    scales: Mapping[str, float] | None = None,
) -> TaskData:
    """Read ``data`` (anything :func:`eventgnn.read_events` reads: a path or a list of paths;
    ``events`` if already read), select, label, weight (``scales``) and split it."""
    split = split or Split()
    if events is None:
        events = read_events(data)
    events = select_processes(events, processes, signal, where=describe(data))
    events = apply_scales(events, scales)
    labels = np.asarray(ak.to_numpy(events.label), dtype=np.int64)
    check_class_weights(events, labels, processes, signal, scales, describe(data))
    folds = None
    if split.kfold:
        check_identities(events, describe(data))
        folds = event_folds(events, split.kfold)
    splits = split_indices(labels, split, folds, label_names(processes, signal))
    provenance = data_provenance(data, split, labels, splits, scales)
    graphs = GraphTensors.from_events(events)
    # each event's process (index into ``processes``): plots per process of a binary task
    codes, names = process_names(events)
    graphs.labels["process"] = torch.from_numpy(label_lookup(names, processes, None)[codes])
    return TaskData(
        graphs=graphs,
        splits={k: torch.from_numpy(v) for k, v in splits.items()},
        processes=tuple(processes),
        signal=tuple(signal or ()),
        provenance=provenance,
    )
