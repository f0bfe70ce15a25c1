"""The training loop: fit with early stopping and resumable checkpoints, and batched prediction.

:func:`fit` writes the run directory (DESIGN.md, "Runs")::

    RUN/model.pt        best weights + everything needed to use them (:mod:`.checkpoint`)
    RUN/metrics.json    test-split metrics (weighted accuracy, AUC, loss, per class / per label,
                        binary background rejection) and events and weights per class and split
    RUN/history.csv     one row per epoch: losses, accuracy, learning rate per group, wall time
    RUN/last.pt         resumable state after the latest epoch (model, optimiser, scheduler, RNG)
    RUN/plots/          loss curves, ROC curves, classifier-output distributions (test over train)

Rerunning the same command on the same ``RUN`` resumes from ``last.pt`` and continues the same
history (on CPU bit-for-bit: the epoch order comes from a generator whose state is saved).
"""

from __future__ import annotations

import csv
import io
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .._core.errors import StaleOutputError
from .._core.fileio import atomic_path, write_text_atomic
from .._core.provenance import differences, listed
from .._core.system import machine_info
from .._core.version import __version__
from ..config import TrainConfig
from ..graphs.batch import GraphTensors
from ..graphs.dataset import TaskData
from ..graphs.stream import STREAM_BUFFER, StreamedGraphs
from .checkpoint import metrics_json, safe_load, save_model, state_copy, to_plain
from .distributed import rank_world, resolve_device
from .objectives import Objective
from .scoring import autocast, per_sample_scores, score, write_plots
from .weights import balance_weights, split_class_totals


def _machine(device: torch.device, world: int) -> dict:
    """What the run trained on (stored in ``model.pt``; a shipped model's card quotes it)."""
    accelerator = str(torch.cuda.get_device_name(device)) if device.type == "cuda" else None
    return {**machine_info(), "torch": str(torch.__version__), "device": str(device),
            "accelerator": accelerator, "processes": world,
            "threads": torch.get_num_threads()}  # fmt: skip


@dataclass
class FitResult:
    metrics: dict
    history: list[dict]
    best_epoch: int
    stopped_early: bool


@dataclass
class _Progress:
    """What ``last.pt`` carries between epochs besides the weights and optimiser."""

    epoch: int = 0
    elapsed: float = 0.0
    stopped: bool = False
    history: list[dict] = field(default_factory=list)
    best: dict = field(default_factory=lambda: {"loss": math.inf, "epoch": 0, "bad": 0})
    best_state: dict | None = None
    mid_epoch: dict | None = None  # steps done of the unfinished epoch (train.checkpoint_steps)

    def early_stop(self, val_loss: float, model: nn.Module, config: TrainConfig) -> None:
        """Keep the best weights; stop after ``patience`` epochs without an improvement larger
        than ``min_delta``, never before ``min_epochs``."""
        if val_loss < self.best["loss"] - config.min_delta:
            self.best = {"loss": val_loss, "epoch": self.epoch, "bad": 0}
            self.best_state = state_copy(model)
        else:
            self.best["bad"] += 1
        self.stopped = self.best["bad"] >= config.patience and self.epoch >= config.min_epochs


def _optimizer(model: nn.Module, param_groups: list[dict] | None, config: TrainConfig):
    """Adam over ``param_groups`` (default: every trainable parameter at ``config.lr``), each
    group decayed as ``lr * lr_decay**epoch`` and, with ``warmup_epochs`` W, ramped up linearly
    over the first W epochs (``(epoch + 1) / W``: the large-batch recipe of docs/training.md);
    the fused implementation where the device has it."""
    if param_groups is None:
        param_groups = [{"name": "all", "params": model.parameters(), "lr": config.lr}]
    groups = [{**g, "params": [p for p in g["params"] if p.requires_grad]} for g in param_groups]
    groups = [g for g in groups if g["params"]]
    try:
        optimizer = torch.optim.Adam(groups, fused=True)
    except (RuntimeError, ValueError, TypeError):  # pragma: no cover - device without fused Adam
        optimizer = torch.optim.Adam(groups)
    decay, warmup = config.lr_decay, config.warmup_epochs

    def factor(epoch: int) -> float:
        return decay**epoch * (min(1.0, (epoch + 1) / warmup) if warmup else 1.0)

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    return optimizer, scheduler


def _fingerprint(config: TrainConfig, objective: Objective, model: nn.Module, meta: dict) -> dict:
    """What must match for ``last.pt`` to be resumed: the training settings (the epoch limit and
    hardware may change), the objective, the architecture, and the data (its files' identities,
    split and counts) and pretrained run that ``meta`` records."""
    train = asdict(config)
    for key in (
        "epochs",
        "device",
        "num_threads",
        "plots",
        "eval_batch_size",
        "stream_cache",
        "checkpoint_steps",
    ):
        train.pop(key)
    if not train["stream"]:  # runs started before train.stream existed still resume
        train.pop("stream")
    if not train["balance"]:  # runs started before train.balance existed still resume
        train.pop("balance")
    if not train["warmup_epochs"]:  # nor before train.warmup_epochs
        train.pop("warmup_epochs")
    run = {k: meta.get(k) for k in ("task", "provenance", "pretrained_from")}
    architecture = asdict(model.config) if hasattr(model, "config") else None
    fp = {"train": train, "objective": [objective.kind, list(objective.names)],
          "model": architecture, **run}  # fmt: skip
    if meta.get("pretrained_from"):  # how a finetune starts and what its groups learn at
        ft = (meta.get("config") or {}).get("finetune") or {}
        fp["finetune"] = {k: ft.get(k) for k in FINETUNE_FINGERPRINT}
    return to_plain(fp)


FINETUNE_FINGERPRINT = ("mode", "head", "head_lr", "backbone_lr")
"""The finetune settings a resumed finetune must share (data-related ones are in the data's)."""


def _resume(path: Path, fingerprint: dict, model, optimizer, scheduler, generator) -> _Progress:
    """Load ``last.pt`` into the model, optimiser, scheduler and RNGs; a fresh start without it."""
    if not path.exists():
        return _Progress()
    ckpt = safe_load(path)
    if "progress" not in ckpt:
        raise RuntimeError(f"{path}: written by an older eventgnn; use another --out")
    stored = ckpt.get("fingerprint")
    if isinstance(stored, dict) and "finetune" not in stored:  # a finetune started before
        fingerprint = {k: v for k, v in fingerprint.items() if k != "finetune"}  # they were kept
    diffs = differences(stored, fingerprint)
    if diffs:
        raise StaleOutputError(
            f"{path}: this run directory holds a run made with other settings or data: "
            f"{listed(diffs)}; use another --out, or delete it to start over"
        )
    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    scheduler.load_state_dict(ckpt["scheduler"])
    generator.set_state(ckpt["rng"]["generator"])
    torch.set_rng_state(ckpt["rng"]["torch"])
    return _Progress(**ckpt["progress"])


def _save_resume(path, progress, fingerprint, model, optimizer, scheduler, generator) -> None:
    state = {
        "progress": asdict(progress),
        "fingerprint": fingerprint,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "rng": {"generator": generator.get_state(), "torch": torch.get_rng_state()},
    }
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def train_epoch(
    net: nn.Module,
    objective: Objective,
    graphs: GraphTensors | StreamedGraphs,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
    config: TrainConfig,
    device: torch.device,
    resume: dict | None = None,
    checkpoint: Callable[[dict], None] | None = None,
) -> float:
    """One pass over ``graphs`` in the order ``generator`` draws (their ``epoch_batches``: in
    memory a permutation of the events, streamed a permutation of blocks shuffled in windows);
    the weighted mean training loss (each batch's weighted mean loss weighted by the batch's total
    weight). Under ``torchrun`` each rank takes its own share of the order and the loss is
    averaged over ranks.

    Every ``config.checkpoint_steps`` steps ``checkpoint`` gets the state of the unfinished epoch
    (steps done, the generator as the epoch began, the loss sums); ``resume`` (such a state)
    draws the same order again and trains from the first step not done, so the epoch ends as
    it would have without the interruption (bit for bit on the CPU)."""
    rank, world = rank_world()
    net.train()
    start = generator.get_state() if resume is None else resume["generator"]
    generator.set_state(start)
    total = torch.zeros((), device=device)
    weight = torch.zeros((), dtype=torch.float64, device=device)
    done = 0 if resume is None else resume["step"]
    if resume is not None:
        total, weight = resume["total"].to(device), resume["weight"].to(device)
    batches = graphs.epoch_batches(generator, config.batch_size, objective.target, rank, world)
    every = config.checkpoint_steps
    for step, b in enumerate(batches):
        if step < done:  # drawn again for the order (and the generator), trained already
            continue
        with autocast(device, config.amp):
            logits = net(b)
        loss = objective.loss(logits, b.y, b.w)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        w = b.w.sum()  # with unit weights the batch size, exactly: the unweighted mean as before
        total += loss.detach() * w.abs()
        weight += w.double()
        if checkpoint is not None and every and (step + 1) % every == 0:
            sums = {"total": total.detach().cpu().clone(), "weight": weight.cpu().clone()}
            checkpoint({"step": step + 1, "generator": start, **sums})
    if world > 1:
        t = torch.stack([total.double(), weight])
        torch.distributed.all_reduce(t)
        return float(t[0] / t[1])
    return float(total) / float(weight) if float(weight) != 0 else 0.0


def _outputs(model, objective, graphs, config, device) -> tuple:
    """``(logits, y, w)`` of ``model`` on ``graphs`` with the run's inference settings."""
    return score(model, graphs, objective.target, batch_size=config.eval_batch_size,
                 device=device, amp=config.amp)  # fmt: skip


def validate(model, objective, graphs, config, device, train_loss: float) -> tuple[float, float]:
    """``(loss, accuracy)`` on the validation split; without one, the training loss is watched.
    Under ``torchrun`` each rank scores its own contiguous share and the outputs (in memory) or
    the windows' sums (streamed) are gathered, so every rank gets the numbers of the whole split
    and early stopping decides the same everywhere."""
    if not len(graphs):
        return train_loss, math.nan
    if isinstance(graphs, StreamedGraphs):
        return _validate_streamed(model, objective, graphs, config, device)
    rank, world = rank_world()
    if world > 1:
        part = graphs.subset(_share(len(graphs), rank, world))
        outputs = _outputs(model, objective, part, config, device)
        gathered: list = [None] * world
        torch.distributed.all_gather_object(gathered, tuple(t.cpu() for t in outputs))
        logits, y, w = (torch.cat(ts) for ts in zip(*gathered, strict=True))
    else:
        logits, y, w = _outputs(model, objective, graphs, config, device)
    return float(objective.loss(logits, y, w)), objective.accuracy(logits, y, w)


def _share(n: int, rank: int, world: int) -> torch.Tensor:
    """The contiguous indices of rank ``rank``'s share of ``n`` events (in rank order they are
    ``0..n-1``, so the gathered outputs are in the split's order)."""
    return torch.arange(n * rank // world, n * (rank + 1) // world)


def _validate_streamed(model, objective, graphs, config, device) -> tuple[float, float]:
    """:func:`validate` a window of events at a time (memory independent of the split's size):
    each window's weighted means, weighted by the window's total weight; under ``torchrun`` each
    rank takes every ``world``-th window and the sums are all-reduced."""
    rank, world = rank_world()
    # loss x |weight|, accuracy x weight, weight (on the device: NCCL reduces CUDA tensors)
    sums = torch.zeros(3, dtype=torch.float64, device=device)
    for a in range(rank * STREAM_BUFFER, len(graphs), world * STREAM_BUFFER):
        part = graphs.subset(torch.arange(a, min(a + STREAM_BUFFER, len(graphs))))
        logits, y, w = _outputs(model, objective, part, config, device)
        wt = float(w.double().sum())
        loss, acc = float(objective.loss(logits, y, w)), objective.accuracy(logits, y, w)
        sums += torch.tensor([loss * abs(wt), acc * wt, wt], dtype=torch.float64, device=device)
    if world > 1:
        torch.distributed.all_reduce(sums)
    loss, acc, total = (float(v) for v in sums)
    if total == 0:
        return 0.0, math.nan
    return loss / abs(total), acc / total


def _score(model, objective, graphs, config, device):
    """``(metrics, (logits, y, w))`` of ``model`` on ``graphs`` (empty without events)."""
    if not len(graphs):
        return {}, None
    logits, y, w = _outputs(model, objective, graphs, config, device)
    return objective.metrics(logits, y, w), (logits, y, w)


def fit(
    model: nn.Module,
    objective: Objective,
    data: TaskData,
    config: TrainConfig,
    out: str | os.PathLike,
    param_groups: list[dict] | None = None,
    meta: dict | None = None,
    log: Callable[[str], None] = print,
) -> FitResult:
    """Train ``model`` on ``data.part('train')``, early-stop on the validation loss, restore the
    best weights, score the test split, and write the run directory ``out``. Losses and metrics
    are weighted by the events' weights; ``config.balance`` rescales the training and validation
    weights so that every class has the same total (the test split keeps the physical weights).

    ``param_groups``: optimiser groups ``{"name", "params", "lr"}`` (default: one group of all
    trainable parameters at ``config.lr``); every group decays as ``lr * lr_decay**epoch``.
    ``meta``: plain values stored in ``model.pt`` (config, task, processes, provenance).
    """
    out = Path(out)
    rank, world = rank_world()
    device = resolve_device(config.device)
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    model.to(device)
    optimizer, scheduler = _optimizer(model, param_groups, config)
    group_names = [g.get("name", f"group{k}") for k, g in enumerate(optimizer.param_groups)]
    train_graphs, val_graphs = data.part("train"), data.part("val")
    if config.balance:
        _balance(objective, train_graphs, val_graphs, rank, log)
    train_graphs = train_graphs.to(device)
    objective.check_trainable(train_graphs)
    net = model
    if world > 1:
        ids = [device.index] if device.type == "cuda" else None
        net = nn.parallel.DistributedDataParallel(model, device_ids=ids)

    generator = torch.Generator().manual_seed(config.seed)
    fingerprint = _fingerprint(config, objective, model, meta or {})
    last = out / "last.pt"
    progress = _resume(last, fingerprint, model, optimizer, scheduler, generator)
    if (progress.epoch or progress.mid_epoch) and rank == 0:
        mid = progress.mid_epoch
        within = f" and step {mid['step']} of epoch {progress.epoch + 1}" if mid else ""
        log(f"resuming {out} after epoch {progress.epoch}{within}")

    def checkpoint(state: dict) -> None:  # within an epoch (train.checkpoint_steps)
        if rank == 0:
            progress.mid_epoch = state
            _save_resume(last, progress, fingerprint, model, optimizer, scheduler, generator)

    while progress.epoch < config.epochs and not progress.stopped:
        t0 = time.perf_counter()
        lrs = [g["lr"] for g in optimizer.param_groups]
        train_loss = train_epoch(net, objective, train_graphs, optimizer, generator, config, device,
                                 progress.mid_epoch, checkpoint)  # fmt: skip
        progress.mid_epoch = None
        scheduler.step()
        val_loss, val_acc = validate(model, objective, val_graphs, config, device, train_loss)
        wall = time.perf_counter() - t0
        progress.epoch += 1
        progress.elapsed += wall
        lr_columns = {f"lr_{n}": lr for n, lr in zip(group_names, lrs, strict=True)}
        row = {"epoch": progress.epoch, "train_loss": train_loss, "val_loss": val_loss,
               "val_acc": val_acc, **lr_columns,
               "wall_s": wall, "elapsed_s": progress.elapsed}  # fmt: skip
        progress.history.append(row)
        progress.early_stop(val_loss, model, config)
        if rank == 0:
            log(
                f"epoch {progress.epoch:3d}/{config.epochs}  train {train_loss:.4f}  val "
                f"{val_loss:.4f}  acc {val_acc:.4f}  lr {lrs[0]:.3g}  {wall:.1f}s"
                + ("  (early stop)" if progress.stopped else "")
            )
            write_history(out / "history.csv", progress.history)
            _save_resume(last, progress, fingerprint, model, optimizer, scheduler, generator)

    if progress.best_state is not None:
        model.load_state_dict(progress.best_state)
    test_graphs = data.part("test")
    test, scored = _score(model, objective, test_graphs, config, device)
    process = test_graphs.labels.get("process")
    process = None if process is None else process.cpu().numpy()
    one_score = objective.score_shape == ()  # a binary task: each sample's mean score
    if scored is not None and process is not None and one_score:
        s, w = objective.scores(scored[0]).numpy(), scored[2]
        w = np.ones(len(s)) if w is None else w.numpy()
        test["per_sample"] = per_sample_scores(s, process, data.processes, w)
    metrics = to_plain({
        "task": objective.kind,
        "classes": list(objective.names) if objective.has_classes else None,
        **test,
        "best_epoch": progress.best["epoch"],
        "epochs_run": len(progress.history),
        "stopped_early": progress.stopped,
        "train_time_s": progress.elapsed,
        "split_sizes": data.provenance.get("split_sizes"),
        "class_counts": split_class_totals(
            data, objective.label_names(data.processes)),
    })  # fmt: skip
    if rank == 0:
        meta = {**(meta or {}), "version": __version__, "best_epoch": progress.best["epoch"],
                "metrics": {k: metrics.get(k) for k in ("accuracy", "auc", "loss")},
                "machine": _machine(device, world)}  # fmt: skip
        save_model(out / "model.pt", model, meta)
        write_text_atomic(out / "metrics.json", metrics_json(metrics))
        if config.plots:
            n_test = 0 if scored is None else len(scored[0])
            train = _score_train_sample(model, objective, train_graphs, n_test, config, device)
            write_plots(out / "plots", objective, scored, progress.history, log,
                        train=train, best_epoch=progress.best["epoch"], process=process,
                        processes=data.processes, signal=data.signal)  # fmt: skip
    if world > 1:
        torch.distributed.barrier()  # rank 0 has written the run before anyone moves on
    return FitResult(metrics, progress.history, progress.best["epoch"], progress.stopped)


def _balance(objective: Objective, train, val, rank: int, log) -> None:
    """``train.balance``: rescale the weights of the training and validation splits in place
    (they are copies) so that every class has the same total weight."""
    if not objective.has_classes:
        raise ValueError("train.balance balances the classes of a multiclass or binary objective")
    for name, graphs in (("training split", train), ("validation split", val)):
        if not len(graphs):
            continue
        labels = graphs.labels["label"]
        weights, factors = balance_weights(labels, graphs.labels["weight"], objective.names, name)
        graphs.labels["weight"] = weights
        if rank == 0 and name == "training split":
            scale = ", ".join(f"{k} x{v:.4g}" for k, v in factors.items())
            log(f"train.balance: class weights scaled by {scale} (training and validation)")


def write_history(path: Path, history: list[dict]) -> None:
    """``history.csv``: one row per epoch (atomically rewritten after each epoch)."""
    if not history:
        return
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(history[0]))
    writer.writeheader()
    writer.writerows(history)
    write_text_atomic(path, buf.getvalue())


def _score_train_sample(model, objective, graphs, n: int, config, device):
    """``(logits, y, w)`` of at most ``n`` training events (the test split's size: the overtraining
    plot compares shapes, and scoring the whole training set could cost as much as an epoch),
    drawn at random with the run's seed; None when ``n`` is 0 or for multilabel (no such plot)."""
    if not n or not objective.has_classes:
        return None
    pick = torch.randperm(len(graphs), generator=torch.Generator().manual_seed(config.seed))[:n]
    sample = graphs.subset(pick.sort().values)
    return score(
        model,
        sample,
        objective.target,
        batch_size=config.eval_batch_size,
        device=device,
        amp=config.amp,
    )
