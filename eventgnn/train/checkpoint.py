"""The model file ``model.pt`` and the resumable state ``last.pt``: tensors and plain values only.

``model.pt`` holds the best weights and everything needed to use them: the architecture
(``model_config``, ``n_outputs``), the feature schema, the input standardisation, the resolved
run config, the objective (``task``: kind, class names, processes, signal) and the data
provenance (data path, :class:`~eventgnn.graphs.dataset.Split`, counts). Both files load with
``torch.load(weights_only=True)``: no pickled classes, so opening one never runs code.

Wherever a run is asked for (:func:`model_path`, :func:`load_checkpoint`, :func:`load_model`),
the name of a shipped model (:mod:`eventgnn.catalog.registry`) is taken too: it resolves to the
model's file after its SHA-256 is checked against its card.
"""

from __future__ import annotations

import json
import math
import os
import pickle
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .._core.fileio import atomic_path
from ..catalog.registry import (
    SHIPPED,
    check_card,
    model_file,
    model_label,
    sha256_file,
    shipped_card,
)
from ..config import ModelConfig, from_dict
from ..events.schema import RENAMED_OBJECT_FIELDS
from ..graphs.features import EDGE_FEATURES, GLOBAL_FEATURES, NODE_FEATURES
from ..model.eventgnn import EventGNN
from .objectives import Objective

MODEL_FORMAT = "eventgnn-model/1"

CHECKPOINT_KEYS = ("state_dict", "model_config", "n_outputs", "features", "normalization",
                   "config", "task", "provenance")  # fmt: skip
"""Keys every ``model.pt`` holds; a file without one of them is refused by name."""


def feature_schema() -> dict[str, list[str]]:
    """The feature names a model was trained on (checked when a checkpoint meets new data)."""
    return {
        "node": list(NODE_FEATURES),
        "edge": list(EDGE_FEATURES),
        "global": list(GLOBAL_FEATURES),
    }


def to_plain(obj):
    """Tensors' and numpy's scalars -> plain Python, recursively (for JSON and weights_only)."""
    if isinstance(obj, dict):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    return obj


def metrics_json(metrics: dict) -> str:
    """The text of a ``metrics.json``: strict JSON, which has no NaN or infinity, so any JSON
    reader takes it. A non-finite number is written as ``null``: an undefined metric (NaN), or
    an infinite background rejection (then its ``background_efficiency`` beside it is 0)."""

    def finite(obj):
        if isinstance(obj, dict):
            return {k: finite(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [finite(v) for v in obj]
        if isinstance(obj, float) and not math.isfinite(obj):
            return None
        return obj

    return json.dumps(finite(to_plain(metrics)), indent=2, allow_nan=False) + "\n"


def safe_load(path: str | os.PathLike) -> dict:
    """``torch.load(path, weights_only=True)``: tensors and plain values only, never code. A file
    that holds a pickled object, or is truncated, is a ``ValueError`` naming the file."""
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


def save_model(path: str | os.PathLike, model: EventGNN, meta: dict) -> None:
    """Write ``model.pt``: the weights, architecture, features and standardisation of ``model``
    plus the plain values of ``meta`` (config, task, provenance, metrics)."""
    payload = {
        "format": MODEL_FORMAT,
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "model_config": asdict(model.config),
        "n_outputs": int(model.n_outputs),
        "features": feature_schema(),
        "normalization": dict(model.norm.stats()),
        **to_plain(meta),
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def model_path(run: str | os.PathLike) -> Path:
    """``RUN/model.pt`` for a run directory, the checked file of a shipped model name
    (:func:`eventgnn.catalog.registry.model_file`), else ``run`` itself (a ``model.pt`` path)."""
    path = model_file(run)
    return path / "model.pt" if path.is_dir() else path


def model_identity(run: str | os.PathLike) -> dict:
    """What a model is, for the record of a run made from it: ``{"from": run, "shipped":
    bool, "source", "label", "file": path, "sha256": ...}`` (a model by name: its checksum is its
    card's; ``source`` ``shipped``, ``EVENTGNN_MODELS=DIR`` or ``run``; ``label`` what messages
    call it)."""
    card = shipped_card(run)
    path = model_path(run)
    return {
        "from": str(run),
        "shipped": card is not None and card["source"] == SHIPPED,
        "source": card["source"] if card is not None else "run",
        "label": model_label(card) if card is not None else str(run),
        "file": str(path if card is not None else path.resolve()),
        "sha256": card["sha256"] if card is not None else sha256_file(path),
    }


def load_checkpoint(run: str | os.PathLike) -> dict:
    """Read ``RUN/model.pt`` (or a ``model.pt`` path, or a shipped model by name) with
    ``weights_only=True``. Node features
    renamed since the model was saved are given their current names (``type`` is ``kind``)."""
    path = model_path(run)
    if not path.exists():
        if (path.parent / "last.pt").exists():  # a run directory whose training has not ended
            raise FileNotFoundError(
                f"{path}: no such model file; '{run}' holds last.pt, so its training has not "
                "finished (rerun the command that made it to resume)"
            )
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
    card = shipped_card(run)
    if card is not None:
        check_card(card, ckpt)
    feats = ckpt["features"]
    if isinstance(feats, dict) and isinstance(feats.get("node"), list):
        # a model trained before an object field was renamed: the same feature, the same column
        feats["node"] = [RENAMED_OBJECT_FIELDS.get(n, n) for n in feats["node"]]
    return ckpt


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


def load_model(run: str | os.PathLike) -> tuple[EventGNN, dict]:
    """``(EventGNN with the saved weights, checkpoint dict)`` from a run directory (or a
    ``model.pt`` path, or a shipped model by name)."""
    ckpt = load_checkpoint(run)
    where = str(model_path(run))
    check_features(ckpt, where)
    config = check_architecture(ckpt, where)  # before the network is built: no huge allocation
    try:
        model = EventGNN(config, n_outputs=ckpt["n_outputs"])
        model.load_state_dict(ckpt["state_dict"])
    except (ValueError, RuntimeError, TypeError) as err:  # ConfigError, shape/key mismatches
        raise ValueError(
            f"{where}: model_config/state_dict do not match this version's EventGNN ({err})"
        ) from err
    check_finite_weights(model, where)
    return model, ckpt


def check_finite_weights(model: nn.Module, where: str) -> None:
    """Refuse weights holding NaN or inf (a diverged training, a damaged file): every score the
    model gave would be NaN. The message names the first such tensor."""
    for name, values in model.state_dict().items():
        bad = int((~torch.isfinite(values)).sum()) if values.is_floating_point() else 0
        if bad:
            raise ValueError(
                f"{where}: weight '{name}' holds {bad:,} non-finite values (NaN or inf) of "
                f"{values.numel():,}; expected finite numbers (a diverged training or a damaged "
                "file?)"
            )


def check_architecture(ckpt: dict, where: str) -> ModelConfig:
    """The checkpoint's :class:`~eventgnn.config.ModelConfig`, after checking that the network it
    describes has exactly the tensors of its ``state_dict``, with the same shapes, without
    allocating that network (it is built on the ``meta`` device, which holds shapes only). So a
    small file whose ``model_config`` asks for a huge network is refused at once, and the network
    built afterwards is no larger than the weights already read."""
    state = ckpt["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{where}: field 'state_dict': expected a mapping of names to tensors")
    n_outputs = ckpt["n_outputs"]
    if isinstance(n_outputs, bool) or not isinstance(n_outputs, int) or n_outputs < 1:
        raise ValueError(f"{where}: field 'n_outputs': expected a positive integer, got "
                         f"{n_outputs!r}")  # fmt: skip
    try:
        config = from_dict(ModelConfig, ckpt["model_config"], "model_config.")
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from err
    # every MLP layer and every processor block has tensors of its own: a config asking for more
    # of them than the file holds tensors cannot match it (and would be slow to build even empty)
    blocks = 1 if config.shared_weights else config.iterations
    for field, count in (("mlp_layers", config.mlp_layers), ("iterations", blocks)):
        if count > len(state):
            raise ValueError(
                f"{where}: model_config.{field} = {count} asks for more layers than the "
                f"{len(state)} tensors of its state_dict hold; the file is inconsistent"
            )
    try:
        with torch.device("meta"):
            empty = EventGNN(config, n_outputs)
    except (ValueError, RuntimeError) as err:  # a negative width, no MLP layer
        raise ValueError(f"{where}: model_config {asdict(config)}: no network ({err})") from err
    shapes = {k: tuple(v.shape) for k, v in empty.state_dict().items()}
    problems = [f"Missing tensor '{k}'" for k in shapes if k not in state]
    problems += [f"Unexpected tensor '{k}'" for k in state if k not in shapes]
    problems += [
        f"'{k}' has shape {tuple(state[k].shape)}, model_config gives {shape}"
        for k, shape in shapes.items()
        if k in state and tuple(state[k].shape) != shape
    ]
    if problems:
        raise ValueError(
            f"{where}: model_config {asdict(config)} and n_outputs {n_outputs} do not match the "
            f"weights in state_dict: {'; '.join(problems[:3])}"
            + (f" (and {len(problems) - 3} more)" if len(problems) > 3 else "")
        )
    return config


def objective_of(ckpt: dict) -> Objective:
    """The objective a checkpoint was trained for."""
    return Objective(ckpt["task"]["kind"], tuple(ckpt["task"]["names"]))


def state_copy(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached CPU copy of ``model``'s weights (the best epoch's, kept while training on)."""
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
