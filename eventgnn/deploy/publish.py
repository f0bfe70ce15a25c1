"""Publishing a finished run as a shipped model (:mod:`eventgnn.catalog.registry`), the
maintainers' tool, and checking a shipped model against its card on this machine
(:func:`check_model`).

::

    from eventgnn.deploy.publish import publish
    publish("runs/pretrain12-multiclass", "pretrain12-multiclass-v1", "eventgnn/catalog/models",
            {"description": ..., "intended_use": ..., "limitations": ...})

writes ``NAME.pt`` (the run's ``model.pt`` with its card under the key ``card``) and ``NAME.json``
(the same card plus the checksum and size of ``NAME.pt``), filled from the checkpoint,
``metrics.json`` and the records beside the data's shards. It sits above both
the registry and the training code, which import nothing from it.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from .._core.errors import ModelCheckError, RegistryError
from .._core.fileio import atomic_path
from ..catalog.registry import CARD_FORMAT, check_name, sha256_file
from ..config import ModelConfig, from_dict
from ..events.io import input_files
from ..events.parquet import record_path
from ..model.eventgnn import EventGNN, count_parameters
from ..train.checkpoint import load_checkpoint, metrics_json, model_path, safe_load, to_plain

CARD_EXTRA_REQUIRED = ("description", "intended_use", "limitations")
"""What :func:`publish` cannot read from the run: the maintainer writes these."""

PACKAGES = ("eventgnn", "torch", "torch_geometric", "numpy", "awkward", "pythia8mc", "fastjet")
"""Packages whose versions a card records (those installed where it was published)."""


def publish(
    run: str | os.PathLike,
    name: str,
    out_dir: str | os.PathLike,
    card_extra: Mapping[str, Any],
    overwrite: bool = False,
    log: Callable[[str], None] = print,
) -> tuple[Path, Path]:
    """Write the finished run ``run`` as model ``name`` into ``out_dir``
    (``eventgnn/catalog/models/`` to ship it, or an ``$EVENTGNN_MODELS`` folder): ``NAME.pt`` (its
    ``model.pt`` with the card under ``card``, so that the file describes itself wherever it is
    copied) and ``NAME.json`` (the card plus ``sha256`` and ``size_bytes`` of ``NAME.pt``). Returns
    both paths.

    The card is filled from the run: the checksum, task, architecture and parameter count, the
    data (the checkpoint's provenance, events per class, and, where the shards are still on
    this machine, their generator records: eventgnn and generator versions, Pythia settings,
    seeds and events per process), the training settings, the machine and wall time, and the
    test metrics (``metrics.json``). ``card_extra`` gives what the run cannot say:
    ``description``, ``intended_use`` and ``limitations`` (required), and anything else; a
    mapping given for ``data``, ``training`` or ``machine`` is merged into the filled one, any
    other key replaces or adds a field.

    A name already in ``out_dir`` made from another run's ``model.pt`` (the card's
    ``source_sha256``) is refused unless ``overwrite``: a shipped name stands for one model.
    Publishing the same run again rewrites the card (and so ``NAME.pt``) where the card changes;
    where only the date would, both files stay as they are, so that a rerun of a finished
    recipe keeps the published checksum. ``log`` gets one line saying which happened.
    """
    check_name(name)
    missing = [k for k in CARD_EXTRA_REQUIRED if not card_extra.get(k)]
    if missing:
        raise RegistryError(
            f"publish {name}: card_extra lacks '{missing[0]}' (required: "
            f"{', '.join(CARD_EXTRA_REQUIRED)})"
        )
    source = model_path(run)
    ckpt = load_checkpoint(source)  # refuses anything that is not an eventgnn model file
    metrics_file = source.parent / "metrics.json"
    if not metrics_file.is_file():
        raise RegistryError(f"{metrics_file}: missing; publish needs a finished run")
    metrics = json.loads(metrics_file.read_text())
    sha = sha256_file(source)
    out_dir = Path(out_dir)
    target, card_path = out_dir / f"{name}.pt", out_dir / f"{name}.json"
    published = _published_card(card_path) if target.exists() else None
    if target.exists() and not overwrite and (published or {}).get("source_sha256") != sha:
        raise RegistryError(
            f"{target}: model '{name}' exists, made from another file; a published name stands "
            "for one model: choose a new version (or overwrite=True)"
        )
    card = build_card(ckpt, metrics, name, "", 0, card_extra)
    card["source_sha256"] = sha  # the run's model.pt, before the card went into it
    if published is not None and _same_card(published, card):
        log(f"{name} in {out_dir}: unchanged (same run, same card)")
        return target, card_path
    payload = safe_load(source)  # as stored (load_checkpoint renames old feature names)
    payload["card"] = to_plain({k: v for k, v in card.items() if k not in ("sha256", "size_bytes")})
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        torch.save(payload, tmp)
    card["sha256"], card["size_bytes"] = sha256_file(target), target.stat().st_size
    with atomic_path(card_path) as tmp:
        tmp.write_text(metrics_json(card))
    log(f"{name} in {out_dir}: published (sha256 {card['sha256'][:12]})")
    return target, card_path


def _same_card(published: Mapping[str, Any], card: Mapping[str, Any]) -> bool:
    """Whether the ``published`` card says what ``card`` says, its date and the file's own
    checksum and size aside."""
    aside = ("published", "sha256", "size_bytes")
    new = json.loads(metrics_json(dict(card)))
    return {k: v for k, v in published.items() if k not in aside} == {
        k: v for k, v in new.items() if k not in aside
    }


def _published_card(card_path: Path) -> dict | None:
    """The card published at ``card_path`` (None where there is none to read)."""
    try:
        return json.loads(card_path.read_text())
    except (OSError, ValueError):
        return None


TRAINING_METRICS = ("best_epoch", "epochs_run", "stopped_early", "train_time_s", "split_sizes",
                    "class_counts")  # fmt: skip
"""Keys of ``metrics.json`` that describe the training or the data, not the test scores."""


def build_card(
    ckpt: Mapping[str, Any],
    metrics: Mapping[str, Any],
    name: str,
    sha256: str,
    size: int,
    card_extra: Mapping[str, Any],
) -> dict:
    """The card of model ``name`` from its checkpoint and ``metrics.json`` (see
    :func:`publish`)."""
    model = EventGNN(from_dict(ModelConfig, ckpt["model_config"]), n_outputs=ckpt["n_outputs"])
    config = ckpt["config"]
    filled = {
        "format": CARD_FORMAT,
        "name": name,
        "sha256": sha256,
        "size_bytes": int(size),
        "description": "",
        "published": datetime.date.today().isoformat(),
        "eventgnn_version": ckpt.get("version"),
        "task": ckpt["task"],
        "architecture": {
            "parameters": count_parameters(model),
            "model_config": ckpt["model_config"],
            "n_outputs": ckpt["n_outputs"],
            "features": ckpt["features"],
        },
        "data": data_card(ckpt, metrics),
        "training": {
            "command": config.get("command"),
            "objective": config.get("objective"),
            "pretrained_from": ckpt.get("pretrained_from"),
            "train": config.get("train"),
            "finetune": config.get("finetune") if config.get("command") == "finetune" else None,
            "best_epoch": metrics.get("best_epoch", ckpt.get("best_epoch")),
            "epochs_run": metrics.get("epochs_run"),
            "stopped_early": metrics.get("stopped_early"),
        },
        "machine": dict(ckpt.get("machine") or {"recorded": False}),
        "wall_time_s": metrics.get("train_time_s"),
        "metrics": {k: v for k, v in metrics.items() if k not in TRAINING_METRICS},
        "intended_use": "",
        "limitations": "",
    }
    for key, value in card_extra.items():
        if key in ("format", "name", "sha256", "size_bytes"):
            raise RegistryError(f"card_extra: '{key}' is filled by publish, not given")
        if isinstance(value, Mapping) and isinstance(filled.get(key), dict):
            filled[key] = {**filled[key], **value}
        else:
            filled[key] = value
    return filled


def data_card(ckpt: Mapping[str, Any], metrics: Mapping[str, Any]) -> dict:
    """The card's ``data``: the checkpoint's provenance, events per class over all splits, the
    versions of :data:`PACKAGES` here, and the generator records of the shards (when the data
    is still on this machine, unchanged since training; otherwise ``shards`` is None, with a
    ``shards_note`` when the files changed)."""
    prov = dict(ckpt.get("provenance") or {})
    per_class: dict[str, int] = {}
    for split in (metrics.get("class_counts") or {}).values():
        for cls, counts in split.items():
            per_class[cls] = per_class.get(cls, 0) + int(counts.get("n_events", 0))
    out = {
        "path": prov.get("data"),
        "files_fingerprint": prov.get("files"),
        "n_events": prov.get("n_events"),
        "events_per_class": per_class,
        "split": prov.get("split"),
        "split_sizes": prov.get("split_sizes"),
        "reader_settings": prov.get("reader_settings"),
        "packages_at_publish": _package_versions(),
        "shards": None,
    }
    now = _fingerprint_now(prov.get("data"))
    if now is not None and now == prov.get("files"):
        out["shards"] = shard_summary(prov.get("data"))
    elif now is not None:  # shards added or rewritten since: their records would misdescribe it
        out["shards_note"] = (
            f"not summarised: the files at {prov.get('data')} changed since the model was "
            f"trained (fingerprint {prov.get('files')} then, {now} now)"
        )
    if prov.get("scales"):
        out["scales"] = prov["scales"]
    return out


def _fingerprint_now(data) -> str | None:
    """The fingerprint the data at ``data`` has now (None when it is not on this machine)."""
    from ..graphs.dataset import data_identity

    try:
        return None if data is None else data_identity(data)["fingerprint"]
    except (OSError, ValueError):
        return None


def _package_versions() -> dict[str, str | None]:
    out = {}
    for pkg in PACKAGES:
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def shard_summary(data) -> dict | None:
    """Per process, what the records beside the shards of ``data`` say: how the shards were
    made (``eventgnn generate`` or ``convert``), eventgnn and generator versions, Pythia
    settings, seeds and events requested. None when the data is not on this machine."""
    if data is None:
        return None
    try:
        files = input_files(data)
    except (OSError, ValueError):
        return None
    out: dict[str, dict] = {}
    for path in files:
        record = record_path(path)
        if not record.is_file():
            continue
        r = json.loads(record.read_text())
        proc = r.get("process") or path.stem
        entry = out.setdefault(proc, {"made_by": set(), "eventgnn": set(), "generator": set(),
                                      "seeds": [], "events": 0, "shards": 0})  # fmt: skip
        entry["shards"] += 1
        for key in ("made_by", "eventgnn", "generator"):
            if r.get(key) is not None:
                entry[key].add(r[key])
        if r.get("seed") is not None:
            entry["seeds"].append(r["seed"])
        entry["events"] += int(r.get("events") or 0)
        for key in ("settings", "variants", "cp_angle_deg", "mpi", "slha_sha256", "lhe",
                    "reader_options", "format"):  # fmt: skip
            if key in r:
                entry.setdefault(key, r[key])
    return {
        proc: {k: sorted(v) if isinstance(v, set | list) else v for k, v in e.items()}
        for proc, e in out.items()
    } or None


CHECK_SEED = 440_000_001
"""First seed of the events :func:`check_model` generates: disjoint from the pretraining data
(1, 2, ...) and the downstream samples (100,000,001 to 400,000,000 and a few after)."""


def check_model(
    name: str,
    events: int = 200,
    seed: int = CHECK_SEED,
    jobs: int = 1,
    log: Callable[[str], None] = print,
) -> dict:
    """Regenerate ``events`` events of each of model ``name``'s processes with this machine's
    generator (the pretraining data's MPI setting, seeds from ``seed``), score them, and compare
    the accuracy with the card's test accuracy. Consistent when they differ by less than three
    standard errors of the two binomial estimates (a multilabel model's mean accuracy over
    targets has at most that error). Returns ``{"measured", "card", "sigma", "n_events",
    "consistent"}``; an inconsistent model raises :class:`ModelCheckError` with the numbers.
    The events stay in ``$EVENTGNN_CACHE/checks/`` for a rerun and for the next model checked
    with the same settings."""
    import tempfile

    from .._core.system import cache_dir
    from ..catalog.registry import get_card
    from ..generate.run import DEFAULT_SHARD_EVENTS, generate
    from ..train.evaluate import evaluate_run

    card = get_card(name)
    shards = card["data"].get("shards") or {}
    processes = list(card["task"]["processes"])
    used = {s for entry in shards.values() for s in entry.get("seeds", [])}
    span = set(range(seed, seed + -(-events // DEFAULT_SHARD_EVENTS) + 1))
    if used & span:
        raise ModelCheckError(
            f"check {name}: seeds from {seed} overlap its training seeds ({min(used & span)})"
        )
    mpi = {bool(entry.get("mpi", True)) for entry in shards.values()} or {True}
    if len(mpi) > 1:
        raise ModelCheckError(f"check {name}: its data mixes processes with and without MPI")
    mpi = mpi.pop()
    # shared by the models checked with the same settings (each reads only its own processes)
    folder = cache_dir() / "checks" / f"seed{seed}-n{events}{'' if mpi else '-nompi'}"
    log(f"check {name}: {events} events of each of {len(processes)} processes in {folder}")
    generate(processes, folder, events, seed=seed, jobs=jobs, mpi=mpi, progress=False)
    with tempfile.TemporaryDirectory() as out:
        metrics = evaluate_run(name, data=folder, out=out, log=lambda line: None)
    measured, expected = float(metrics["accuracy"]), float(card["metrics"]["accuracy"])
    n_card = int((card["data"].get("split_sizes") or {}).get("test") or 0)
    n = int(metrics["n_events"])
    var = measured * (1 - measured) / n + (expected * (1 - expected) / n_card if n_card else 0.0)
    sigma = var**0.5
    result = {
        "measured": measured,
        "card": expected,
        "sigma": sigma,
        "n_events": n,
        # both at 0 or 1 have no spread: then only equal values agree
        "consistent": abs(measured - expected) < 3 * sigma if sigma else measured == expected,
    }
    z = f"{(measured - expected) / sigma:+.1f} standard errors" if sigma else "no spread"
    line = f"{name}: accuracy {measured:.4f} on {n} regenerated events, card {expected:.4f} ({z})"
    if not result["consistent"]:
        raise ModelCheckError(f"{line}: not consistent with its card")
    log(f"{line}: consistent")
    return result
