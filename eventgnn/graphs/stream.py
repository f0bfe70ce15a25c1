"""A streamed training cache: a dataset's graph inputs packed once into memory-mapped arrays.

The in-memory path (:func:`eventgnn.graphs.dataset.load_task_data`) holds every event's node
features in memory, so its peak memory grows with the dataset. With ``train.stream=true`` the
graph inputs are written once, chunk by chunk, into a cache folder of ``.npy`` files that
training opens with ``mmap_mode="r"`` and reads a window of events at a time::

    CACHE/x.npy         [N_nodes, 7] float32   node features of every event, one after another
    CACHE/ptr.npy       [B + 1] int64          event b's nodes are x[ptr[b]:ptr[b + 1]]
    CACHE/process.npy   [B] int32              index into the record's ``processes``
    CACHE/targets.npy   [B, 41] float32        generator truth (multilabel targets)
    CACHE/weight.npy    [B] float32            physical event weights
    CACHE/record.json   what made it (``inputs``) and what it holds (``contents``)

Events are in :func:`eventgnn.read_events` order and every event of the data is kept: labels,
a task's process selection and its weight ``scales`` are applied when the cache is read, so one
cache serves every task on the data. ``record.json`` is written last: a build that is killed
leaves no record, and the next run rebuilds. A cache whose record names other inputs (files
added, removed or rewritten; another layout or eventgnn version) is rebuilt, with a line naming
what differs.

Memory: the events of a training window (:data:`STREAM_BUFFER`) are gathered from the maps into
ordinary arrays, and the mapped pages are handed back to the kernel (``madvise``) whenever the
reads since the last time spanned :data:`RELEASE_BYTES` of a map, so the resident set does not
fill with the files; what does grow is a few tens of bytes per event (the split indices, labels
and weights of the splits, one epoch's order, the test split's outputs), about 3 GB at 10^8
events.

Epoch order (:meth:`StreamedGraphs.epoch_batches`): the training events are cut into blocks of
:data:`STREAM_BLOCK` consecutive events, the blocks are permuted by the run's generator, each
rank takes one contiguous share of that order (every event once per epoch across ranks, equal
step counts), and inside each window of about :data:`STREAM_BUFFER` events the order is shuffled
by a generator seeded from the run's generator, the rank and the window. Everything derives from
the run's generator, whose state ``last.pt`` keeps: a resumed run continues bit for bit.
"""

from __future__ import annotations

import io
import json
import mmap
import os
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from pathlib import Path

import awkward as ak
import numpy as np
import torch
from torch_geometric.data import Batch

from .._core.errors import DatasetError
from .._core.fileio import write_text_atomic
from .._core.provenance import differences, fingerprint, listed, lock
from .._core.system import cache_dir
from .._core.version import __version__
from ..events.io import iter_event_chunks
from .batch import GraphTensors
from .dataset import (
    Split,
    TaskData,
    check_class_totals,
    check_present,
    data_identity,
    data_provenance,
    describe,
    label_lookup,
    label_names,
    process_names,
    resolved,
    split_indices,
)
from .features import NODE_FEATURES, fit_standardization, node_features

LAYOUT = 1
"""Version of the cache layout (part of the record: another layout is rebuilt)."""

BUILD_CHUNK = 100_000
"""Events read (whole Parquet row groups) and written at a time while building."""

STREAM_BLOCK = 4096
"""Consecutive training events that are permuted as one block each epoch."""

STREAM_BUFFER = 65_536
"""Training events gathered into memory and shuffled together (rounded to whole batches)."""

RELEASE_BYTES = 64 << 20
"""Mapped bytes read between two ``madvise(MADV_DONTNEED)`` of the maps."""

STATS_EVENTS = 200_000
"""Training events (a seeded sample) that the standardisation statistics are fitted on: about
1.8 million objects, as many events as the edge statistics use
(:func:`~eventgnn.graphs.features.fit_standardization`), read 16,384 events at a time."""

_ARRAYS = ("x", "ptr", "process", "targets", "weight")


def default_cache_folder(data) -> Path:
    """``$EVENTGNN_CACHE/stream/<hash of the data's resolved path>``."""
    return cache_dir() / "stream" / fingerprint(resolved(data), length=16)


def cache_inputs(data) -> dict:
    """What a cache of ``data`` is made from: the data's identity (its files' paths, sizes and
    modification times), the layout, node features and eventgnn version."""
    return {"made_by": "eventgnn stream cache", "layout": LAYOUT, "eventgnn": __version__,
            "node_features": list(NODE_FEATURES), "data": data_identity(data)}  # fmt: skip


class _NpyWriter:
    """An ``.npy`` file written in pieces along its first axis: the header is written first
    with room for any length (numpy pads it for that) and rewritten with the final shape."""

    def __init__(self, path: Path, dtype, tail: tuple[int, ...] = ()):
        self.path, self.dtype, self.tail, self.n = path, np.dtype(dtype), tail, 0
        self.file = open(path, "wb")  # noqa: SIM115 - closed in close()
        self.header = self._header(0)
        self.file.write(self.header)

    def _header(self, n: int) -> bytes:
        buf = io.BytesIO()
        d = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False,
             "shape": (n, *self.tail)}  # fmt: skip
        np.lib.format.write_array_header_1_0(buf, d)
        return buf.getvalue()

    def write(self, a: np.ndarray) -> None:
        a = np.ascontiguousarray(a, dtype=self.dtype)
        self.file.write(memoryview(a).cast("B"))
        self.n += len(a)

    def close(self) -> None:
        header = self._header(self.n)
        if len(header) != len(self.header):  # pragma: no cover - numpy leaves room for growth
            raise RuntimeError(f"{self.path}: .npy header changed size")
        self.file.seek(0)
        self.file.write(header)
        self.file.close()


def build_cache(data, folder: str | os.PathLike, chunk_size: int = BUILD_CHUNK) -> dict:
    """Write the cache of ``data`` into ``folder`` (see the module docstring), reading
    ``chunk_size`` events at a time; returns the record. Each array is written to a temporary
    file and renamed; the record last."""
    folder = Path(folder)
    inputs = cache_inputs(data)
    (folder / "record.json").unlink(missing_ok=True)  # from here on the folder is unfinished
    temps = {name: folder / f".{name}.building.tmp" for name in _ARRAYS}
    width = len(NODE_FEATURES)
    names: dict[str, int] = {}
    writers: dict[str, _NpyWriter] = {}
    try:
        writers = {
            "x": _NpyWriter(temps["x"], np.float32, (width,)),
            "ptr": _NpyWriter(temps["ptr"], np.int64),
            "process": _NpyWriter(temps["process"], np.int32),
            "targets": None,
            "weight": _NpyWriter(temps["weight"], np.float32),
        }
        writers["ptr"].write(np.zeros(1, np.int64))
        n_nodes = 0
        for events in iter_event_chunks(data, chunk_size):
            x, counts = node_features(events)
            writers["x"].write(x)
            writers["ptr"].write(n_nodes + np.cumsum(counts))
            n_nodes += int(counts.sum())
            codes, local = process_names(events)
            to_global = np.array([names.setdefault(n, len(names)) for n in local], np.int32)
            writers["process"].write(to_global[codes] if len(local) else codes.astype(np.int32))
            targets = ak.to_numpy(events.targets).astype(np.float32, copy=False)
            if writers["targets"] is None:
                writers["targets"] = _NpyWriter(temps["targets"], np.float32, targets.shape[1:])
            writers["targets"].write(targets)
            writers["weight"].write(ak.to_numpy(events.weight))
        for w in writers.values():
            if w is not None:
                w.close()
        for name, tmp in temps.items():
            os.replace(tmp, folder / f"{name}.npy")
    finally:
        for w in writers.values():
            if w is not None and not w.file.closed:
                w.file.close()
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
    n_events = writers["process"].n
    record = {"inputs": inputs, "contents": {"n_events": n_events, "n_nodes": n_nodes,
                                             "processes": list(names)}}  # fmt: skip
    write_text_atomic(folder / "record.json", json.dumps(record, indent=2, default=str) + "\n")
    return record


def open_cache(
    data, folder: str | os.PathLike | None = None, log: Callable[[str], None] = print
) -> StreamCache:
    """The cache of ``data`` in ``folder`` (default :func:`default_cache_folder`), built first
    when it is missing, unfinished or made from other inputs (a line names what differs)."""
    folder = Path(folder) if folder is not None else default_cache_folder(data)
    wanted = json.loads(json.dumps(cache_inputs(data), default=str))
    record = folder / "record.json"
    if _reusable(record, wanted, log):
        return StreamCache(folder)
    with lock(folder, "stream cache build"):
        if not _reusable(record, wanted, lambda s: None):  # built meanwhile by another job
            log(f"train.stream: writing the cache of {wanted['data']['path']} into {folder}")
            build_cache(data, folder)
    return StreamCache(folder)


def _reusable(record: Path, wanted: dict, log: Callable[[str], None]) -> bool:
    if not record.is_file():
        return False
    try:
        stored = json.loads(record.read_text())["inputs"]
    except (OSError, ValueError, KeyError, TypeError):
        log(f"train.stream: {record} is unreadable; rebuilding the cache")
        return False
    diffs = differences(stored, wanted)
    if diffs:
        log(f"train.stream: the cache in {record.parent} was made from other inputs: "
            f"{listed(diffs)}; rebuilding it")  # fmt: skip
    return not diffs


class StreamCache:
    """An opened cache folder: its arrays mapped read-only (``x``, ``ptr``, ``process``,
    ``targets``, ``weight``) and its record (``processes``: the process names, in code order)."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.record = json.loads((self.folder / "record.json").read_text())
        self.processes: list[str] = list(self.record["contents"]["processes"])
        self.arrays = {n: np.load(self.folder / f"{n}.npy", mmap_mode="r") for n in _ARRAYS}
        self._read = 0

    def __len__(self) -> int:
        return len(self.arrays["process"])

    def __getattr__(self, name: str) -> np.ndarray:
        if name in _ARRAYS:
            return self.arrays[name]
        raise AttributeError(name)

    def touched(self, name: str, rows: np.ndarray | slice) -> None:
        """Count the bytes of the map ``name`` that reading ``rows`` mapped (the span from the
        first to the last row: a scattered read maps the pages between); past
        :data:`RELEASE_BYTES`, :meth:`release`."""
        a = self.arrays[name]
        if isinstance(rows, slice):
            first, last = rows.start or 0, (rows.stop or len(a)) - 1
        elif len(rows):
            first, last = int(rows.min()), int(rows.max())
        else:
            return
        self._read += max(0, last - first + 1) * a.strides[0]
        if self._read > RELEASE_BYTES:
            self.release()

    def release(self) -> None:
        """Drop the mapped pages from this process (they stay in the page cache): without this
        the resident set would grow to the size of the files over an epoch."""
        self._read = 0
        for a in self.arrays.values():
            m = getattr(a, "_mmap", None)
            if m is not None and hasattr(m, "madvise"):
                m.madvise(mmap.MADV_DONTNEED)


class _Labels(MutableMapping):
    """The per-event labels of a :class:`StreamedGraphs`, as :attr:`GraphTensors.labels` has
    them (``label``, ``weight``, ``process``, ``targets``), read from the cache when first asked
    for (``targets`` every time: 164 bytes per event are not kept); ``weight`` may be replaced
    (``train.balance``)."""

    KEYS = ("label", "targets", "weight", "process")

    def __init__(self, graphs: StreamedGraphs):
        self.graphs, self.kept = graphs, {}

    def __getitem__(self, key: str) -> torch.Tensor:
        if key not in self.KEYS:
            raise KeyError(key)
        if key in self.kept:
            return self.kept[key]
        value = torch.from_numpy(self.graphs.read(key, np.arange(len(self.graphs))))
        if key != "targets":
            self.kept[key] = value
        return value

    def __setitem__(self, key: str, value: torch.Tensor) -> None:
        if key not in self.KEYS:
            raise KeyError(key)
        self.kept[key] = value

    def __delitem__(self, key: str) -> None:
        raise TypeError("the labels of streamed graphs cannot be removed")

    def __iter__(self) -> Iterator[str]:
        return iter(self.KEYS)

    def __len__(self) -> int:
        return len(self.KEYS)


class StreamedGraphs:
    """Events of a :class:`StreamCache` (``positions`` [B], sorted) labelled for a task, with
    the interface of :class:`GraphTensors` that training and scoring use (``len``, ``batch``,
    ``subset``, ``labels``, ``to``) plus :meth:`epoch_batches`. Nothing per node is held:
    batches are gathered from the maps.

    ``label_table`` [P]: each process code's label (-1: not used); ``process_table`` [P]: each
    code's index among the task's processes; ``factor`` [P]: each code's weight scale."""

    def __init__(self, cache, positions, label_table, process_table, factor, device=None):
        self.cache = cache
        self.positions = np.asarray(positions, np.int64)
        self.label_table, self.process_table, self.factor = label_table, process_table, factor
        self.device = torch.device("cpu") if device is None else torch.device(device)
        self.labels = _Labels(self)

    def __len__(self) -> int:
        return len(self.positions)

    def _view(self, positions, labels: Mapping | None = None) -> StreamedGraphs:
        out = StreamedGraphs(self.cache, positions, self.label_table, self.process_table,
                             self.factor, self.device)  # fmt: skip
        if labels:
            out.labels.kept.update(labels)
        return out

    def to(self, device) -> StreamedGraphs:
        """The same events, their batches built on ``device`` (the maps stay on the host)."""
        view = self._view(self.positions, self.labels.kept)
        view.device = torch.device(device)
        return view

    def subset(self, idx) -> StreamedGraphs:
        """The events ``idx`` (a view: nothing is read)."""
        idx = np.asarray(torch.as_tensor(idx, dtype=torch.int64).cpu())
        return self._view(self.positions[idx], {k: v[idx] for k, v in self.labels.kept.items()})

    def read(self, key: str, idx: np.ndarray) -> np.ndarray:
        """Per-event ``key`` of the events ``idx`` from the cache (labels, weights with the
        task's scales, the task's process index, targets)."""
        pos = self.positions[idx]
        if key == "targets":
            out = np.asarray(self.cache.targets[pos])
            self.cache.touched("targets", pos)
            return out
        codes = np.asarray(self.cache.process[pos])
        if key == "label":
            return self.label_table[codes]
        if key == "process":
            return self.process_table[codes]
        if key == "weight":
            return (np.asarray(self.cache.weight[pos]) * self.factor[codes]).astype(np.float32)
        raise KeyError(key)

    def gather(self, idx: np.ndarray, target: str | None) -> GraphTensors:
        """The events ``idx`` as an in-memory :class:`GraphTensors` on the host, with the
        labels a batch needs (``label``, ``weight`` and, for ``target="targets"``, targets)."""
        idx = np.asarray(idx, np.int64)
        pos = self.positions[idx]
        start, stop = np.asarray(self.cache.ptr[pos]), np.asarray(self.cache.ptr[pos + 1])
        counts = stop - start
        total = int(counts.sum())
        nodes = np.repeat(start - (np.cumsum(counts) - counts), counts) + np.arange(total)
        x = np.asarray(self.cache.x[nodes])
        self.cache.touched("x", nodes)
        t = torch.from_numpy(idx)
        labels = {"label": self.labels["label"][t], "weight": self.labels["weight"][t]}
        if target == "targets":
            labels["targets"] = torch.from_numpy(self.read("targets", idx))
        return GraphTensors(torch.from_numpy(x), torch.from_numpy(counts), labels)

    def batch(self, idx=None, target: str | None = "label") -> Batch:
        """A PyG ``Batch`` of the events ``idx`` (all if None), as :meth:`GraphTensors.batch`."""
        idx = np.arange(len(self)) if idx is None else np.asarray(torch.as_tensor(idx).cpu())
        return self.gather(idx, target).to(self.device).batch(target=target)

    def epoch_batches(
        self, generator: torch.Generator, batch_size: int, target: str | None, rank=0, world=1
    ) -> Iterator[Batch]:
        """One epoch's training batches for ``rank`` of ``world`` (see the module docstring):
        every event once across the ranks, the same number of batches on every rank."""
        n = len(self)
        blocks = torch.randperm(-(-n // STREAM_BLOCK), generator=generator).numpy()
        seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        order = (blocks[:, None] * STREAM_BLOCK + np.arange(STREAM_BLOCK)).ravel()
        order = order[order < n]
        share = order[rank * n // world : (rank + 1) * n // world]
        del order
        if world == 1:
            bounds = np.append(np.arange(0, len(share), batch_size), len(share))
        else:  # the same number of steps on every rank keeps the gradient all-reduces in step
            longest = -(-n // world)
            steps = max(1, -(-longest // batch_size))
            bounds = np.arange(steps + 1) * len(share) // steps
        per_window = max(1, STREAM_BUFFER // batch_size)
        for k, b0 in enumerate(range(0, len(bounds) - 1, per_window)):
            b1 = min(b0 + per_window, len(bounds) - 1)
            lo = bounds[b0]
            window = np.sort(share[lo : bounds[b1]])
            local = self.gather(window, target).to(self.device)
            perm = torch.from_numpy(np.random.default_rng([seed, rank, k]).permutation(len(window)))
            for a, b in zip(bounds[b0:b1], bounds[b0 + 1 : b1 + 1], strict=True):
                yield local.batch(perm[a - lo : b - lo], target=target)

    def standardization(self, idx: np.ndarray) -> dict:
        """:func:`~eventgnn.graphs.features.fit_standardization` on the events ``idx``
        (sorted), read from the maps a chunk at a time with the pages released as it goes: a
        sample spread over the whole file would otherwise map nearly every page of it."""
        ptr = np.asarray(self.cache.ptr)
        stats = fit_standardization(_Released(self.cache.x, self.cache), np.diff(ptr),
                                    events=self.positions[idx])  # fmt: skip
        self.cache.release()
        return stats


class _Released:
    """Rows of a mapped array, copied out, its pages handed back as :meth:`StreamCache.touched`
    says: :func:`fit_standardization` reads a sample a chunk at a time through it."""

    def __init__(self, array: np.ndarray, cache: StreamCache):
        self.array, self.cache, self.shape = array, cache, array.shape

    def __getitem__(self, key) -> np.ndarray:
        out = np.array(self.array[key])
        self.cache.touched("x", key)
        return out


def stats_sample(n_train: int, seed: int, limit: int = STATS_EVENTS) -> np.ndarray:
    """The training events (indices, sorted) that the standardisation statistics of a streamed
    run are fitted on: all of them up to ``limit``, else ``limit`` drawn with ``seed`` (the
    run's ``--seed``)."""
    if n_train <= limit:
        return np.arange(n_train)
    return np.sort(np.random.default_rng(seed).choice(n_train, limit, replace=False))


def load_streamed_task_data(
    data,
    processes: Sequence[str],
    signal: Sequence[str] | None = None,
    split=None,
    scales: Mapping[str, float] | None = None,
    folder: str | os.PathLike | None = None,
    cache: StreamCache | None = None,
    log: Callable[[str], None] = print,
):
    """:func:`eventgnn.graphs.dataset.load_task_data` on the streamed path: the same events,
    labels, weights, splits and provenance, its graphs a :class:`StreamedGraphs` over the cache
    of ``data`` in ``folder`` (built when needed; ``cache`` if already open)."""
    split = split or Split()
    if split.kfold:
        raise DatasetError("train.stream does not support k-fold splits; use train.stream=false")
    cache = cache or open_cache(data, folder, log)
    names = cache.processes
    check_present(names, processes, describe(data))
    label_table = label_lookup(names, processes, signal)
    codes = np.asarray(cache.process)
    labels = label_table[codes]
    del codes
    selected = np.flatnonzero(labels >= 0)
    labels = labels[selected]
    factor = np.array([(scales or {}).get(n, 1.0) for n in names], np.float32)
    codes = np.asarray(cache.process)[selected]
    weights = np.asarray(cache.weight)[selected] * factor[codes]
    check_class_totals(weights, labels, codes, names, processes, signal, scales, describe(data))
    del codes, weights
    splits = split_indices(labels, split, None, label_names(processes, signal))
    provenance = data_provenance(data, split, labels, splits, scales)
    del labels
    cache.release()
    n_train = len(splits["train"])
    provenance["stats_sample"] = {"n_events": int(min(n_train, STATS_EVENTS)), "of": n_train,
                                  "seed": split.seed}  # fmt: skip
    graphs = StreamedGraphs(cache, selected, label_table, label_lookup(names, processes, None),
                            factor)  # fmt: skip
    return TaskData(
        graphs=graphs,
        splits={k: torch.from_numpy(v) for k, v in splits.items()},
        processes=tuple(processes),
        signal=tuple(signal or ()),
        provenance=provenance,
    )
