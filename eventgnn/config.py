"""Run configuration: frozen dataclasses, YAML load/dump, dotted command-line overrides.

YAML -> :class:`RunConfig` -> constructor arguments. Overrides such as ``model.hidden=128`` or
``train.lr=3e-4`` are parsed as YAML scalars and type-checked against the dataclass fields, so a
typo or a wrong type fails with a message naming the key, instead of being silently ignored.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ._core.errors import ConfigError
from ._core.fileio import read_yaml, write_text_atomic


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of :class:`eventgnn.model.EventGNN` (paper, section III.B).

    ``hidden``: width of every MLP layer and of the node/edge/global embeddings; ``latent``: width
    of the decoder output (the representation CKA reads); ``mlp_layers``: Linear+ReLU layers per
    MLP; ``iterations``: processor steps; ``shared_weights``: one graph-network block reused at
    every step (True) or one block per step; ``layer_norm``: LayerNorm after every MLP.
    """

    hidden: int = 64
    latent: int = 64
    mlp_layers: int = 4
    iterations: int = 4
    shared_weights: bool = True
    layer_norm: bool = True


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation, early stopping, data splits and hardware.

    The test split depends only on ``split_seed`` (not on ``seed``), so every run of a task on the
    same data is scored on the same test events. ``patience`` counts epochs without a validation
    loss improvement larger than ``min_delta``; the best weights are restored at the end. No run
    stops before ``min_epochs``: a small from-scratch run at lr 1e-4 can sit at chance for 15-20
    epochs before it starts to learn (measured on WH vs ZH, see docs/training.md), and a fair
    comparison must not cut it off there.
    ``device``: ``auto`` (CUDA when present), ``cpu`` or ``cuda[:i]``; ``amp``: bf16 autocast on
    CUDA (ignored on CPU), off by default: on an H100 it made training of the default model slower
    at batch sizes 128 and 8192 (docs/performance.md), its 64-wide products being too small to
    repay the casts.
    ``balance``: rescale the event weights of the training and validation splits so that every
    class has the same total weight (multiclass and binary; the test metrics keep the physical
    weights).
    ``stream``: train from a memory-mapped cache of the data's graph inputs
    (:mod:`eventgnn.graphs.stream`) instead of holding them in memory: peak memory that does not
    grow with the number of events, for data beyond one machine's memory; ``stream_cache``: its
    folder (default ``$EVENTGNN_CACHE/stream/<hash of the data path>``).
    ``checkpoint_steps``: also write ``last.pt`` every this many training steps (0: at the end
    of each epoch only), so a pre-empted job resumes from the middle of its epoch.
    ``warmup_epochs``: ramp the learning rate up linearly over this many epochs (0: none), for
    large batches (docs/training.md, "Large batches").
    """

    lr: float = 1e-4
    lr_decay: float = 0.99
    batch_size: int = 128
    eval_batch_size: int = 1024
    epochs: int = 50
    patience: int = 10
    min_delta: float = 0.0
    min_epochs: int = 25
    seed: int = 0
    split_seed: int = 2024
    val_fraction: float = 0.2
    test_fraction: float = 0.2
    max_per_class: int | None = None
    balance: bool = False
    device: str = "auto"
    amp: bool = False
    num_threads: int | None = None
    plots: bool = True
    stream: bool = False
    stream_cache: str | None = None
    checkpoint_steps: int = 0
    warmup_epochs: int = 0


@dataclass(frozen=True)
class FinetuneConfig:
    """Finetuning (paper, sections III.C-III.E).

    ``mode``: ``full`` (every layer trains; new head at ``head_lr``, pretrained layers at
    ``backbone_lr``), ``frozen`` (pretrained layers frozen, new head), ``frozen-decoder``
    (encoder and processor frozen, new decoder and head). ``train_size``: training events per
    class, drawn by the seed from the training pool (None: all). ``kfold``, ``fold``: this run is
    fold ``fold`` of a k-fold training (:mod:`eventgnn.graphs.kfold`; ``kfold`` None: an
    ordinary run).
    ``head``: the new output layer starts ``new`` (freshly initialised: the paper's protocol) or
    from the ``classes`` of a multiclass pretraining whose classes include the task's processes
    (:func:`eventgnn.train.finetune.head_from_classes`).
    """

    head_lr: float = 1e-4
    backbone_lr: float = 1e-5
    mode: str = "full"
    train_size: int | None = None
    kfold: int | None = None
    fold: int | None = None
    head: str = "new"


@dataclass(frozen=True)
class RunConfig:
    """Everything a run needs; stored resolved as ``config.yaml`` and inside ``model.pt``.

    ``objective``: what the model learns (``multiclass`` or ``multilabel`` pretraining,
    ``binary`` for a task); ``task``: the name of the binary task a finetune learns (None when
    pretraining); ``data``: the dataset (None: the built-in one, resolved by the command line);
    ``pretrained``: the run a finetune starts from (None: from scratch).
    """

    command: str = "pretrain"
    objective: str = "multiclass"
    task: str | None = None
    data: str | None = None
    out: str | None = None
    pretrained: str | None = None
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)


FINETUNE_MODES = ("full", "frozen", "frozen-decoder")
FINETUNE_HEADS = ("new", "classes")
OBJECTIVES = ("multiclass", "multilabel", "binary")


def to_dict(config) -> dict[str, Any]:
    """A dataclass config as nested plain dicts (YAML- and ``torch.save``-safe)."""
    return dataclasses.asdict(config)


def dump_yaml(config, path: str | Path | None = None) -> str:
    """YAML text of a config; also written (atomically) to ``path`` when given."""
    text = yaml.safe_dump(to_dict(config), sort_keys=False)
    if path is not None:
        write_text_atomic(path, text)
    return text


def _hints(cls) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _check_value(value: Any, tp: Any, key: str) -> Any:
    """Return ``value`` converted to type ``tp`` or raise :class:`ConfigError`."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _check_value(value, arg, key)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0] if errors else f"{key}: bad value {value!r}")
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads "3e-4" (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
    elif tp is str:
        if isinstance(value, str):
            return value
    elif dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if isinstance(value, dict):
            return from_dict(tp, value, prefix=f"{key}.")
    name = getattr(tp, "__name__", str(tp))
    raise ConfigError(f"{key}: expected {name}, got {value!r} ({type(value).__name__})")


def from_dict(cls, data: dict[str, Any] | None, prefix: str = ""):
    """Build config dataclass ``cls`` from a (possibly partial) nested dict, type-checked."""
    data = data or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix or 'config'}: expected a mapping, got {data!r}")
    hints = _hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ConfigError(
            f"unknown config key '{prefix}{unknown[0]}' (known under '{prefix or '.'}': "
            f"{', '.join(names)})"
        )
    kwargs = {k: _check_value(v, hints[k], prefix + k) for k, v in data.items()}
    return cls(**kwargs)


def load_yaml(path: str | Path) -> RunConfig:
    """Read a (possibly partial) YAML config; missing keys take their defaults."""
    path = Path(path)
    data = read_yaml(path, ConfigError, "config file")
    try:
        return from_dict(RunConfig, data)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from err


def apply_overrides(config, overrides: list[str] | tuple[str, ...]):
    """Apply ``key.sub=value`` strings (values parsed as YAML scalars) to a config, type-checked."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override '{item}' is not of the form key.sub=value")
        key, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw) if raw != "" else None
        except yaml.YAMLError:
            value = raw
        config = set_key(config, key.strip(), value)
    return config


def set_key(config, key: str, value: Any, _prefix: str = ""):
    """Return a copy of ``config`` with dotted ``key`` set to ``value`` (type-checked)."""
    head, _, rest = key.partition(".")
    full = _prefix + key
    names = [f.name for f in dataclasses.fields(config)]
    if head not in names:
        raise ConfigError(f"unknown config key '{full}' (known: {', '.join(names)})")
    tp = _hints(type(config))[head]
    current = getattr(config, head)
    if rest:
        if not dataclasses.is_dataclass(current):
            raise ConfigError(f"config key '{_prefix}{head}' has no sub-keys (got '{full}')")
        return dataclasses.replace(
            config, **{head: set_key(current, rest, value, f"{_prefix}{head}.")}
        )
    if dataclasses.is_dataclass(current):
        raise ConfigError(
            f"config key '{full}' is a section; set one of its keys ({full}.NAME=...)"
        )
    return dataclasses.replace(config, **{head: _check_value(value, tp, full)})


def _finite(value: float) -> bool:
    return value == value and abs(value) != float("inf")


def validate(config: RunConfig) -> RunConfig:
    """Check value ranges that types alone do not catch; the error names the key, the value and
    the range it must lie in."""
    t, f, m = config.train, config.finetune, config.model
    choices = (
        ("objective", config.objective, OBJECTIVES),
        ("finetune.mode", f.mode, FINETUNE_MODES),
        ("finetune.head", f.head, FINETUNE_HEADS),
    )
    for key, value, allowed in choices:
        if value not in allowed:
            raise ConfigError(f"{key}: expected one of {', '.join(allowed)}, got {value!r}")
    checks = [
        *((f"train.{k}", getattr(t, k), "a finite number > 0", lambda v: _finite(v) and v > 0)
          for k in ("lr",)),
        *((f"finetune.{k}", getattr(f, k), "a finite number > 0",
           lambda v: _finite(v) and v > 0) for k in ("head_lr", "backbone_lr")),
        ("train.lr_decay", t.lr_decay, "in (0, 1]", lambda v: _finite(v) and 0 < v <= 1),
        ("train.min_delta", t.min_delta, "a finite number >= 0", lambda v: _finite(v) and v >= 0),
        ("train.val_fraction", t.val_fraction, "in [0, 1)", lambda v: 0 <= v < 1),
        ("train.test_fraction", t.test_fraction, "in [0, 1)", lambda v: 0 <= v < 1),
        *((f"train.{k}", getattr(t, k), "at least 1", lambda v: v >= 1)
          for k in ("batch_size", "eval_batch_size", "epochs")),
        *((f"train.{k}", getattr(t, k), "at least 0", lambda v: v >= 0)
          for k in ("patience", "min_epochs", "checkpoint_steps", "warmup_epochs")),
        *((f"model.{k}", getattr(m, k), "at least 1", lambda v: v >= 1)
          for k in ("hidden", "latent", "mlp_layers", "iterations")),
        *((key, v, "at least 1 (or null: no limit)", lambda v: v is None or v >= 1)
          for key, v in (("finetune.train_size", f.train_size),
                         ("train.max_per_class", t.max_per_class),
                         ("train.num_threads", t.num_threads))),
    ]  # fmt: skip
    for key, value, expected, ok in checks:
        if not ok(value):
            raise ConfigError(f"{key}: expected {expected}, got {value!r}")
    if f.kfold is not None and (f.kfold < 2 or f.fold is None or not 0 <= f.fold < f.kfold):
        raise ConfigError(
            f"finetune.kfold: expected at least 2 folds and finetune.fold in 0..kfold-1, got "
            f"kfold={f.kfold!r}, fold={f.fold!r}"
        )
    if f.head == "classes" and f.mode == "frozen-decoder":
        raise ConfigError(
            "finetune.head=classes: the head starts from the pretrained classes, which mean "
            "nothing on the new decoder of finetune.mode=frozen-decoder; use full or frozen"
        )
    if t.balance and config.objective == "multilabel":
        raise ConfigError(
            "train.balance: balances classes of a multiclass or binary objective; a multilabel "
            "objective has no classes to balance"
        )
    if t.val_fraction + t.test_fraction >= 1:
        raise ConfigError("train.val_fraction + train.test_fraction must be below 1")
    return config


def build_run_config(
    command: str,
    *,
    config_file: str | Path | None = None,
    overrides: Sequence[str] = (),
    epochs: int | None = None,
    seed: int | None = None,
    mode: str | None = None,
    train_size: int | None = None,
    **fields: Any,
) -> RunConfig:
    """A validated :class:`RunConfig`: the YAML ``config_file`` (if any), then the dotted
    ``overrides``, then the explicit values (``None``: not given). ``fields`` are top-level
    fields (``objective``, ``task``, ``data``, ``out``, ``pretrained``)."""
    config = load_yaml(config_file) if config_file else RunConfig()
    config = apply_overrides(config, overrides)
    config = dataclasses.replace(
        config, command=command, **{k: v for k, v in fields.items() if v is not None}
    )
    for key, value in (
        ("train.epochs", epochs),
        ("train.seed", seed),
        ("finetune.mode", mode),
        ("finetune.train_size", train_size),
    ):
        if value is not None:
            config = set_key(config, key, value)
    try:
        return validate(config)
    except ConfigError as err:  # a range error: say where the value may have come from
        where = f"config {config_file}, " if config_file else ""
        raise ConfigError(f"{err} (from {where}overrides or options)") from err
