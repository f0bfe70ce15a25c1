"""Scores for every entry of your files: ``eventgnn predict``.

One output row per input entry, in input order, for events of any process or real data:

- ``file``: the input's path (only when there are several inputs; in a ROOT output the index of
  the input in the ``eventgnn_files`` list written beside the tree);
- ``entry``: the entry's index in its input file (a Parquet file's row);
- ``selected``: False when the object selection left nothing to classify (the scores are NaN);
- ``score`` for a binary model (the signal probability), else ``score_<class>`` per class (a
  multilabel model: per label, the regression outputs as they are);
- ``fold`` for a k-fold run (the fold whose model scored the event, the one that did not train
  on it; see :mod:`.kfold`);
- every ``keep`` branch (ROOT input) or field (Parquet input), copied through.

A ROOT output holds a tree ``eventgnn`` with as many entries as the input tree, usable as its
friend (``tree.AddFriend("eventgnn", "scores.root")``). The files are read with the reader options
the model's data was made with (its checkpoint's provenance); an option given explicitly wins,
with a warning where it differs.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import awkward as ak
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .._core.errors import EmptyEventsWarning, InputError
from .._core.fileio import atomic_path
from ..events._uproot import open_tree
from ..events.io import count_entries, detect_format, input_files, read_file, tree_name
from ..events.parquet import iter_shard_chunks
from ..events.selection import SelectionCuts
from ..graphs.batch import GraphTensors
from ..graphs.kfold import event_folds, read_kfold, unknown_inputs
from ..train.checkpoint import load_model, objective_of
from ..train.distributed import resolve_device
from ..train.scoring import eval_batch_size, score

PREDICT_CHUNK_ENTRIES = 200_000
"""Entries read and scored at a time (as ``eventgnn evaluate``: about 1 GiB)."""

OUTPUT_TREE = "eventgnn"
FILES_OBJECT = "eventgnn_files"
NOT_READER_OPTIONS = ("process", "entries", "weight_branch")
"""Recorded options that do not change which objects an event has."""


def training_options(ckpt: dict, fmt: str) -> dict:
    """The reader options the model's ``fmt`` data was converted with (empty: defaults)."""
    found = []
    for s in ckpt.get("provenance", {}).get("reader_settings", []):
        if s.get("format") == fmt:
            opts = {k: v for k, v in s.get("reader_options", {}).items()
                    if k not in NOT_READER_OPTIONS}  # fmt: skip
            if opts not in found:
                found.append(opts)
    if len(found) > 1:
        raise InputError(
            f"the model was trained on {fmt} files read with {len(found)} different option sets "
            f"({found[0]} and {found[1]}); give the reader options explicitly"
        )
    opts = dict(found[0]) if found else {}
    if "cuts" in opts:
        opts["cuts"] = SelectionCuts.from_mapping(opts["cuts"], "the model's recorded cuts")
    if isinstance(opts.get("branch_map"), dict) and "content" in opts["branch_map"]:
        del opts["branch_map"]  # recorded by its fingerprint only: the user passes the map
    return opts


def reader_options_for(ckpt: dict, fmt: str, given: Mapping, log: Callable[[str], None]) -> dict:
    """Training options, overridden by the ``given`` ones (a warning for each that differs)."""
    opts = training_options(ckpt, fmt)
    for k, v in given.items():
        if v is None:
            continue
        if k in opts and opts[k] != v:
            log(f"warning: reader option {k}={v!r} differs from the model's training data "
                f"({k}={opts[k]!r}); using {v!r}")  # fmt: skip
        opts[k] = v
    return opts


def predict_files(
    run: str | os.PathLike,
    inputs: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    keep: Sequence[str] = (),
    options: Mapping | None = None,
    chunk_size: int = PREDICT_CHUNK_ENTRIES,
    device: str = "auto",
    log: Callable[[str], None] = print,
) -> Path:
    """Score every entry of ``inputs`` with the model of ``run`` (a run directory, a
    ``model.pt``, or a k-fold run's folder) and write ``out`` (``.parquet`` or ``.root``; see
    the module docstring)."""
    models, ckpt, n_folds = _load(run)
    out = Path(out)
    if out.suffix not in (".parquet", ".root"):
        raise ValueError(f"--out {out}: expected a .parquet or .root file")
    files = input_files(inputs)
    if out.resolve() in {f.resolve() for f in files}:
        raise ValueError(f"--out {out} is one of the inputs; writing it would destroy the input")
    if out.exists():
        log(f"{out} exists: it is replaced when the scores are written")
    renamed = unknown_inputs(read_kfold(run), files) if n_folds else None
    if renamed:
        log(f"warning: {renamed}")
    dev = resolve_device(device)
    batch = eval_batch_size(ckpt)
    objective = objective_of(ckpt)
    names = objective.score_columns()
    parts = []
    for k, path in enumerate(files):
        fmt = detect_format(path)
        if fmt == "parquet":  # events already read: reader options cannot change them
            if any(v is not None for v in (options or {}).values()):
                log(f"warning: {path}: reader options do not apply to Parquet shards (ignored)")
            opts = {}
        else:
            opts = reader_options_for(ckpt, fmt, options or {}, log)
        part = _score_file(path, fmt, opts, keep, chunk_size, objective, names, models, n_folds,
                           dev, batch)  # fmt: skip
        n_sel = int(np.sum(part["selected"]))
        log(f"{path}: {len(part['entry']):,} entries, {n_sel:,} with selected objects")
        if len(files) > 1:
            part = {"file": np.full(len(part["entry"]), k, dtype=np.int32), **part}
        parts.append(part)
    columns = {key: _concat([p[key] for p in parts]) for key in parts[0]}
    _write(out, columns, [str(f) for f in files])
    log(f"wrote {len(columns['entry']):,} rows to {out}")
    return out


def _load(run) -> tuple[list, dict, int | None]:
    """``(models, checkpoint, number of folds)``: one model, or a k-fold run's fold models (the
    first fold's checkpoint describes them all)."""
    kfold = read_kfold(run) if Path(run).is_dir() else None
    if kfold is None:
        model, ckpt = load_model(run)
        return [model], ckpt, None
    loaded = [load_model(Path(run) / f) for f in kfold["folds"]]
    return [m for m, _ in loaded], loaded[0][1], kfold["kfold"]


def _concat(arrays: list):
    if any(isinstance(a, ak.Array) for a in arrays):
        return ak.concatenate(arrays)
    return np.concatenate(arrays)


def _score_file(path, fmt, opts, keep, chunk_size, objective, names, models, n_folds, dev, batch):
    n = count_entries(path, fmt, **opts)
    kept = _kept(path, fmt, opts, keep)  # first: a missing branch fails before any scoring
    n_out = len(names)
    scores = np.full((n, n_out), np.nan, dtype=np.float32)
    selected = np.zeros(n, dtype=bool)
    fold = np.full(n, -1, dtype=np.int8)
    for start, events in _chunks(path, fmt, n, chunk_size, opts):
        if len(events) == 0:
            continue
        entries = _entries(events, path, fmt, start)
        graphs = GraphTensors.from_events(events)
        folds = event_folds(events, n_folds) if n_folds else np.zeros(len(events), np.int64)
        for f, m in enumerate(models):  # each event by its fold's model
            idx = np.nonzero(folds == f)[0]
            if len(idx):
                scores[entries[idx]] = _scores(m, graphs.subset(idx), objective, dev, batch)
        fold[entries] = folds
        selected[entries] = True
    part = {"entry": np.arange(n, dtype=np.int64), "selected": selected}
    if n_folds:
        part["fold"] = fold
    part.update({name: scores[:, k] for k, name in enumerate(names)})
    for name, values in kept.items():
        if name in part:
            raise InputError(f"--keep {name}: the output already has a column '{name}'")
        part[name] = values
    return part


def _scores(model, graphs: GraphTensors, objective, dev, batch: int) -> np.ndarray:
    logits, _, _ = score(model, graphs, batch_size=batch, device=dev)
    return objective.scores(logits).numpy().reshape(len(logits), -1)


def _chunks(path: Path, fmt: str, n: int, chunk_size: int, opts: dict):
    """``(first entry, events)`` chunk by chunk; events with no selected object are left out
    (their rows stay unselected: no warning, the output says it per entry)."""
    if fmt == "parquet":
        start = 0
        for events in iter_shard_chunks(path, chunk_size):
            yield start, events
            start += len(events)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EmptyEventsWarning)
        for a in range(0, n, chunk_size):
            yield a, read_file(path, fmt, entries=(a, min(a + chunk_size, n)), **opts)


def _entries(events: ak.Array, path: Path, fmt: str, start: int) -> np.ndarray:
    """Each event's entry in its file: from ``source`` (``"<resolved file>:<entry>"``) for ROOT
    input, the row for Parquet."""
    if fmt == "parquet":
        return np.arange(start, start + len(events))
    prefix = f"{path.resolve()}:"
    source = ak.to_arrow(events.source, extensionarray=False)
    entries = pc.cast(pc.utf8_slice_codeunits(source, len(prefix)), pa.int64())
    return np.asarray(entries.to_numpy(zero_copy_only=False), dtype=np.int64)


def _kept(path: Path, fmt: str, opts: dict, keep: Sequence[str]) -> dict:
    """The ``keep`` branches of a ROOT file (fields of a Parquet file), every entry."""
    if not keep:
        return {}
    if fmt == "parquet":
        fields = pq.read_schema(path).names
        missing = [k for k in keep if k not in fields]
        if missing:
            raise InputError(f"{path}: --keep {missing[0]}: no such field")
        events = ak.from_parquet(path, columns=list(keep))
        return {k: _plain(events[k]) for k in keep}
    tree = tree_name(path, fmt, opts)
    with open_tree(path, tree, fmt) as t:
        missing = [k for k in keep if k not in t.keys()]
        if missing:
            some = ", ".join(sorted(t.keys())[:8])
            raise InputError(
                f"{path}: --keep {missing[0]}: tree '{tree}' has no such branch (it has {some}...)"
            )
        return {k: _plain(t[k].array(library="ak")) for k in keep}


def _plain(values: ak.Array):
    """A kept column: numpy for a flat number column, awkward otherwise (jagged, strings)."""
    try:
        return ak.to_numpy(values)
    except (ValueError, TypeError):
        return values


def _write(out: Path, columns: dict, files: list[str]) -> None:
    with atomic_path(out) as tmp:
        if out.suffix == ".parquet":
            table = {
                k: ak.to_arrow(v, extensionarray=False) if isinstance(v, ak.Array) else pa.array(v)
                for k, v in columns.items()
            }
            if "file" in table:  # the input's path, stored once per file
                table["file"] = pa.DictionaryArray.from_arrays(table["file"], pa.array(files))
            pq.write_table(pa.table(table), tmp)
            return
        import uproot

        with uproot.recreate(tmp) as f:
            tree = dict(columns)
            tree["selected"] = tree["selected"].astype(np.int8)  # ROOT has no numpy bool trees
            f[OUTPUT_TREE] = tree
            if "file" in columns:
                f[FILES_OBJECT] = "\n".join(files)
