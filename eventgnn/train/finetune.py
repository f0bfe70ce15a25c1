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

Where a finetune starts (:func:`start_point`): ``config.pretrained`` is a run directory, a
``model.pt``, a shipped model's name (:mod:`eventgnn.catalog.registry`), ``scratch`` or None (from
scratch). With ``use_default`` (``eventgnn finetune`` without ``--from``), None means the shipped
default model :data:`~eventgnn.catalog.registry.DEFAULT_PRETRAINED` where this version ships
it, else from scratch; the log says which.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch
from torch import nn

from .._core.errors import ConfigError, DatasetError
from .._core.system import cache_dir
from ..catalog.processes import Task, list_tasks
from ..catalog.registry import DEFAULT_PRETRAINED, SCRATCH, has_model, model_file
from ..catalog.resolve import TaskSpec
from ..catalog.taskfile import TaskFile, stage, weight_factors
from ..config import FINETUNE_MODES, ModelConfig, RunConfig, from_dict, validate
from ..graphs.dataset import data_processes
from ..graphs.kfold import write_kfold
from ..model.eventgnn import EventGNN
from .checkpoint import load_checkpoint, load_model, model_identity
from .objectives import make_objective
from .runs import default_out, fit_stats, task_data, train_model


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


def start_point(pretrained: str | None, use_default: bool = False) -> tuple[str | None, str]:
    """``(what a finetune loads, None for from scratch; the line that says so)`` for
    ``config.pretrained``: ``scratch`` is from scratch; None is the shipped default model when
    ``use_default`` and it ships, else from scratch; anything else is loaded as it is (a line
    only where the choice was made here)."""
    if pretrained == SCRATCH:
        return None, "training from scratch (--from scratch)"
    if pretrained is not None:
        return pretrained, ""
    if not use_default:
        return None, "training from scratch"
    if has_model(DEFAULT_PRETRAINED):
        return DEFAULT_PRETRAINED, (
            f"no --from: starting from the shipped pretrained model {DEFAULT_PRETRAINED} "
            "(--from scratch trains from scratch)"
        )
    return None, "no shipped pretrained model in this version; training from scratch"


def architecture_note(asked: ModelConfig, pretrained: ModelConfig, source: str) -> str:
    """The line saying which asked-for ``model.*`` settings (those that differ from the defaults)
    a finetune of ``source`` does not use, or "" when there are none."""
    default = ModelConfig()
    unused = [
        k for k, v in vars(asked).items() if v not in (getattr(default, k), getattr(pretrained, k))
    ]
    if not unused:
        return ""

    def settings(model: ModelConfig) -> str:
        return ", ".join(f"model.{k}={getattr(model, k)}" for k in unused)

    return (
        f"{settings(asked)} not used: a finetune keeps the architecture of {source} "
        f"({settings(pretrained)}); --from scratch trains the architecture you ask for"
    )


def finetune(
    config: RunConfig,
    spec: TaskSpec,
    log: Callable[[str], None] = print,
    use_default: bool = False,
) -> Path:
    """Finetune ``config.pretrained`` (or train from scratch) on the binary task ``spec``
    (resolved once by :func:`eventgnn.catalog.resolve.resolve_task`) with the events of
    ``config.data`` and of the task's own files; ``use_default``: start from the shipped default
    model when ``config.pretrained`` is None (:func:`start_point`)."""
    config = validate(replace(config, command="finetune", objective="binary", task=spec.name))
    pretrained, start = start_point(config.pretrained, use_default)
    config = replace(config, pretrained=pretrained)
    if pretrained is not None:  # a wrong name or a damaged file: say so before reading data
        model_file(pretrained)
    elif config.finetune.head != "new":
        raise ConfigError(f"finetune.head={config.finetune.head}: needs a pretrained run (--from)")
    task, samples = spec.task, spec.samples
    if samples is not None:
        data = task_file_data(samples, config.data, log)
        scales = weight_factors(samples, data, log)
    elif config.data is None:
        raise ValueError(f"finetune of task '{task.name}' needs data (--data DIR)")
    else:
        data, scales = config.data, None
    try:
        data = task_data(config, data, task.processes, task.signal, scales, log=log)
    except DatasetError as err:
        if samples is not None or spec.in_catalog:
            raise
        raise DatasetError(
            f"{err} (task '{task.name}' is not in the catalog, so it was read as signal process "
            f"'{task.signal[0]}' against '{task.background[0]}'; catalog tasks: "
            f"{', '.join(list_tasks())})"
        ) from err
    counts = data.provenance["class_counts"]
    log(f"task {task.name}: signal {', '.join(task.signal)} ({counts.get(1, 0):,} events), "
        f"background {', '.join(task.background)} ({counts.get(0, 0):,} events)")  # fmt: skip
    objective = make_objective("binary")
    torch.manual_seed(config.train.seed)
    extra: dict = {"task_file": samples.to_dict()} if samples is not None else {}
    f = config.finetune
    if start:
        log(start)
    if config.pretrained:
        model, ckpt = load_model(config.pretrained)
        # the architecture is the checkpoint's, whatever the command line said (and says so)
        pretrained_model = from_dict(ModelConfig, ckpt["model_config"])
        if note := architecture_note(config.model, pretrained_model, config.pretrained):
            log(note)
        config = replace(config, model=pretrained_model)
        old = model.head.weight.detach().clone(), model.head.bias.detach().clone()
        head = model.replace_head(objective.n_outputs)
        if f.head == "classes":
            weight, bias = head_from_classes(*old, ckpt["task"], task, config.pretrained)
            with torch.no_grad():
                head.weight.copy_(weight)
                head.bias.copy_(bias)
            log(f"head: from the pretrained classes, mean({', '.join(task.signal)}) - "
                f"mean({', '.join(task.background)})")  # fmt: skip
        elif f.mode != "frozen-decoder" and (hint := classes_hint(ckpt["task"], task)):
            log(hint)
        groups = finetune_groups(model, f.mode, f.head_lr, f.backbone_lr)
        extra["pretrained_task"] = ckpt["task"]
        extra["pretrained_model"] = identity = model_identity(config.pretrained)
        log(f"finetuning {identity['label']} ({ckpt['task']['kind']} pretraining, sha256 "
            f"{identity['sha256'][:12]}), mode {f.mode}")  # fmt: skip
    else:
        model = EventGNN(config.model, objective.n_outputs, fit_stats(data))
        groups = None
    out, _ = train_model(config, objective, data, model, groups, extra, log)
    return out


def classes_hint(pretrained: dict, task: Task) -> str | None:
    """A line for a finetune with a new head whose task's processes are all classes of the
    multiclass pretraining (``pretrained``: its checkpoint's ``task``): ``finetune.head=classes``
    would start from the pretrained classifier, which on such a task is the better start
    (docs/results.md, wh_vs_zh). None otherwise."""
    if classes_refusal(pretrained, task, "the pretraining") is not None:
        return None
    return (
        f"head: new, as in the reference study; {', '.join((*task.signal, *task.background))} "
        "are classes of the pretraining, so finetune.head=classes would start from its "
        "classifier instead (docs/training.md)"
    )


def classes_refusal(pretrained: dict, task: Task, source: str) -> str | None:
    """Why ``finetune.head=classes`` cannot start from the classifier of ``pretrained`` (a
    checkpoint's ``task``, from ``source``) for ``task``; None when it can: a multiclass
    pretraining of which every process of the task is a class."""
    if pretrained.get("kind") != "multiclass":
        return (
            f"{source} is a {pretrained.get('kind')} pretraining; its outputs are not classes "
            "of processes (needs a multiclass one)"
        )
    names = list(pretrained["names"])
    missing = [p for p in (*task.signal, *task.background) if p not in names]
    if missing:
        return (
            f"process '{missing[0]}' of task {task.name} is not a class of {source} "
            f"(its classes: {', '.join(names)})"
        )
    return None


def head_from_classes(
    weight: torch.Tensor, bias: torch.Tensor, pretrained: dict, task: Task, source: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """The binary output layer ``(weight [1, latent], bias [1])`` that starts a finetune from a
    multiclass pretraining's classifier (``weight [classes, latent]``, ``bias``; ``pretrained``
    its checkpoint's ``task``): the mean of the signal processes' rows minus the mean of the
    background processes' rows. With one process per side the new logit is the pretrained
    log-odds of signal against background, so the finetune starts where the pretrained
    classifier is; with more it is the difference of the mean logits (an approximation of the
    log-odds of the summed probabilities). Every process of ``task`` must be a class
    (:func:`classes_refusal`)."""
    if reason := classes_refusal(pretrained, task, source):
        raise ConfigError(f"finetune.head=classes: {reason}")
    names = list(pretrained["names"])
    sig = [names.index(p) for p in task.signal]
    bkg = [names.index(p) for p in task.background]
    return (
        (weight[sig].mean(0) - weight[bkg].mean(0))[None],
        (bias[sig].mean() - bias[bkg].mean())[None],
    )


def finetune_kfold(
    config: RunConfig,
    spec: TaskSpec,
    k: int,
    log: Callable[[str], None] = print,
    use_default: bool = False,
) -> Path:
    """Train the ``k`` models of a k-fold finetune (:mod:`eventgnn.graphs.kfold`) into
    ``OUT/fold<f>`` and write ``OUT/kfold.json``; an interrupted k-fold resumes fold by fold.
    ``use_default``:
    as for :func:`finetune`."""
    if k < 2:
        raise ValueError(f"--kfold: expected at least 2 folds, got {k}")
    pretrained, start = start_point(config.pretrained, use_default)
    if start:
        log(start)
    config = replace(config, pretrained=pretrained)
    config = replace(config, task=spec.name)
    out = Path(config.out) if config.out else default_out(config)
    if config.out is None:
        out = out.with_name(out.name.replace("-seed", f"-kfold{k}-seed"))
    for fold in range(k):
        f = replace(config.finetune, kfold=k, fold=fold)
        log(f"fold {fold + 1} of {k}")
        finetune(replace(config, finetune=f, out=str(out / f"fold{fold}")), spec, log)
    write_kfold(out, k, data=load_checkpoint(out / "fold0")["provenance"]["data"])
    log(f"{k} fold models in {out}; eventgnn predict --model {out} scores each event with the "
        "model that did not train on it")  # fmt: skip
    return out


def task_file_data(samples: TaskFile, data: str | None, log: Callable[[str], None]) -> list[str]:
    """The inputs of a task file's samples: its files staged as shards (:func:`stage`), then
    ``data`` for the processes it takes from there (which must not hold a file sample's
    process: those events would be mixed in)."""
    with_files = [s for s in samples.samples if s.files]
    if len({repr(sorted(s.options.items())) for s in with_files}) > 1:
        each = "; ".join(f"{s.process}: {dict(s.options)}" for s in with_files)
        log(f"warning: the samples are read with different reader options ({each}); a "
            "classifier can learn the difference in reading instead of the physics")  # fmt: skip
    shards = [str(p) for p in stage(samples, cache_dir() / "tasks" / samples.cache_name(), log)]
    wanted = samples.from_data()
    if not wanted:
        return shards
    if data is None:
        raise DatasetError(
            f"task '{samples.name}': process(es) {', '.join(wanted)} come from the data; pass "
            "--data DIR"
        )
    clash = sorted(data_processes(data) & {s.process for s in samples.samples if s.files})
    if clash:
        raise DatasetError(
            f"task '{samples.name}': {data} holds events of process '{clash[0]}', which is also "
            "the name of a sample with files; rename the sample ('process:')"
        )
    return [*shards, data]
