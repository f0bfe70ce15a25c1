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
- every ``keep`` branch (ROOT input) or field (Parquet input), copied through: a number, a
  string or a list of numbers per entry (a list becomes a jagged branch with its counter
  ``n<name>`` in a ROOT output, a list column in Parquet). A Delphes per-event branch
  (``Event.Number``, ``MissingET.MET``, ``ScalarHT.HT``: one-element collections) is kept as
  its one value per entry.

A ROOT output holds a TTree ``eventgnn`` with as many entries as the input tree, usable as its
friend (``tree.AddFriend("eventgnn", "scores.root")``). It is written with uproot's
``mktree``/``extend``, which give a TTree in every uproot this package accepts (``uproot>=5.2``
in setup.cfg; checked with 5.7): ``file[name] = arrays`` would not do, as uproot >= 5.7 writes
an RNTuple for it, which ``AddFriend`` and older ROOT cannot use. No RNTuple output is offered:
a friend tree is what the scores are for.

The files are read with the reader options the model's data was made with (its checkpoint's
provenance); an option given explicitly wins, with a warning where it differs. Every input is
checked (its format, the options it takes, the kept branches) before any is scored.

The output records the model that made it: its name or path and the SHA-256 of its file (of
each fold's file for a k-fold run) and the eventgnn version (Parquet: the schema's metadata,
keys ``eventgnn.model``, ``eventgnn.model_sha256``, ``eventgnn.version``; ROOT: the string
``eventgnn_model`` beside the tree, the same three as JSON).

An input that was part of the model's training data (one of its shards, or a file a shard was
converted from) is named in a warning: its training events get optimistic scores; a k-fold run
(each event scored by the fold model that did not train on it) or ``allow_training_files``
(``--allow-training-files``) leaves it unsaid.

``into=(FILE, TREE)`` (``--into FILE:TREE``) writes the user's own tree with the scores in it
instead: FILE is a new ROOT file holding TREE of the one input, every branch copied chunk by
chunk, plus the branches ``eventgnn_<column>`` (``eventgnn_score``, ``eventgnn_selected``...),
one value per entry; each copied branch is read back and compared with the input's before the
file is kept. Jagged branches are written as NanoAOD groups them (``Jet_pt``, ``Jet_eta`` with
their counter ``nJet``); a tree whose branches uproot cannot write (Delphes objects) is refused,
naming the branch. Why not the input file itself: uproot's in-place ``add_branches`` (5.7.7)
refuses a tree of more than one basket and, on a single-basket NanoAOD-like tree, returned the
jagged branches damaged (read back flat, or with the wrong counts); writing a new file also
leaves the input's other objects (``Runs``, ``LuminosityBlocks``) untouched.

The output is written to a temporary file beside it and renamed when complete; an error, Ctrl-C
or SIGTERM removes the temporary. While it runs, predict holds a lock on the output (the file
``.<name>.lock`` beside it): a second predict into the same file is refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from glob import escape as glob_escape
from pathlib import Path

import awkward as ak
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .._core.errors import EmptyEventsWarning, InputError
from .._core.fileio import TMP_SUFFIX, atomic_path, clip
from .._core.provenance import lock_file
from .._core.version import __version__
from ..catalog.registry import sha256_file, shipped_card
from ..events._uproot import has_branch, one_per_event, open_tree
from ..events.io import (
    check_readable,
    count_entries,
    detect_format,
    input_files,
    read_file,
    tree_name,
)
from ..events.parquet import iter_shard_chunks, record_path
from ..events.selection import SelectionCuts
from ..graphs.batch import GraphTensors
from ..graphs.kfold import event_folds, read_kfold, unknown_inputs
from ..train.checkpoint import load_model, model_path, objective_of
from ..train.distributed import resolve_device
from ..train.scoring import eval_batch_size, score

PREDICT_CHUNK_ENTRIES = 200_000
"""Entries read and scored at a time (as ``eventgnn evaluate``: about 1 GiB)."""

ROOT_BASKET_ENTRIES = 100_000
"""Entries the ROOT output tree is extended by at a time (one basket per branch each)."""

OUTPUT_TREE = "eventgnn"
FILES_OBJECT = "eventgnn_files"
MODEL_OBJECT = "eventgnn_model"
NOT_READER_OPTIONS = ("process", "entries", "weight_branch")
"""Recorded options that do not change which objects an event has."""

DELPHES_PER_EVENT = ("Event", "MissingET", "ScalarHT")
"""Delphes collections with exactly one element per event: a kept branch of one of them is
written as that element's value."""

NUMBER, STRING, LIST = "a number", "a string", "a list of numbers"
"""What a kept column holds per entry."""


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
    chunk_size: int | None = PREDICT_CHUNK_ENTRIES,
    device: str = "auto",
    log: Callable[[str], None] = print,
    into: tuple[str | os.PathLike, str] | None = None,
    allow_training_files: bool = False,
) -> Path:
    """Score every entry of ``inputs`` with the model of ``run`` (a run directory, a
    ``model.pt``, or a k-fold run's folder) and write ``out`` (``.parquet`` or ``.root``), or
    with ``into=(FILE, TREE)`` (``out`` None) add the scores to that tree; see the module
    docstring. ``chunk_size``: entries read and scored at a time (None: each file at once)."""
    if (out is None) == (into is None):
        raise ValueError("give one of --out FILE (a new file) and --into FILE:TREE (your tree)")
    if into is not None:
        return _predict_into(run, inputs, into, keep, options, chunk_size, device, log,
                             allow_training_files)  # fmt: skip
    out = Path(out)
    if out.suffix not in (".parquet", ".root"):
        raise ValueError(f"--out {out}: expected a .parquet or .root file")
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(
            f"--chunk-size {chunk_size}: expected a number of entries of at least 1 (0 on the "
            "command line: each file at once)"
        )
    files = input_files(inputs)
    if not files:
        raise InputError("no input files given")
    if out.resolve() in {f.resolve() for f in files}:
        raise ValueError(f"--out {out} is one of the inputs; writing it would destroy the input")
    with output_lock(out), _sigterm_interrupts():
        _remove_stale_temporaries(out)  # left by a killed predict; none other writes out now
        if out.exists():
            log(f"{out} exists: it is replaced when the scores are written")
        models, ckpt, n_folds = _load(run)
        renamed = unknown_inputs(read_kfold(run), files) if n_folds else None
        if renamed:
            log(f"warning: {renamed}")
        if not (n_folds or allow_training_files):
            _warn_training_files(files, ckpt, log)
        columns = score_inputs(models, ckpt, n_folds, files, keep, options, chunk_size, device,
                               log, out.suffix)  # fmt: skip
        _write(out, columns, [str(f) for f in files], model_record(run, n_folds))
    log(f"wrote {len(columns['entry']):,} rows to {out}")
    return out


def score_inputs(
    models: list,
    ckpt: dict,
    n_folds: int | None,
    files: Sequence[Path],
    keep: Sequence[str] = (),
    options: Mapping | None = None,
    chunk_size: int | None = PREDICT_CHUNK_ENTRIES,
    device: str | None = "auto",
    log: Callable[[str], None] = print,
    suffix: str = ".parquet",
) -> dict:
    """The output's columns for ``files`` (one row per entry, in order; see the module
    docstring): every input checked first (format, reader options, kept branches for an output
    of ``suffix``), then scored by ``models`` (one, or a k-fold run's ``n_folds``)."""
    names = objective_of(ckpt).score_columns()
    plan = [_check_input(path, ckpt, options or {}, keep, log) for path in files]
    _check_kept(plan, _own_columns(names, n_folds, len(files) > 1), suffix)
    return _score_all(plan, models, ckpt, n_folds, chunk_size, device, log)


def _predict_into(run, inputs, into, keep, options, chunk_size, device, log, allow) -> Path:
    """``predict_files(into=(FILE, TREE))``: TREE of the one input copied into FILE with the
    score columns."""
    target, tree = Path(into[0]), into[1]
    files = input_files(inputs)
    if len(files) != 1:
        raise ValueError(
            f"--into {target}:{tree}: copies the tree of one input, got {len(files)} inputs; "
            "run it once per file, or write friend trees with --out"
        )
    source = files[0]
    if target.suffix != ".root" or (target.exists() and os.path.samefile(source, target)):
        raise ValueError(
            f"--into {target}:{tree}: expected a new .root file (not the input: its other "
            "objects would be lost, and uproot cannot add branches to its tree in place)"
        )
    if keep:
        raise ValueError("--keep: every branch of the tree is copied with --into")
    with output_lock(target), _sigterm_interrupts():
        _remove_stale_temporaries(target)
        models, ckpt, n_folds = _load(run)
        item = _check_input(source, ckpt, options or {}, (), log)
        layout = _tree_layout(source, tree)
        if layout.entries != item.entries:
            raise InputError(
                f"--into {target}:{tree}: {source}'s tree '{tree}' has {layout.entries:,} "
                f"entries, the input as read {item.entries:,}; the scores need one per entry"
            )
        if not (n_folds or allow):
            _warn_training_files(files, ckpt, log)
        columns = _score_all([item], models, ckpt, n_folds, chunk_size, device, log)
        scores = {INTO_PREFIX + k: v for k, v in columns.items()}
        clash = sorted(set(scores) & set(layout.branches))
        if clash:
            raise InputError(
                f"--into {target}:{tree}: the tree has branches {', '.join(clash)} already "
                "(scores of an earlier predict?)"
            )
        with atomic_path(target) as tmp:
            _copy_tree_with(source, tree, layout, scores, tmp, model_record(run, n_folds))
            _compare_copy(source, tmp, tree, layout)
    log(f"wrote {source}'s tree {tree} with {', '.join(scores)} to {target}")
    return target


INTO_PREFIX = "eventgnn_"
"""The prefix of the score branches ``--into`` adds to the user's tree."""

COPY_CHUNK_ENTRIES = 100_000
"""Entries of the user's tree copied at a time by ``--into``."""


@dataclass
class _Layout:
    """A tree's branches as uproot writes them back: flat ones, and jagged ones grouped by
    their counter (NanoAOD: ``nJet`` counts ``Jet_pt``, ``Jet_eta``...)."""

    entries: int
    branches: list[str]
    flat: list[str]
    groups: dict[str, list[str]]  # group -> its branches' names (GROUP_field)


def _tree_layout(path: Path, tree: str) -> _Layout:
    import uproot

    with uproot.open(path) as f:
        if tree not in f or not f.classname_of(tree).startswith("TTree"):
            held = ", ".join(f"{k.split(';')[0]} ({c})" for k, c in f.classnames().items())
            raise InputError(f"--into: {path}: no TTree '{tree}' (the file holds {clip(held)})")
        t = f[tree]
        counters = {b.count_branch.name for b in t.branches if b.count_branch is not None}
        flat, groups = [], {}
        for b in t.branches:
            if b.name in counters:
                continue  # written again by uproot with its group
            if b.count_branch is None and not b.branches:
                flat.append(b.name)
                continue
            group = b.count_branch.name[1:] if b.count_branch is not None else ""
            if not (b.count_branch is not None and b.count_branch.name == f"n{group}"
                    and b.name.startswith(f"{group}_") and not b.branches):  # fmt: skip
                raise InputError(
                    f"--into: {path}: branch '{b.name}' of tree '{tree}' ({b.typename}) cannot "
                    "be copied by uproot (it writes numbers, and lists counted by n<GROUP> "
                    "named <GROUP>_<field>); write a friend tree with --out instead"
                )
            groups.setdefault(group, []).append(b.name)
        return _Layout(int(t.num_entries), list(t.keys()), flat, groups)


def _copy_tree_with(src: Path, tree: str, layout: _Layout, scores: dict, tmp: Path, record):
    """Write ``tree`` of ``src`` with the ``scores`` columns into the new file ``tmp``."""
    import uproot

    def chunk_of(arrays, a, b):
        out = {name: arrays[name] for name in layout.flat}
        for group, names in layout.groups.items():
            out[group] = ak.zip({n[len(group) + 1 :]: arrays[n] for n in names})
        out.update({k: _root_values(v)[a:b] for k, v in scores.items()})
        out[INTO_PREFIX + "selected"] = np.asarray(out[INTO_PREFIX + "selected"], np.int8)
        return out

    names = layout.flat + [n for g in layout.groups.values() for n in g]
    with uproot.open(src) as f, uproot.recreate(tmp) as out:
        start, new = 0, None
        for arrays in f[tree].iterate(names, step_size=COPY_CHUNK_ENTRIES, library="ak"):
            part = chunk_of(arrays, start, start + len(arrays))
            if new is None:
                types = {k: v.dtype if isinstance(v, np.ndarray) else v.type.content
                         for k, v in part.items()}  # fmt: skip
                new = out.mktree(tree, types)
            new.extend(part)
            start += len(arrays)
        out[MODEL_OBJECT] = json.dumps(record)


def _compare_copy(src: Path, tmp: Path, tree: str, layout: _Layout) -> None:
    """Every copied branch read back equals the input's, entry by entry (else nothing is kept)."""
    import uproot

    names = layout.flat + [n for g in layout.groups.values() for n in g]
    with uproot.open(src) as a, uproot.open(tmp) as b:
        pairs = zip(a[tree].iterate(names, step_size=COPY_CHUNK_ENTRIES),
                    b[tree].iterate(names, step_size=COPY_CHUNK_ENTRIES), strict=True)  # fmt: skip
        for x, y in pairs:
            for name in names:
                if not ak.array_equal(x[name], y[name], equal_nan=True):
                    raise InputError(
                        f"--into: branch '{name}' of {src}:{tree} reads back differently from "
                        "the copy; nothing was written (write a friend tree with --out instead)"
                    )


def model_record(run, n_folds: int | None) -> dict:
    """What made the scores: the model's name or path, the SHA-256 of its file (each fold's,
    for a k-fold run) and the eventgnn version."""
    card = shipped_card(run)
    if n_folds:
        folds = read_kfold(run)["folds"]
        sha = [sha256_file(model_path(Path(run) / f)) for f in folds]
    else:
        sha = card["sha256"] if card is not None else sha256_file(model_path(run))
    where = card["name"] if card is not None else str(Path(run).resolve())
    return {"model": where, "model_sha256": sha, "version": __version__}


def training_files(ckpt: dict) -> set[Path]:
    """The files the model's events came from, where they are on this machine: its data's
    shards, and the files those shards were converted from (their records)."""
    data = ckpt.get("provenance", {}).get("data")
    paths = [data] if isinstance(data, str) else list(data or [])
    found: set[Path] = set()
    for shard in input_files([p for p in paths if Path(p).exists()]) if paths else []:
        found.add(shard.resolve())
        record = record_path(shard)
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            source = Path(json.loads(record.read_text())["input"]["path"])
            if source.exists():
                found.add(source.resolve())
    return found


def _warn_training_files(files: Sequence[Path], ckpt: dict, log) -> None:
    # by (device, inode), as os.path.samefile compares: the same file by any path or hard link
    seen = {_inode(t) for t in training_files(ckpt)}
    for f in files:
        if _inode(f) in seen:
            log(f"warning: {f} was part of the model's training data: its training events get "
                "optimistic scores (a k-fold run scores each event with the model that did not "
                "see it; --allow-training-files leaves this unsaid)")  # fmt: skip


def _inode(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_dev, st.st_ino


def _score_all(plan: list, models: list, ckpt: dict, n_folds, chunk_size, device, log) -> dict:
    """The output's columns: every input scored, in input order."""
    objective = objective_of(ckpt)
    names = objective.score_columns()
    dev = resolve_device(device)
    batch = eval_batch_size(ckpt)
    parts = []
    for k, item in enumerate(plan):
        part = _score_file(item, chunk_size, objective, names, models, n_folds, dev, batch)
        n_sel = int(np.sum(part["selected"]))
        log(f"{item.path}: {item.entries:,} entries, {n_sel:,} with selected objects")
        if len(plan) > 1:
            part = {"file": np.full(item.entries, k, dtype=np.int32), **part}
        parts.append(part)
    return {key: _concat([p[key] for p in parts]) for key in parts[0]}


@contextlib.contextmanager
def output_lock(out: str | os.PathLike) -> Iterator[Path]:
    """Hold an exclusive lock on the output file ``out`` while the block runs (the kernel's
    ``flock`` on ``.<name>.lock`` beside it, which ends with the holding process). A second
    holder is refused at once with :class:`LockedError` naming the file and the holder."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with lock_file(
        out.parent / f".{out.name}.lock", f"{out}: another predict is writing this file"
    ):
        yield out


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM (``kill``, a batch system ending a job) raises KeyboardInterrupt as Ctrl-C
    does, so the ``finally`` blocks run and the temporary output is removed; Python's default
    would end the process at once. Only the main thread can set a handler."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def _remove_stale_temporaries(out: Path) -> None:
    """The temporaries of ``out`` a killed predict left (SIGKILL runs no clean-up)."""
    for tmp in out.parent.glob(f"{glob_escape(f'.{out.name}.')}*{TMP_SUFFIX}"):
        tmp.unlink(missing_ok=True)


def _load(run) -> tuple[list, dict, int | None]:
    """``(models, checkpoint, number of folds)``: one model, or a k-fold run's fold models (the
    first fold's checkpoint describes them all)."""
    kfold = read_kfold(run) if Path(run).is_dir() else None
    if kfold is None:
        model, ckpt = load_model(run)
        return [model], ckpt, None
    loaded = [load_model(Path(run) / f) for f in kfold["folds"]]
    return [m for m, _ in loaded], loaded[0][1], kfold["kfold"]


@dataclass
class _Input:
    """One input file, checked before any is scored."""

    path: Path
    fmt: str
    options: dict
    entries: int
    kept: dict  # column -> values, one per entry


def _check_input(path: Path, ckpt: dict, given: Mapping, keep: Sequence[str], log) -> _Input:
    """An input's format, reader options, entries and kept columns: every error an input can
    have that shows without reading its events."""
    fmt = detect_format(path, tree=given.get("tree"))
    if fmt == "parquet":  # events already read: reader options cannot change them
        if any(v is not None for v in given.values()):
            log(f"warning: {path}: reader options do not apply to Parquet shards (ignored)")
        opts = {}
    else:
        opts = reader_options_for(ckpt, fmt, given, log)
        check_readable(path, fmt, opts)
    n = count_entries(path, fmt, **opts)
    return _Input(path, fmt, opts, n, _kept(path, fmt, opts, keep))


def _own_columns(names: Sequence[str], n_folds: int | None, several: bool) -> list[str]:
    """The columns predict writes itself (a kept column must not take one's name)."""
    return [*(["file"] if several else []), "entry", "selected", *(["fold"] if n_folds else []),
            *names]  # fmt: skip


def _check_kept(plan: list[_Input], own: list[str], suffix: str) -> None:
    """Kept columns that cannot be written: a name predict uses, one that holds another kind
    of value in another input, or (ROOT) a list whose counter ``n<name>`` is another column."""
    first = plan[0]
    for name, values in first.kept.items():
        if name in own:
            raise InputError(f"--keep {name}: the output already has a column '{name}'")
        kind = _kind(values)
        for item in plan[1:]:
            if _kind(item.kept[name]) != kind:
                raise InputError(
                    f"--keep {name}: {first.path} holds {kind} per entry, {item.path} "
                    f"{_kind(item.kept[name])}; an output column holds one kind of value"
                )
        counter = f"n{name}"
        if suffix == ".root" and kind == LIST and counter in [*own, *first.kept]:
            raise InputError(
                f"--keep {name}: a list per entry, whose counter branch '{counter}' in the ROOT "
                f"output would clash with the column '{counter}'; write Parquet instead"
            )


def _concat(arrays: list):
    if any(isinstance(a, ak.Array) for a in arrays):
        return ak.concatenate(arrays)
    return np.concatenate(arrays)


def _score_file(item: _Input, chunk_size, objective, names, models, n_folds, dev, batch):
    n = item.entries
    scores = np.full((n, len(names)), np.nan, dtype=np.float32)
    selected = np.zeros(n, dtype=bool)
    fold = np.full(n, -1, dtype=np.int8)
    for start, events in _chunks(item, chunk_size or max(n, 1)):
        if len(events) == 0:
            continue
        entries = _entries(events, item.path, item.fmt, start)
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
    part.update(item.kept)
    return part


def _scores(model, graphs: GraphTensors, objective, dev, batch: int) -> np.ndarray:
    logits, _, _ = score(model, graphs, batch_size=batch, device=dev)
    return objective.scores(logits).numpy().reshape(len(logits), -1)


def _chunks(item: _Input, chunk_size: int):
    """``(first entry, events)`` chunk by chunk; events with no selected object are left out
    (their rows stay unselected: no warning, the output says it per entry)."""
    if item.fmt == "parquet":
        start = 0
        for events in iter_shard_chunks(item.path, chunk_size):
            yield start, events
            start += len(events)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EmptyEventsWarning)
        for a in range(0, item.entries, chunk_size):
            entries = (a, min(a + chunk_size, item.entries))
            yield a, read_file(item.path, item.fmt, entries=entries, **item.options)


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
    """The ``keep`` branches of a ROOT file (fields of a Parquet file), every entry, each
    checked to hold what an output column can (see :func:`_column`)."""
    if not keep:
        return {}
    if fmt == "parquet":
        fields = pq.read_schema(path).names
        missing = [k for k in keep if k not in fields]
        if missing:
            raise InputError(f"{path}: --keep {missing[0]}: no such field")
        events = ak.from_parquet(path, columns=list(keep))
        return {k: _column(events[k], path, k) for k in keep}
    tree = tree_name(path, fmt, opts)
    with open_tree(path, tree, fmt) as t:
        missing = [k for k in keep if not has_branch(t, k)]  # Delphes nests: Event/Event.Number
        if missing:
            some = ", ".join(sorted(t.keys())[:8])
            raise InputError(
                f"{path}: --keep {missing[0]}: tree '{tree}' has no such branch (it has {some}...)"
            )
        kept = {}
        for k in keep:
            values = _read_branch(t, path, k)
            if fmt == "delphes" and k.split(".")[0] in DELPHES_PER_EVENT:
                values = ak.Array(one_per_event(values, path, k))
            kept[k] = _column(values, path, k)
        return kept


def _read_branch(tree, path: Path, name: str) -> ak.Array:
    try:
        return tree[name].array(library="ak")
    except Exception as err:  # a class uproot cannot read (TRefArray...), a damaged basket
        why = " ".join(f"{type(err).__name__}: {err}".split())
        raise InputError(f"{path}: --keep {name}: cannot read the branch ({why[:300]})") from err


def _column(values: ak.Array, path: Path, name: str):
    """A kept column: numpy for a number per entry, awkward for a string or a list of numbers;
    anything else (records, lists of lists, missing values) is refused."""
    kind = _kind(values)
    if kind is None:
        raise InputError(
            f"{path}: --keep {name}: holds {values.type.content} per entry; expected {NUMBER}, "
            f"{STRING} or {LIST}"
        )
    return ak.to_numpy(values) if kind == NUMBER else values


def _kind(values) -> str | None:
    """What ``values`` holds per entry: :data:`NUMBER`, :data:`STRING`, :data:`LIST`, or None."""
    if isinstance(values, np.ndarray):
        return NUMBER
    t = values.type.content
    if isinstance(t, ak.types.NumpyType):
        return NUMBER
    if t.parameter("__array__") == "string":
        return STRING
    if isinstance(t, (ak.types.ListType, ak.types.RegularType)) and isinstance(
        t.content, ak.types.NumpyType
    ):
        return LIST
    return None


def _write(out: Path, columns: dict, files: list[str], record: dict) -> None:
    with atomic_path(out) as tmp:
        if out.suffix == ".parquet":
            _write_parquet(tmp, columns, files, record)
        else:
            _write_root(tmp, columns, files, record)


def _write_parquet(tmp: Path, columns: dict, files: list[str], record: dict) -> None:
    table = {
        k: ak.to_arrow(v, extensionarray=False) if isinstance(v, ak.Array) else pa.array(v)
        for k, v in columns.items()
    }
    if "file" in table:  # the input's path, stored once per file
        table["file"] = pa.DictionaryArray.from_arrays(table["file"], pa.array(files))
    meta = {f"eventgnn.{k}": json.dumps(v) if not isinstance(v, str) else v
            for k, v in record.items()}  # fmt: skip
    pq.write_table(pa.table(table).replace_schema_metadata(meta), tmp)


def _write_root(tmp: Path, columns: dict, files: list[str], record: dict) -> None:
    """A TTree (``mktree``, then ``extend`` :data:`ROOT_BASKET_ENTRIES` at a time)."""
    import uproot

    branches = {k: _root_values(v) for k, v in columns.items()}
    branches["selected"] = branches["selected"].astype(np.int8)  # ROOT has no numpy bool trees
    n = len(branches["entry"])
    with uproot.recreate(tmp) as f:
        tree = f.mktree(OUTPUT_TREE, {k: _root_type(v) for k, v in branches.items()})
        for a in range(0, n, ROOT_BASKET_ENTRIES):
            tree.extend({k: v[a : a + ROOT_BASKET_ENTRIES] for k, v in branches.items()})
        if "file" in columns:
            f[FILES_OBJECT] = "\n".join(files)
        f[MODEL_OBJECT] = json.dumps(record)


def _root_values(values):
    """Fixed-size lists become jagged ones (a counter branch each, like the others)."""
    if isinstance(values, ak.Array) and isinstance(values.type.content, ak.types.RegularType):
        return ak.from_regular(values, axis=1)
    return values


def _root_type(values):
    return values.dtype if isinstance(values, np.ndarray) else values.type.content
