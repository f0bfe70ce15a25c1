"""Runs: pretrain, evaluate and describe a run directory (finetuning is in :mod:`.finetune`).

These take plain values and :class:`eventgnn.config.RunConfig`; ``cli.py`` translates argv.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from ..config import RunConfig, dump_yaml, to_dict, validate
from ..graphs.dataset import TaskData, load_task_data, process_names
from ..graphs.features import fit_standardization
from .engine import FitResult, fit, load_model, predict, write_plots
from .tasks import Task, make_task


def default_out(config: RunConfig) -> Path:
    """``runs/<command>-<task>-seed<seed>`` (finetunes from a pretrained run add its name)."""
    from ..fileio import safe_name

    # the task name becomes a folder name: refuse one that would leave runs/ ("../x", "/abs")
    name = f"{config.command}-{safe_name(config.task, 'task')}"
    if config.command == "finetune":
        name += f"-{config.finetune.mode}" if config.pretrained else "-scratch"
        if config.finetune.train_size:
            name += f"-n{config.finetune.train_size}"
    return Path("runs") / f"{name}-seed{config.train.seed}"


def default_data(purpose: str, processes: list[str] | None = None) -> Path:
    """The built-in dataset (generated on first use by :mod:`eventgnn.generate.default`)."""
    try:
        from ..generate.default import ensure_default_data
    except ImportError as err:
        raise RuntimeError(
            f"the built-in {purpose} dataset is not available in this installation ({err}); "
            "pass --data DIR with Parquet shards"
        ) from err

    def make() -> Path:
        if purpose == "pretrain":
            return Path(ensure_default_data("pretrain"))
        return Path(ensure_default_data("downstream", processes=list(processes or [])))

    if torch.distributed.is_initialized() and torch.distributed.get_world_size() > 1:
        # one rank generates; the others wait, then find the finished shards
        if torch.distributed.get_rank() == 0:
            path = make()
        torch.distributed.barrier()
        if torch.distributed.get_rank() != 0:
            path = make()
        return path
    return make()


def fit_stats(data: TaskData) -> dict:
    """Standardisation statistics fitted on the training split only."""
    graphs, train = data.graphs, data.splits["train"]
    return fit_standardization(graphs.x.numpy(), graphs.counts.numpy(), events=train.numpy())


def train_model(
    config: RunConfig,
    task: Task,
    data: TaskData,
    model: torch.nn.Module,
    param_groups: list[dict] | None,
    extra_meta: dict,
    log: Callable[[str], None] = print,
) -> tuple[Path, FitResult]:
    """Write ``config.yaml``, fit, and return ``(run directory, result)``."""
    from ..model.eventgnn import count_parameters

    out = Path(config.out) if config.out else default_out(config)
    config = replace(config, out=str(out))
    rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
    n_params, n_train = count_parameters(model), count_parameters(model, trainable_only=True)
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        dump_yaml(config, out / "config.yaml")
        sizes = data.provenance["split_sizes"]
        log(
            f"{config.command} {config.task}: {n_params:,} parameters ({n_train:,} trainable); "
            f"events train {sizes['train']:,} / val {sizes['val']:,} / test {sizes['test']:,}; "
            f"run directory {out}"
        )
    meta = {
        "config": to_dict(config),
        "task": {
            "kind": task.kind,
            "name": config.task,
            "names": list(task.names),
            "processes": list(data.processes),
            "signal": list(data.signal),
        },
        "provenance": data.provenance,
        "pretrained_from": config.pretrained,
        "n_parameters": n_params,
    }
    meta.update(extra_meta)
    result = fit(model, task, data, config.train, out, param_groups, meta, log)
    if rank == 0:
        m = result.metrics
        nan = float("nan")
        log(
            f"test accuracy {m.get('accuracy', nan):.4f}  AUC {m.get('auc', nan):.4f}"
            f"  loss {m.get('loss', nan):.4f}  (best epoch {result.best_epoch}, "
            f"{m['train_time_s']:.1f} s)"
        )
    return out, result


def pretrain(config: RunConfig, log: Callable[[str], None] = print) -> Path:
    """Pretrain on every process of the data (multiclass or multilabel)."""
    from ..events.io import read_events
    from ..model.eventgnn import EventGNN

    config = validate(replace(config, command="pretrain"))
    if config.task not in ("multiclass", "multilabel"):
        raise ValueError(f"pretrain --task must be multiclass or multilabel, got '{config.task}'")
    builtin = config.data is None
    data_path = default_data("pretrain") if builtin else Path(config.data)
    config = replace(config, data=str(data_path))
    events = read_events(data_path)
    present = process_names(events)[1]
    processes = None
    if builtin:
        try:
            from ..generate.catalog import get_catalog

            processes = [p for p in get_catalog("pretrain12") if p in present]
        except ImportError:
            processes = None
    processes = processes or sorted(present)
    t = config.train
    data = load_task_data(
        data_path,
        processes,
        None,
        val_fraction=t.val_fraction,
        test_fraction=t.test_fraction,
        split_seed=t.split_seed,
        seed=t.seed,
        max_per_class=t.max_events,
        events=events,
    )
    task = (
        make_task(config.task, tuple(processes))
        if config.task == "multiclass"
        else make_task("multilabel")
    )
    torch.manual_seed(t.seed)
    model = EventGNN(config.model, task.n_outputs, fit_stats(data))
    out, _ = train_model(config, task, data, model, None, {}, log)
    return out


def _task_from_checkpoint(ckpt: dict) -> Task:
    info = ckpt["task"]
    return Task(info["kind"], tuple(info["names"]))


def evaluation_graphs(ckpt: dict, data=None):
    """The events a run is evaluated on, as :class:`~eventgnn.graphs.batch.GraphTensors`.

    Without ``data``: the run's own test split, rebuilt from the provenance in its checkpoint
    (data folder, split seed and fractions, training subset). With ``data``: every event of the
    run's processes in that folder.
    """
    info = ckpt["task"]
    signal = info.get("signal") or None
    if data is not None:
        td = load_task_data(data, info["processes"], signal, val_fraction=0.0, test_fraction=0.0)
        return td.graphs
    prov = ckpt["provenance"]
    td = load_task_data(
        prov["data"],
        info["processes"],
        signal,
        val_fraction=prov["val_fraction"],
        test_fraction=prov["test_fraction"],
        split_seed=prov["split_seed"],
        seed=prov["seed"],
        train_size=prov["train_size"],
        max_per_class=prov["max_per_class"],
    )
    return td.part("test")


def evaluate_run(
    run: str | os.PathLike,
    data: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    batch_size: int = 1024,
    device: str = "auto",
    log: Callable[[str], None] = print,
    chunk_size: int | None = -1,
) -> dict:
    """Score a finished run. Without ``data``: its own test split (re-derived from the data path,
    split seed and fractions stored in ``model.pt``). With ``data``: every event of the run's
    processes in ``data``. Writes ``metrics.json`` and ``plots/roc.png`` to ``out`` (default
    ``RUN/evaluate``).

    ``chunk_size``: events read and scored at a time (:mod:`eventgnn.train.stream`; default
    :data:`~eventgnn.train.stream.DEFAULT_CHUNK_SIZE`), so memory stays bounded whatever the
    size of the data; None reads everything into memory first (same results)."""
    from .engine import resolve_device
    from .stream import DEFAULT_CHUNK_SIZE

    if chunk_size == -1:
        chunk_size = DEFAULT_CHUNK_SIZE
    model, ckpt = load_model(run)
    task = _task_from_checkpoint(ckpt)
    info = ckpt["task"]
    signal = info["signal"] or None
    streamed = None
    if chunk_size is not None:
        streamed = _evaluate_stream(model, ckpt, data, signal, task, chunk_size, batch_size,
                                    resolve_device(device))  # fmt: skip
    if streamed is not None:
        return _write_evaluation(run, ckpt, task, data, out, *streamed, log)
    graphs = evaluation_graphs(ckpt, data)
    dev = resolve_device(device)
    model.to(dev)
    logits, y = predict(model, graphs, task.target, batch_size, dev)
    return _write_evaluation(run, ckpt, task, data, out, logits, y, len(graphs), log)


def _evaluate_stream(model, ckpt, data, signal, task, chunk_size, batch_size, device):
    """``(logits, y, n_events)`` of :func:`evaluate_run`, streamed (see :mod:`.stream`)."""
    from .stream import predict_stream, stream_test_indices

    info = ckpt["task"]
    model.to(device)
    if data is not None:
        return predict_stream(
            model, data, info["processes"], signal, task.target,
            chunk_size=chunk_size, batch_size=batch_size, device=device,
        )  # fmt: skip
    prov = ckpt["provenance"]
    from ..events.io import _expand

    if any(p.suffix != ".parquet" for p in _expand(prov["data"])):
        return None  # the split needs the process column alone: Parquet only; read in memory
    test = stream_test_indices(
        prov["data"], info["processes"], signal, val_fraction=prov["val_fraction"],
        test_fraction=prov["test_fraction"], split_seed=prov["split_seed"], seed=prov["seed"],
        train_size=prov["train_size"], max_per_class=prov["max_per_class"],
    )  # fmt: skip
    return predict_stream(model, prov["data"], info["processes"], signal, task.target,
                          chunk_size=chunk_size, batch_size=batch_size, device=device,
                          only=test)  # fmt: skip


def _write_evaluation(run, ckpt, task, data, out, logits, y, n_events, log) -> dict:
    """Metrics, ``metrics.json`` and plots of :func:`evaluate_run`."""
    metrics = task.metrics(logits, y)
    metrics.update(
        {
            "task": task.kind,
            "run": str(run),
            "data": str(data) if data is not None else ckpt["provenance"]["data"],
            "split": "test" if data is None else "all",
        }
    )
    out = Path(out) if out is not None else Path(run) / "evaluate"
    out.mkdir(parents=True, exist_ok=True)
    from ..fileio import write_text_atomic
    from .engine import _plain

    write_text_atomic(out / "metrics.json", json.dumps(_plain(metrics), indent=2) + "\n")
    try:
        write_plots(out / "plots", [], task, logits, y)
    except Exception as err:  # plots are a convenience
        log(f"warning: plots not written ({err})")
    log(
        f"{run}: {n_events:,} events  accuracy {metrics['accuracy']:.4f}  "
        f"AUC {metrics['auc']:.4f}  loss {metrics['loss']:.4f}  -> {out}"
    )
    return metrics


def run_info(run: str | os.PathLike) -> str:
    """A human-readable summary of a run: task, config, parameters, data, metrics."""
    from ..model.eventgnn import count_parameters

    model, ckpt = load_model(run)
    lines = [f"run: {run}", f"eventgnn version: {ckpt.get('version')}"]
    t = ckpt["task"]
    lines.append(
        f"task: {t['name']} ({t['kind']}, {len(t['names'])} "
        f"{'labels' if t['kind'] == 'multilabel' else 'classes'})"
    )
    lines.append(
        f"processes: {', '.join(t['processes'])}"
        + (f"  (signal: {', '.join(t['signal'])})" if t["signal"] else "")
    )
    if ckpt.get("pretrained_from"):
        lines.append(
            f"finetuned from: {ckpt['pretrained_from']} (mode {ckpt['config']['finetune']['mode']})"
        )
    lines.append(f"parameters: {count_parameters(model):,}")
    prov = ckpt.get("provenance", {})
    lines.append(f"data: {prov.get('data')}  split {prov.get('split_sizes')}")
    lines.append(f"best epoch: {ckpt.get('best_epoch')}")
    metrics_path = Path(run) / "metrics.json"
    if metrics_path.exists():
        m = json.loads(metrics_path.read_text())
        lines.append(
            f"test metrics: accuracy {m.get('accuracy', np.nan):.4f}  AUC "
            f"{m.get('auc', np.nan):.4f}  loss {m.get('loss', np.nan):.4f}  "
            f"(epochs run {m.get('epochs_run')}, train time {m.get('train_time_s', 0):.1f} s)"
        )
    import yaml

    lines.append("config:")
    lines += ["  " + s for s in yaml.safe_dump(ckpt["config"], sort_keys=False).splitlines()]
    return "\n".join(lines)
