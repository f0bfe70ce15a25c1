"""Scoring a finished run: its own test split, or every event of its processes in other data.

The events are read in chunks (:func:`eventgnn.events.io.iter_event_chunks`; ``chunk_size``
None reads everything as one chunk), labelled, turned into graphs and scored; only the outputs
(a few numbers per event) accumulate, so memory stays bounded whatever the size of the data. A
run's test split is rebuilt from the :class:`~eventgnn.graphs.dataset.Split` stored in its
checkpoint, over labels read in a first pass (for Parquet shards the ``process`` column alone).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import awkward as ak
import numpy as np
import torch

from .._core.errors import DatasetError
from .._core.fileio import write_text_atomic
from ..catalog.registry import model_label, shipped_card
from ..events.io import input_files, iter_event_chunks
from ..graphs.batch import GraphTensors
from ..graphs.dataset import (
    Split,
    TaskData,
    apply_scales,
    check_present,
    data_identity,
    describe,
    label_lookup,
    load_task_data,
    process_names,
    split_indices,
    task_labels,
)
from .checkpoint import load_model, metrics_json, model_path, objective_of
from .distributed import resolve_device
from .scoring import EVAL_BATCH_SIZE, eval_batch_size, score, write_plots

EVALUATE_CHUNK_EVENTS = 200_000
"""Events scored at a time: the chunk and its graphs take about 1 GiB (docs/reliability.md)."""


@torch.no_grad()
def predict_chunks(
    model: torch.nn.Module,
    data: str | os.PathLike,
    processes: Sequence[str],
    signal: Sequence[str] | None,
    target: str | None,
    *,
    chunk_size: int | None = EVALUATE_CHUNK_EVENTS,
    batch_size: int = EVAL_BATCH_SIZE,
    device: torch.device | str | None = None,
    only: np.ndarray | None = None,
    scales: dict[str, float] | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, np.ndarray]:
    """``(logits, y, w, process)`` for the task's events of ``data`` (labels as
    :func:`~eventgnn.graphs.dataset.select_processes` sets them; ``w`` the event weights;
    ``process`` each event's index in ``processes``), read ``chunk_size`` at a time, as
    :func:`~eventgnn.train.scoring.score` gives them.

    ``only``: sorted positions (among the task's events, in read order) to score, for example a
    run's test split. ``scales``: weight factors per process (a task file's). Raises
    :class:`~eventgnn._core.errors.DatasetError` when a process has no events.
    """
    outs, ys, ws, procs, seen, offset = [], [], [], [], set(), 0
    for chunk in iter_event_chunks(data, chunk_size):
        codes, names = process_names(chunk)
        labels = label_lookup(names, processes, signal)[codes]
        seen.update(names)
        chosen = np.nonzero(labels >= 0)[0]
        if only is not None:  # positions of this chunk's task events among all task events
            inside = np.isin(offset + np.arange(len(chosen)), only, assume_unique=True)
            offset += len(chosen)
            chosen = chosen[inside]
        if len(chosen) == 0:
            continue
        part = apply_scales(ak.with_field(chunk[chosen], labels[chosen], "label"), scales)
        graphs = GraphTensors.from_events(part)
        logits, y, w = score(model, graphs, target, batch_size=batch_size, device=device)
        outs.append(logits)
        ws.append(w)
        procs.append(label_lookup(names, processes, None)[codes[chosen]])
        if y is not None:
            ys.append(y)
    check_present(seen, processes, describe(data))
    logits = torch.cat(outs) if outs else torch.zeros(0, model.n_outputs)
    w = torch.cat(ws) if ws else torch.zeros(0)
    process = np.concatenate(procs) if procs else np.zeros(0, np.int64)
    return logits, (torch.cat(ys) if ys else None), w, process


def evaluate_run(
    run: str | os.PathLike,
    data: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    batch_size: int | None = None,
    device: str = "auto",
    log: Callable[[str], None] = print,
    chunk_size: int | None = EVALUATE_CHUNK_EVENTS,
) -> dict:
    """Score a finished run. Without ``data``: its own test split (re-derived from the data path
    and split stored in ``model.pt``). With ``data``: every event of the run's processes in
    ``data``. Writes ``metrics.json`` and ``plots/`` (``roc.png`` and ``scores.png``, the
    classifier-output distribution of the scored events) to ``out`` (default
    ``RUN/evaluate``; for a shipped model, whose folder is the installed package,
    ``./evaluate-NAME``); the metrics are weighted by the events' physical weights (never
    balanced). ``chunk_size``: events read and scored at a time (None: all at once; the
    results are the same). ``batch_size``: events per inference batch (None: the run's
    ``train.eval_batch_size``)."""
    model, ckpt = load_model(run)
    card = shipped_card(run)
    objective = objective_of(ckpt)
    info = ckpt["task"]
    signal = info["signal"] or None
    dev = resolve_device(device)
    only = None
    source = data
    prov = ckpt["provenance"]
    if data is None:
        source = prov["data"]
        if card is not None and not all(Path(p).exists() for p in _paths(source)):
            raise DatasetError(
                f"{model_label(card)}: the data it was trained and tested on ({source}) is not "
                f"on this machine; pass --data DIR (its test metrics are in its card: eventgnn "
                f"models {run})"
            )
        check_data_unchanged(ckpt, model_path(run))
        split = Split.from_provenance(prov)
        labels, folds = task_labels(source, info["processes"], signal, split.kfold)
        only = split_indices(labels, split, folds)["test"]
    logits, y, w, process = predict_chunks(
        model, source, info["processes"], signal, objective.target,
        chunk_size=chunk_size, batch_size=batch_size or eval_batch_size(ckpt), device=dev,
        only=only,
        scales=prov.get("scales"),
    )  # fmt: skip
    objective.check_scorable(y, f"{source} (run {run})")
    metrics = objective.metrics(logits, y, w)
    metrics.update(
        {"task": objective.kind, "run": str(run), "data": str(source),
         "split": "test" if data is None else "all"}
    )  # fmt: skip
    if out is None:
        out = Path(f"evaluate-{run}") if card is not None else model_path(run).parent / "evaluate"
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "metrics.json", metrics_json(metrics))
    write_plots(out / "plots", objective, (logits, y, w), [], log, process=process,
                processes=info["processes"], signal=info["signal"],
                split="test" if data is None else "evaluated")  # fmt: skip
    log(
        f"{run}: {len(logits):,} events  accuracy {metrics['accuracy']:.4f}  "
        f"AUC {metrics['auc']:.4f}  loss {metrics['loss']:.4f}  -> {out}"
    )
    return metrics


def check_data_unchanged(ckpt: dict, model_file: str | os.PathLike | None = None) -> None:
    """Refuse to rebuild a run's test split from its data when the files there are no longer
    those it was trained on (the fingerprint of their paths, sizes and modification times in its
    provenance differs): another test split, or other events, would be scored as its own.
    :class:`~eventgnn._core.errors.DatasetError` names the data, both fingerprints and the files
    written after ``model_file`` (the run's ``model.pt``)."""
    prov = ckpt["provenance"]
    stored, source = prov.get("files"), prov["data"]
    if stored is None:  # no fingerprint recorded: nothing to compare
        return
    now = data_identity(source)["fingerprint"]
    if now == stored:
        return
    newer = _written_after(source, model_file)
    what = (
        f"written since the model: {', '.join(newer[:3])}"
        + (f" and {len(newer) - 3} more" if len(newer) > 3 else "")
        if newer
        else "a file was added, removed, replaced or rewritten"
    )
    raise DatasetError(
        f"{describe(source)}: the data this run was trained and tested on changed since (files "
        f"fingerprint {stored} then, {now} now: {what}), so its test split cannot be rebuilt; "
        "pass --data DIR to score the events there instead, or retrain on the new data"
    )


def _written_after(data, model_file: str | os.PathLike | None) -> list[str]:
    """The files of ``data`` modified after ``model_file`` was (empty without one)."""
    if model_file is None or not Path(model_file).is_file():
        return []
    made = Path(model_file).stat().st_mtime_ns
    return [str(f) for f in input_files(data) if f.stat().st_mtime_ns > made]


def _paths(data) -> list[str]:
    return [str(data)] if isinstance(data, (str, os.PathLike)) else [str(d) for d in data]


def evaluation_graphs(ckpt: dict, data: str | os.PathLike | None = None) -> GraphTensors:
    """The events a run is scored on, in memory: without ``data`` its own test split (rebuilt
    from the data path and split stored in its checkpoint), with ``data`` every event of the
    run's processes there."""
    if data is None:
        return run_data(ckpt).part("test")
    info = ckpt["task"]
    everything = Split(val_fraction=0.0, test_fraction=0.0)
    return load_task_data(data, info["processes"], info["signal"] or None, everything,
                          scales=ckpt["provenance"].get("scales")).graphs  # fmt: skip


def run_data(ckpt: dict) -> TaskData:
    """A run's events split as they were for it (train, validation, test), rebuilt from the
    data path and split stored in its checkpoint."""
    info, prov = ckpt["task"], ckpt["provenance"]
    check_data_unchanged(ckpt)
    return load_task_data(prov["data"], info["processes"], info["signal"] or None,
                          Split.from_provenance(prov), scales=prov.get("scales"))  # fmt: skip
