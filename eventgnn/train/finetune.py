"""Finetuning a pretrained run on a binary task (paper, sections III.C-III.E).

The architecture and the input standardisation come from the pretrained checkpoint (nanoGPT's
``init_from='resume'``); the output layer is replaced by a new one with one logit. Parameter
groups, both decayed by ``lr_decay**epoch``:

- ``full`` (default): ``[head @ head_lr (1e-4), pretrained layers @ backbone_lr (1e-5)]``;
- ``frozen``: pretrained layers frozen; ``[head @ head_lr]``;
- ``frozen-decoder``: encoder and processor frozen, decoder re-initialised;
  ``[decoder + head @ head_lr]``.

Without a pretrained run the same task trains from scratch: every parameter at ``train.lr`` and a
standardisation fitted on the task's own training split.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch
from torch import nn

from ..config import FINETUNE_MODES, ModelConfig, RunConfig, from_dict, validate
from ..graphs.dataset import load_task_data
from .engine import check_features, load_model
from .runs import default_data, fit_stats, train_model
from .tasks import make_task


def task_processes(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(signal, background)`` processes of a task: from the task catalog, or, for names not in
    it, ``A_vs_B`` read as signal process ``A`` against background ``B`` (custom data)."""
    try:
        from ..generate.catalog import get_task
    except ImportError:
        get_task = None
    if get_task is not None:
        try:
            task = get_task(name)
            return tuple(task.signal), tuple(task.background)
        except (KeyError, ValueError) as err:
            if "_vs_" not in name:
                # the catalog's message already names the task and lists the known ones
                raise ValueError(f"{err} (or A_vs_B: signal process A against B)") from err
    if "_vs_" in name:
        sig, bkg = name.split("_vs_", 1)
        return (sig,), (bkg,)
    raise ValueError(f"unknown task '{name}' (not in the task catalog and not of the form A_vs_B)")


def finetune_groups(model: nn.Module, mode: str, head_lr: float, backbone_lr: float) -> list[dict]:
    """Freeze what ``mode`` freezes, re-initialise what it replaces, and return the optimiser's
    parameter groups (``name``, ``params``, ``lr``)."""
    if mode not in FINETUNE_MODES:
        raise ValueError(f"finetune mode must be one of {', '.join(FINETUNE_MODES)}, got '{mode}'")
    head = list(model.head.parameters())
    if mode == "full":
        head_ids = {id(p) for p in head}
        backbone = [p for p in model.parameters() if id(p) not in head_ids]
        for p in model.parameters():
            p.requires_grad_(True)
        return [
            {"name": "head", "params": head, "lr": head_lr},
            {"name": "backbone", "params": backbone, "lr": backbone_lr},
        ]
    for p in model.parameters():
        p.requires_grad_(False)
    new = list(head)
    if mode == "frozen-decoder":
        model.decoder.reset_parameters()
        new = list(model.decoder.parameters()) + new
    for p in new:
        p.requires_grad_(True)
    return [{"name": "head", "params": new, "lr": head_lr}]


def finetune(config: RunConfig, log: Callable[[str], None] = print) -> Path:
    """Finetune ``config.pretrained`` (or train from scratch) on the binary task ``config.task``."""
    from ..model.eventgnn import EventGNN

    config = validate(replace(config, command="finetune"))
    signal, background = task_processes(config.task)
    processes = list(signal) + list(background)
    data_path = Path(config.data) if config.data else default_data("downstream", processes)
    config = replace(config, data=str(data_path))
    t, f = config.train, config.finetune
    data = load_task_data(
        data_path,
        processes,
        signal,
        val_fraction=t.val_fraction,
        test_fraction=t.test_fraction,
        split_seed=t.split_seed,
        seed=t.seed,
        train_size=f.train_size,
        max_per_class=t.max_events,
    )
    task = make_task("binary")
    torch.manual_seed(t.seed)
    extra: dict = {}
    if config.pretrained:
        model, ckpt = load_model(config.pretrained)
        check_features(ckpt, str(config.pretrained))
        # the architecture is the checkpoint's, whatever the command line said
        config = replace(config, model=from_dict(ModelConfig, ckpt["model_config"]))
        model.replace_head(task.n_outputs)
        groups = finetune_groups(model, f.mode, f.head_lr, f.backbone_lr)
        extra["pretrained_task"] = ckpt["task"]
        log(f"finetuning {config.pretrained} ({ckpt['task']['kind']} pretraining), mode {f.mode}")
    else:
        model = EventGNN(config.model, task.n_outputs, fit_stats(data))
        groups = None
        log("training from scratch (no --from)")
    out, _ = train_model(config, task, data, model, groups, extra, log)
    return out
