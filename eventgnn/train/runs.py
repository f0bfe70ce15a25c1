"""Runs: pretrain, and the steps every training run shares (finetuning is in :mod:`.finetune`,
scoring a finished run in :mod:`.evaluate`).

These take plain values and :class:`eventgnn.config.RunConfig` with ``data`` set; ``cli.py``
translates argv and resolves the built-in dataset.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch
import yaml

from .._core.fileio import safe_name
from .._core.provenance import lock
from ..catalog.processes import get_catalog
from ..catalog.registry import format_card, model_label, shipped_card
from ..config import RunConfig, dump_yaml, to_dict, validate
from ..events.io import read_events
from ..graphs.dataset import Split, TaskData, load_task_data, process_names
from ..graphs.features import fit_standardization
from ..graphs.stream import (
    StreamCache,
    StreamedGraphs,
    load_streamed_task_data,
    open_cache,
    stats_sample,
)
from ..model.eventgnn import EventGNN, count_parameters
from .checkpoint import load_model, model_path
from .distributed import rank_world, rank_zero_first
from .engine import FitResult, fit
from .objectives import PRETRAIN_KINDS, Objective, make_objective
from .scoring import source_check
from .weights import format_class_totals, split_class_totals, warn_imbalance

PRETRAIN_CATALOG = "pretrain12"
"""Class order of a pretraining on exactly this catalog's processes (else: sorted names)."""


def default_out(config: RunConfig) -> Path:
    """``runs/<command>-<objective or task>-seed<seed>`` (finetunes add their mode and size)."""
    # the task name becomes a folder name: refuse one that would leave runs/ ("../x", "/abs")
    name = f"{config.command}-{safe_name(config.task or config.objective, 'task')}"
    if config.command == "finetune":
        name += f"-{config.finetune.mode}" if config.pretrained else "-scratch"
        if config.finetune.train_size:
            name += f"-n{config.finetune.train_size}"
    return Path("runs") / f"{name}-seed{config.train.seed}"


def split_of(config: RunConfig) -> Split:
    """The :class:`~eventgnn.graphs.dataset.Split` a run's config asks for."""
    t = config.train
    return Split(
        val_fraction=t.val_fraction,
        test_fraction=t.test_fraction,
        split_seed=t.split_seed,
        seed=t.seed,
        train_size=config.finetune.train_size if config.command == "finetune" else None,
        max_per_class=t.max_per_class,
        kfold=config.finetune.kfold if config.command == "finetune" else None,
        fold=config.finetune.fold if config.command == "finetune" else None,
    )


def fit_stats(data: TaskData) -> dict:
    """Standardisation statistics fitted on the training split only: every training event in
    memory; streamed (``train.stream``), the sample :func:`~eventgnn.graphs.stream.stats_sample`
    states (every training event up to 200,000, else 200,000 drawn with the run's seed; the
    provenance's ``stats_sample`` records it), the same on every rank."""
    graphs, train = data.graphs, data.splits["train"].numpy()
    if isinstance(graphs, StreamedGraphs):
        seed = data.provenance["split"]["seed"]
        return graphs.standardization(train[stats_sample(len(train), seed)])
    return fit_standardization(graphs.x.numpy(), graphs.counts.numpy(), events=train)


def task_data(
    config: RunConfig,
    data,
    processes,
    signal=None,
    scales=None,
    cache: StreamCache | None = None,
    log: Callable[[str], None] = print,
) -> TaskData:
    """The task's labelled, split data: in memory, or with ``train.stream`` over the streamed
    cache (``cache`` if already open, else opened, and built on rank 0 first when needed)."""
    split = split_of(config)
    if not config.train.stream:
        return load_task_data(data, processes, signal, split, scales=scales)
    if cache is None:
        cache = stream_cache(config, data, log)
    return load_streamed_task_data(data, processes, signal, split, scales, cache=cache, log=log)


def stream_cache(config: RunConfig, data, log: Callable[[str], None] = print) -> StreamCache:
    """The streamed cache of ``data`` (``train.stream_cache``), built by rank 0 when needed
    while the other ranks wait."""
    rank, _ = rank_world()
    quiet = log if rank == 0 else (lambda s: None)
    return rank_zero_first(lambda: open_cache(data, config.train.stream_cache, quiet))


def train_model(
    config: RunConfig,
    objective: Objective,
    data: TaskData,
    model: torch.nn.Module,
    param_groups: list[dict] | None,
    extra_meta: dict,
    log: Callable[[str], None] = print,
) -> tuple[Path, FitResult]:
    """Write ``config.yaml``, fit, and return ``(run directory, result)``. Logs the events and
    sum of weights per class and split first, and warns
    (:class:`~eventgnn._core.errors.ClassImbalanceWarning`) when the training classes' total weights
    are imbalanced beyond :data:`~eventgnn.train.weights.IMBALANCE_RATIO` without
    ``train.balance``."""
    out = Path(config.out) if config.out else default_out(config)
    config = replace(config, out=str(out))
    rank, _ = rank_world()
    n_params, n_train = count_parameters(model), count_parameters(model, trainable_only=True)
    if rank == 0:
        sizes = data.provenance["split_sizes"]
        log(
            f"{config.command} {config.task or config.objective}: {n_params:,} parameters "
            f"({n_train:,} trainable); events train {sizes['train']:,} / val {sizes['val']:,} / "
            f"test {sizes['test']:,}; run directory {out}"
        )
        names = objective.label_names(data.processes)
        totals = split_class_totals(data, names)
        log("events per class (sum of weights):")
        for line in format_class_totals(totals):
            log(line)
        if objective.has_classes and not config.train.balance:
            warn_imbalance(totals["train"])
    meta = {
        "config": to_dict(config),
        "task": {
            "kind": objective.kind,
            "name": config.task or config.objective,
            "names": list(objective.names),
            "processes": list(data.processes),
            "signal": list(data.signal),
        },
        "provenance": data.provenance,
        "pretrained_from": config.pretrained,
        "n_parameters": n_params,
        **extra_meta,
    }
    # one writer per run directory (rank 0 writes it; the other ranks only train)
    with lock(out, "training run") if rank == 0 else contextlib.nullcontext():
        # a refused resume must leave the old run's config.yaml as it was: written first only
        # for a new run, and rewritten when the run ends
        if rank == 0 and not (out / "config.yaml").exists():
            dump_yaml(config, out / "config.yaml")
        result = fit(model, objective, data, config.train, out, param_groups, meta, log)
        if rank == 0:
            dump_yaml(config, out / "config.yaml")
    if rank == 0:
        m, nan = result.metrics, float("nan")
        log(
            f"test accuracy {m.get('accuracy', nan):.4f}  AUC {m.get('auc', nan):.4f}"
            f"  loss {m.get('loss', nan):.4f}  (best epoch {result.best_epoch}, "
            f"{m['train_time_s']:.1f} s)"
        )
        if "rejection" in m:
            log(_rejection_line(m))
        for line in source_check(m.get("per_sample", {}), data.signal):
            log(line)
    return out, result


def pretraining_classes(present: list[str]) -> list[str]:
    """The class order of a pretraining on processes ``present``: the ``pretrain12`` catalog's
    order when the data holds exactly its processes (the built-in data), else sorted."""
    catalog = list(get_catalog(PRETRAIN_CATALOG))
    return catalog if sorted(present) == sorted(catalog) else sorted(present)


def pretrain(config: RunConfig, log: Callable[[str], None] = print) -> Path:
    """Pretrain on every process of ``config.data`` (multiclass or multilabel)."""
    config = validate(replace(config, command="pretrain", task=None))
    if config.objective not in PRETRAIN_KINDS:
        raise ValueError(
            f"pretrain --task must be multiclass or multilabel, got '{config.objective}'"
        )
    if config.data is None:
        raise ValueError("pretrain needs data: pass --data DIR (a folder of Parquet shards)")
    if config.train.stream:
        cache = stream_cache(config, config.data, log)
        processes = pretraining_classes(cache.processes)
        data = task_data(config, config.data, processes, cache=cache, log=log)
    else:
        events = read_events(config.data)
        processes = pretraining_classes(process_names(events)[1])
        data = load_task_data(config.data, processes, None, split_of(config), events=events)
    objective = make_objective(config.objective, tuple(processes))
    torch.manual_seed(config.train.seed)
    model = EventGNN(config.model, objective.n_outputs, fit_stats(data))
    out, _ = train_model(config, objective, data, model, None, {}, log)
    return out


def _number(value) -> float:
    """A number read back from ``metrics.json`` (``null``, written for NaN or infinity: NaN)."""
    return math.nan if value is None else float(value)


def _rejection_line(m: dict) -> str:
    """``background rejection 1/eps_B: 31.2 at eps_S 0.5, 9.87 at eps_S 0.7`` from binary
    metrics, in memory or read back (where infinity is ``null`` beside ``eps_B = 0``); an
    infinite one says how many background test events it rests on."""
    n_b = m.get("per_class", {}).get("background", {}).get("n_events")
    parts = []
    for eff, eps_b in m.get("background_efficiency", {}).items():
        eps_b = _number(eps_b)
        value = math.nan if math.isnan(eps_b) else (1 / eps_b if eps_b > 0 else math.inf)
        why = ""
        if eps_b == 0 and n_b:
            why = f" (none of the {n_b:,} background test events passes)"
        elif eps_b < 0:
            why = " (the passing background events' weights sum below zero)"
        parts.append(f"{value:.4g}{why} at eps_S {eff}")
    return "background rejection 1/eps_B: " + ", ".join(parts)


def run_info(run: str) -> str:
    """A human-readable summary of a run: task, config, parameters, data, metrics; for a
    shipped model's name, its card after them."""
    model, ckpt = load_model(run)
    card = shipped_card(run)
    t = ckpt["task"]
    lines = [
        model_label(card) if card else f"run: {run}",
        f"eventgnn version: {ckpt.get('version')}",
        f"task: {t['name']} ({t['kind']}, {len(t['names'])} "
        f"{'labels' if t['kind'] == 'multilabel' else 'classes'})",
        f"processes: {', '.join(t['processes'])}"
        + (f"  (signal: {', '.join(t['signal'])})" if t["signal"] else ""),
    ]
    if ckpt.get("pretrained_from"):
        mode = ckpt["config"]["finetune"]["mode"]
        source = ckpt.get("pretrained_model") or {}
        what = "shipped model " if source.get("shipped") else ""  # records before 'label'
        label = source.get("label") or f"{what}{ckpt['pretrained_from']}"
        sha = f", sha256 {source['sha256'][:12]}" if source.get("sha256") else ""
        lines.append(f"finetuned from: {label} (mode {mode}{sha})")
    for side in ("signal", "background"):  # a task file's samples
        for sample in ckpt.get("task_file", {}).get(side, []):
            extra = {k: v for k, v in sample.items() if k != "process"}
            lines.append(f"  {side} sample {sample['process']}: {extra or 'from the data'}")
    lines.append(f"parameters: {count_parameters(model):,}")
    prov = ckpt.get("provenance", {})
    lines.append(f"data: {prov.get('data')}  split {prov.get('split_sizes')}")
    lines.append(f"best epoch: {ckpt.get('best_epoch')}")
    metrics_path = Path(run) / "metrics.json"
    if metrics_path.exists():
        m = json.loads(metrics_path.read_text())
        lines.append(
            f"test metrics: accuracy {_number(m.get('accuracy')):.4f}  AUC "
            f"{_number(m.get('auc')):.4f}  loss {_number(m.get('loss')):.4f}  "
            f"(epochs run {m.get('epochs_run')}, train time {m.get('train_time_s') or 0:.1f} s)"
        )
        if "rejection" in m:
            lines.append(_rejection_line(m))
        if m.get("class_counts"):
            lines.append("events per class (sum of weights):")
            lines += format_class_totals(m["class_counts"])
    lines.append("config:")
    lines += ["  " + s for s in yaml.safe_dump(ckpt["config"], sort_keys=False).splitlines()]
    if card is not None:
        lines.append(format_card(card))
    elif ckpt.get("card"):  # a published model file away from its registry folder
        lines.append(format_card({**ckpt["card"], "file": str(model_path(run))}))
    return "\n".join(lines)
