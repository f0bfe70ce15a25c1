"""The training engine: fit with early stopping and resumable checkpoints, evaluate, save runs.

A run directory (DESIGN.md, "Runs")::

    RUN/config.yaml     resolved RunConfig
    RUN/model.pt        best weights + everything needed to use them (torch.load(weights_only=True))
    RUN/metrics.json    test-split metrics (accuracy, AUC, loss, per class / per label)
    RUN/history.csv     one row per epoch: losses, accuracy, learning rate per group, wall time
    RUN/last.pt         resumable state after the latest epoch (model, optimiser, scheduler, RNG)
    RUN/plots/          loss curves, ROC curves

Rerunning the same command on the same ``RUN`` resumes from ``last.pt`` and continues the same
history (on CPU bit-for-bit: the epoch order comes from a generator whose state is saved).
"""

from __future__ import annotations

import copy
import csv
import io
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..config import TrainConfig
from ..fileio import atomic_path, write_text_atomic
from ..graphs.batch import GraphTensors
from ..graphs.dataset import TaskData
from ..graphs.features import EDGE_FEATURES, GLOBAL_FEATURES, NODE_FEATURES
from .tasks import Task

MODEL_FORMAT = "eventgnn-model/1"


def feature_schema() -> dict[str, list[str]]:
    """The feature names a model was trained on (checked when a checkpoint meets new data)."""
    return {
        "node": list(NODE_FEATURES),
        "edge": list(EDGE_FEATURES),
        "global": list(GLOBAL_FEATURES),
    }


def resolve_device(name: str = "auto") -> torch.device:
    """``auto``: CUDA when present (under ``torchrun`` the rank's ``LOCAL_RANK`` GPU), else CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device '{name}' requested but CUDA is not available")
    return device


def _dist() -> tuple[int, int]:
    """``(rank, world_size)``; ``(0, 1)`` outside ``torchrun``."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def _autocast(device: torch.device, amp: bool):
    # bfloat16 needs no loss scaling; older GPUs without it train in float32
    if amp and device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast(device.type, enabled=False)


@torch.no_grad()
def predict(
    model: nn.Module,
    graphs: GraphTensors,
    target: str | None,
    batch_size: int = 1024,
    device: torch.device | str = "cpu",
    amp: bool = False,
    latent: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Model outputs (or latents) for every event of ``graphs``, in order, on the CPU."""
    device = torch.device(device)
    was_training = model.training
    model.eval()
    outs, ys = [], []
    for idx in torch.arange(len(graphs)).split(batch_size):
        b = graphs.batch(idx, target=target).to(device)
        with _autocast(device, amp):
            out = model.encode(b) if latent else model(b)
        outs.append(out.float().cpu())
        if target is not None:
            ys.append(b.y.cpu())
    model.train(was_training)
    width = getattr(model, "config", None)
    empty = torch.zeros(0, width.latent if latent and width else 1)
    return (torch.cat(outs) if outs else empty), (torch.cat(ys) if ys else None)


def _adam(param_groups: list[dict]) -> torch.optim.Adam:
    """Adam; the fused implementation (one kernel over all parameters, CPU and CUDA) where the
    parameters' device supports it, else the default one. Same update rule either way."""
    try:
        return torch.optim.Adam(param_groups, fused=True)
    except (RuntimeError, ValueError, TypeError):  # pragma: no cover - device without fused Adam
        return torch.optim.Adam(param_groups)


@dataclass
class FitResult:
    metrics: dict
    history: list[dict]
    best_epoch: int
    stopped_early: bool


def _fingerprint(config: TrainConfig, extra: dict) -> dict:
    """What must match for ``last.pt`` to be resumed (the epoch limit may change)."""
    from dataclasses import asdict

    d = asdict(config)
    for key in ("epochs", "device", "num_threads", "plots", "eval_batch_size"):
        d.pop(key, None)
    return {"train": d, **extra}


def _plain(obj):
    """Tensors/numpy -> plain Python (for JSON and weights_only checkpoints)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    return obj


def fit(
    model: nn.Module,
    task: Task,
    data: TaskData,
    config: TrainConfig,
    out: str | os.PathLike,
    param_groups: list[dict] | None = None,
    meta: dict | None = None,
    log: Callable[[str], None] = print,
) -> FitResult:
    """Train ``model`` on ``data.splits['train']``, early-stop on the validation loss, restore the
    best weights, score the test split, and write the run directory ``out``.

    ``param_groups``: optimiser groups ``{"name", "params", "lr"}`` (default: one group of all
    trainable parameters at ``config.lr``); every group decays as ``lr * lr_decay**epoch``.
    ``meta``: plain values stored in ``model.pt`` (config, task, processes, provenance).
    """
    out = Path(out)
    rank, world = _dist()
    device = resolve_device(config.device)
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    model.to(device)
    meta = dict(meta or {})

    if param_groups is None:
        param_groups = [
            {
                "name": "all",
                "params": [p for p in model.parameters() if p.requires_grad],
                "lr": config.lr,
            }
        ]
    # lists, not generators: the emptiness check must not consume them
    param_groups = [{**g, "params": list(g["params"])} for g in param_groups]
    param_groups = [g for g in param_groups if g["params"]]
    optimizer = _adam(param_groups)
    decay = config.lr_decay
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: decay**epoch)
    group_names = [g.get("name", f"group{k}") for k, g in enumerate(optimizer.param_groups)]

    train_graphs = data.part("train").to(device)
    val_graphs = data.part("val")
    if len(train_graphs) == 0:
        raise ValueError("the training split is empty")
    if task.kind == "multilabel" and bool(torch.isnan(train_graphs.labels["targets"]).all()):
        raise ValueError(
            "multilabel training needs generator truth, but every target of the training events "
            "is NaN (the data has no generator record); use --task multiclass"
        )

    net = model
    if world > 1:
        net = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )

    generator = torch.Generator().manual_seed(config.seed)
    fingerprint = _plain(
        _fingerprint(config, {"task": [task.kind, list(task.names)], "n_train": len(train_graphs)})
    )
    history: list[dict] = []
    best = {"loss": math.inf, "epoch": 0, "bad": 0, "state": None}
    start, stopped, elapsed = 0, False, 0.0
    last_path = out / "last.pt"
    if last_path.exists():
        ckpt = safe_load(last_path)
        if ckpt.get("fingerprint") != fingerprint:
            raise RuntimeError(
                f"{last_path}: this run directory holds a run with a different configuration or "
                "data; use another --out, or delete it to start over"
            )
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        generator.set_state(ckpt["rng"]["generator"])
        torch.set_rng_state(ckpt["rng"]["torch"])
        history, best, stopped = ckpt["history"], ckpt["best"], ckpt["stopped"]
        start, elapsed = ckpt["epoch"], ckpt["elapsed"]
        if rank == 0:
            log(f"resuming {out} after epoch {start}")

    n_train, bs = len(train_graphs), config.batch_size
    for epoch in range(start, config.epochs):
        if stopped:
            break
        t0 = time.perf_counter()
        lrs = [g["lr"] for g in optimizer.param_groups]
        net.train()
        order = torch.randperm(n_train, generator=generator)
        if world > 1:
            # each rank its own share; equal step counts keep the all-reduces in lockstep
            per_rank = n_train // world
            order = order[rank * per_rank : (rank + 1) * per_rank]
        total = torch.zeros((), device=device)
        count = 0
        for idx in order.split(bs):
            # host indices: the batch is sized on the host, no device sync (GPU)
            b = train_graphs.batch(idx, target=task.target)
            with _autocast(device, config.amp):
                logits = net(b)
            loss = task.loss(logits, b.y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(idx)
            count += len(idx)
        train_loss = float(total) / max(count, 1)
        if world > 1:
            t = torch.tensor([train_loss * count, count], dtype=torch.float64, device=device)
            torch.distributed.all_reduce(t)
            train_loss = float(t[0] / t[1])
        scheduler.step()

        if len(val_graphs):
            logits, y = predict(
                model, val_graphs, task.target, config.eval_batch_size, device, config.amp
            )
            val_loss = float(task.loss(logits, y))
            val_acc = task.accuracy(logits, y)
        else:  # no validation split: watch the training loss
            val_loss, val_acc = train_loss, float("nan")
        wall = time.perf_counter() - t0
        elapsed += wall
        row = {
            "epoch": epoch + 1,
            "train_loss": train_loss,
            "val_loss": val_loss,
            "val_acc": val_acc,
        }
        row.update({f"lr_{name}": lr for name, lr in zip(group_names, lrs, strict=False)})
        row.update({"wall_s": wall, "elapsed_s": elapsed})
        history.append(row)

        if val_loss < best["loss"] - config.min_delta:
            best = {
                "loss": val_loss,
                "epoch": epoch + 1,
                "bad": 0,
                "state": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
            }
        else:
            best["bad"] += 1
        stopped = best["bad"] >= config.patience and epoch + 1 >= config.min_epochs
        if rank == 0:
            log(
                f"epoch {epoch + 1:3d}/{config.epochs}  train {train_loss:.4f}  val {val_loss:.4f}"
                f"  acc {val_acc:.4f}  lr {lrs[0]:.3g}  {wall:.1f}s"
                + ("  (early stop)" if stopped else "")
            )
            _write_history(out / "history.csv", history)
            ckpt = {
                "epoch": epoch + 1,
                "elapsed": elapsed,
                "stopped": stopped,
                "history": history,
                "best": best,
                "fingerprint": fingerprint,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "rng": {"generator": generator.get_state(), "torch": torch.get_rng_state()},
            }
            with atomic_path(last_path) as tmp:
                torch.save(ckpt, tmp)

    if best["state"] is not None:
        model.load_state_dict(best["state"])
    test_graphs = data.part("test")
    metrics: dict = {
        "task": task.kind,
        "classes": list(task.names) if task.kind != "multilabel" else None,
    }
    if len(test_graphs):
        logits, y = predict(
            model, test_graphs, task.target, config.eval_batch_size, device, config.amp
        )
        metrics.update(task.metrics(logits, y))
    else:
        logits = y = None
    metrics.update(
        {
            "best_epoch": best["epoch"],
            "epochs_run": len(history),
            "stopped_early": bool(stopped),
            "train_time_s": elapsed,
            "split_sizes": data.provenance.get("split_sizes"),
        }
    )
    metrics = _plain(metrics)
    if rank == 0:
        from .. import __version__

        meta.update(
            {
                "version": __version__,
                "metrics": {k: metrics.get(k) for k in ("accuracy", "auc", "loss")},
                "best_epoch": best["epoch"],
            }
        )
        save_model(out / "model.pt", model, meta)
        write_text_atomic(
            out / "metrics.json", json.dumps(metrics, indent=2, allow_nan=True) + "\n"
        )
        _write_history(out / "history.csv", history)
        if config.plots:
            try:
                write_plots(out / "plots", history, task, logits, y)
            except Exception as err:  # plots are a convenience; never lose a trained run to them
                log(f"warning: plots not written ({err})")
    if world > 1:
        torch.distributed.barrier()  # rank 0 has written the run before anyone moves on
    return FitResult(metrics, history, best["epoch"], bool(stopped))


def _write_history(path: Path, history: list[dict]) -> None:
    if not history:
        return
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(history[0]))
    writer.writeheader()
    writer.writerows(history)
    write_text_atomic(path, buf.getvalue())


def save_model(path: str | os.PathLike, model: nn.Module, meta: dict) -> None:
    """Write ``model.pt``: a dict of tensors and plain Python values only, so that
    ``torch.load(path, weights_only=True)`` reads it (no pickled classes)."""
    payload = {
        "format": MODEL_FORMAT,
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "model_config": _plain(__import__("dataclasses").asdict(model.config)),
        "n_outputs": int(model.n_outputs),
        "features": feature_schema(),
        "normalization": {k: v for k, v in model.norm.stats().items()},
        **_plain(meta),
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(run: str | os.PathLike) -> dict:
    """Read ``RUN/model.pt`` (or a ``model.pt`` path) with ``weights_only=True``."""
    path = Path(run)
    if path.is_dir():
        path = path / "model.pt"
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: no such model file (is '{run}' a finished run directory?)"
        )
    ckpt = safe_load(path)
    if not isinstance(ckpt, dict) or "format" not in ckpt:
        raise ValueError(f"{path}: not an eventgnn model file (no 'format' key)")
    if ckpt["format"] != MODEL_FORMAT:
        raise ValueError(
            f"{path}: model file format {ckpt['format']!r} (eventgnn version "
            f"{ckpt.get('version', 'unknown')}), expected {MODEL_FORMAT!r}; this version of "
            "eventgnn cannot read it"
        )
    missing = [k for k in CHECKPOINT_KEYS if k not in ckpt]
    if missing:
        raise ValueError(
            f"{path}: model file lacks key '{missing[0]}' (expected {', '.join(CHECKPOINT_KEYS)})"
        )
    return ckpt


CHECKPOINT_KEYS = ("state_dict", "model_config", "n_outputs", "features", "normalization",
                   "config", "task", "provenance")  # fmt: skip
"""Keys every ``model.pt`` holds; a file without one of them is refused by name."""


def safe_load(path: str | os.PathLike) -> dict:
    """``torch.load(path, weights_only=True)``: tensors and plain values only, never code. A file
    that holds a pickled object, or is truncated, is a ``ValueError`` naming the file."""
    import pickle

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(
            f"{path}: refused: the file holds pickled Python objects, not only tensors and plain "
            f"values, and loading it could run code (torch.load weights_only=True: {first})"
        ) from err
    except Exception as err:  # zip/format errors: RuntimeError, OSError, EOFError...
        why = " ".join(f"{type(err).__name__}: {err}".split())
        raise ValueError(
            f"{path}: cannot read the model file; truncated or corrupt? ({why[:200]})"
        ) from err


def load_model(run: str | os.PathLike):
    """``(EventGNN with the saved weights, checkpoint dict)`` from a run directory."""
    from ..config import ModelConfig, from_dict
    from ..model.eventgnn import EventGNN

    ckpt = load_checkpoint(run)
    where = str(Path(run) / "model.pt" if Path(run).is_dir() else run)
    check_features(ckpt, where)
    try:
        config = from_dict(ModelConfig, ckpt["model_config"])
        model = EventGNN(config, n_outputs=ckpt["n_outputs"])
        model.load_state_dict(ckpt["state_dict"])
    except (ValueError, RuntimeError, TypeError) as err:  # ConfigError, shape/key mismatches
        raise ValueError(
            f"{where}: model_config/state_dict do not match this version's EventGNN ({err})"
        ) from err
    return model, ckpt


def check_features(ckpt: dict, where: str) -> None:
    """Refuse a checkpoint whose feature schema differs from the data's, saying what differs."""
    saved, now = ckpt.get("features"), feature_schema()
    if saved == now:
        return
    diffs = []
    for kind in ("node", "edge", "global"):
        a, b = list((saved or {}).get(kind, [])), now[kind]
        if a != b:
            diffs.append(f"{kind} features: checkpoint {a} vs data {b}")
    raise ValueError(f"{where}: feature schema differs from the data's: " + "; ".join(diffs))


def write_plots(folder: Path, history: list[dict], task: Task, logits, y) -> None:
    """``loss.png`` (train and validation loss per epoch) and ``roc.png`` (test split)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    epochs = [r["epoch"] for r in history]
    ax.plot(epochs, [r["train_loss"] for r in history], label="train")
    ax.plot(epochs, [r["val_loss"] for r in history], label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    fig.tight_layout()
    with atomic_path(folder / "loss.png") as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    if logits is None or task.kind == "multilabel":
        return
    from sklearn.metrics import roc_curve

    s = task.scores(logits).numpy()
    yn = y.numpy()
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    curves = (
        [("signal", yn == 1, s)]
        if task.kind == "binary"
        else [(name, yn == k, s[:, k]) for k, name in enumerate(task.names)]
    )
    for name, truth, score in curves:
        if truth.all() or not truth.any():
            continue
        fpr, tpr, _ = roc_curve(truth, score)
        ax.plot(fpr, tpr, label=name, lw=1)
    ax.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.legend(fontsize=6)
    fig.tight_layout()
    with atomic_path(folder / "roc.png") as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)


def copy_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return copy.deepcopy({k: v.detach().cpu() for k, v in model.state_dict().items()})
