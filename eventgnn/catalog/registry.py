"""Shipped pretrained models: a model file and its card, package data found by name.

A shipped model called ``NAME`` is two files in ``eventgnn/catalog/models/`` (package data, found
with :mod:`importlib.resources`, so an installed wheel finds them wherever it lives):

- ``NAME.pt``: an ordinary ``model.pt`` of a finished run (weights, architecture,
  standardisation, objective, provenance; loads with ``torch.load(weights_only=True)``), with
  its card (less its own checksum) under ``card``;
- ``NAME.json``: its card (:data:`CARD_FIELDS`): the file's SHA-256, what the model is and what
  it was trained on (generator and package versions, recipes, seeds, events per process), its
  architecture and parameter count, training settings, the machine and wall time, per-class
  test metrics, the intended use and known limits.

``$EVENTGNN_MODELS`` names a folder of the same layout whose models are added to the shipped ones
(a name in both takes the user's). Every command that takes a run (``--model``, ``--from``,
``info``) takes a model name too: :func:`model_file` turns an existing path into itself and a
name into its file, after checking the file's SHA-256 against the card. Names are lower-case
file names with a version, such as ``pretrain12-multiclass-v1``; a model once shipped under a
name never changes (a new model gets a new version).

:func:`eventgnn.deploy.publish.publish` writes a finished run as a shipped model: the maintainers'
tool. This module imports neither torch nor the training code: the checkpoint code resolves
names through it, and it imports nothing back.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .._core.errors import ChecksumError, RegistryError
from .._core.fileio import clip

CARD_FORMAT = "eventgnn-model-card/1"

DEFAULT_PRETRAINED = "pretrain12-multiclass-v1"
"""The model ``eventgnn finetune`` starts from when no ``--from`` is given, where this version
ships it (without it, finetune trains from scratch and says so)."""

SCRATCH = "scratch"
"""``--from scratch``: train from scratch explicitly (never a model name)."""

CARD_FIELDS = (
    "format", "name", "sha256", "description", "task", "architecture", "data", "training",
    "machine", "wall_time_s", "metrics", "intended_use", "limitations",
)  # fmt: skip
"""The fields every card holds (:func:`eventgnn.deploy.publish.publish` writes them; a card
without one is refused)."""

_NAME = re.compile(r"[a-z0-9](?:[a-z0-9._-]{0,98}[a-z0-9])?")


def check_name(name: str) -> str:
    """Return ``name`` if it can name a shipped model: lower-case letters, digits and ``. _ -``,
    starting and ending with a letter or digit, at most 100 characters, not ``scratch``."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name or name == SCRATCH:
        raise RegistryError(
            f"model name {clip(repr(name), 120)} is not allowed: expected lower-case letters, "
            "digits and '. _ -' (a file name, for example pretrain12-multiclass-v1), not "
            f"'{SCRATCH}'"
        )
    return name


def model_dirs() -> tuple[Path, ...]:
    """The model folders, in the order their models apply: the package's own, then
    ``$EVENTGNN_MODELS`` when set."""
    shipped = Path(str(importlib.resources.files(__package__) / "models"))
    env = os.environ.get("EVENTGNN_MODELS")
    return (shipped, Path(env).expanduser()) if env else (shipped,)


def sha256_file(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes (hex); remembered while the file's size and modification
    time stay the same."""
    st = Path(path).stat()
    return _sha256(str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_card(path: Path) -> dict:
    try:
        card = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RegistryError(f"{path}: cannot read the model card ({err})") from err
    if not isinstance(card, dict):
        raise RegistryError(f"{path}: a model card is a JSON object, got {type(card).__name__}")
    missing = [k for k in CARD_FIELDS if k not in card]
    if missing:
        raise RegistryError(f"{path}: model card lacks field '{missing[0]}'")
    if card["name"] != path.stem:
        raise RegistryError(f"{path}: field 'name': '{card['name']}' differs from the file name")
    if card["format"] != CARD_FORMAT:
        raise RegistryError(
            f"{path}: card format {card['format']!r}, expected {CARD_FORMAT!r}; this version of "
            "eventgnn cannot read it"
        )
    check_name(card["name"])
    return {**card, "file": str(path.with_suffix(".pt"))}


SHIPPED = "shipped"
"""The ``source`` of a model of the package's own folder (one of ``$EVENTGNN_MODELS`` is
``EVENTGNN_MODELS=DIR``)."""


def _cards() -> dict[str, dict]:
    out: dict[str, dict] = {}
    for k, folder in enumerate(model_dirs()):
        if k and not folder.is_dir():
            raise RegistryError(f"EVENTGNN_MODELS={folder}: no such folder")
        source = f"EVENTGNN_MODELS={folder}" if k else SHIPPED
        for path in sorted(folder.glob("*.json")):
            out[path.stem] = {**_read_card(path), "source": source}
    return out


def model_label(card: Mapping[str, Any]) -> str:
    """What to call a model by name in messages: ``shipped model NAME``, or ``model NAME from
    EVENTGNN_MODELS=DIR`` (which may shadow a shipped model of the same name)."""
    if card.get("source", SHIPPED) == SHIPPED:
        return f"shipped model {card['name']}"
    return f"model {card['name']} from {card['source']}"


CARD_DESCRIBES = {
    "task.kind": ("task", "kind"),
    "task.names": ("task", "names"),
    "task.processes": ("task", "processes"),
    "task.signal": ("task", "signal"),
    "architecture.model_config": ("model_config",),
    "architecture.n_outputs": ("n_outputs",),
}
"""Card fields that describe the model file, and where the file (a ``model.pt``) holds each."""


def check_card(card: Mapping[str, Any], ckpt: Mapping[str, Any]) -> None:
    """Refuse a model file whose contents (``ckpt``, a loaded ``model.pt``) differ from what its
    card says it is (:data:`CARD_DESCRIBES`): a card written or edited for another model. The
    SHA-256 binds the file to the card's checksum only (:func:`verified_file`)."""
    for field, where in CARD_DESCRIBES.items():
        said, found = _get(card, field.split(".")), _get(ckpt, where)
        if said != found:
            raise RegistryError(
                f"{card['file']}: the file of {model_label(card)} is not the model its card "
                f"describes: card field '{field}' is {clip(repr(said), 120)}, the file holds "
                f"{clip(repr(found), 120)} (a card written for another model?)"
            )


def _get(record: Mapping[str, Any], keys) -> Any:
    for key in keys:
        record = record.get(key) if isinstance(record, Mapping) else None
    return record


def list_models() -> list[dict]:
    """The card of every shipped model (and of every ``$EVENTGNN_MODELS`` model), sorted by
    name; each dict is the card as stored plus ``file``, the path of its ``.pt``."""
    return [card for _, card in sorted(_cards().items())]


def none_message() -> str:
    """What to say when there is no model at all."""
    from .._core.version import __version__

    env = os.environ.get("EVENTGNN_MODELS")
    where = f", and EVENTGNN_MODELS={env} holds none" if env else "; EVENTGNN_MODELS=DIR adds yours"
    return (
        f"no pretrained model ships with this version of eventgnn ({__version__}){where} "
        "(docs/models.md)"
    )


def _none_or_known(cards: Mapping[str, dict]) -> str:
    if cards:
        return f"known models: {', '.join(sorted(cards))} (eventgnn models)"
    return none_message()


def get_card(name: str) -> dict:
    """The card of model ``name``; :class:`~eventgnn._core.errors.RegistryError` lists the known
    models (or says that none ships) otherwise."""
    cards = _cards()
    if name not in cards:
        raise RegistryError(f"unknown model '{name}'; {_none_or_known(cards)}")
    return cards[name]


def shipped_card(name_or_path: str | os.PathLike) -> dict | None:
    """The card when ``name_or_path`` names a model (and is not an existing path), else None."""
    text = str(name_or_path)
    if Path(text).exists() or not _NAME.fullmatch(text):
        return None
    return _cards().get(text)


def has_model(name: str) -> bool:
    """Whether a model called ``name`` ships (or ``$EVENTGNN_MODELS`` adds it)."""
    return name in _cards()


def verified_file(card: Mapping[str, Any]) -> Path:
    """The ``.pt`` of ``card`` after checking its SHA-256 against the card's."""
    path = Path(card["file"])
    if not path.is_file():
        raise RegistryError(f"{path}: model '{card['name']}' has a card but no model file")
    found = sha256_file(path)
    if found != card["sha256"]:
        raise ChecksumError(
            f"{path}: the file of {model_label(card)} does not match its card: sha256 "
            f"expected {card['sha256']}, found {found} (a damaged or replaced file; "
            + ("reinstall eventgnn)" if card.get("source", SHIPPED) == SHIPPED
               else f"fix {card['source']})")
        )  # fmt: skip
    return path


def model_file(name_or_path: str | os.PathLike) -> Path:
    """An existing path as itself; a model name as its ``.pt`` after checking its SHA-256
    against its card (:class:`~eventgnn._core.errors.ChecksumError` names the file, the expected and
    the found checksum). Anything else is an error: for a path, that it does not exist; for a
    name, which models are known (or that none ships)."""
    path = Path(name_or_path)
    if path.exists():
        return path
    text = str(name_or_path)
    if not _NAME.fullmatch(text):  # a path (a '/' or upper case): say what a path lacks
        raise FileNotFoundError(
            f"{path}: no such model file (is '{text}' a finished run directory?)"
        )
    cards = _cards()
    if text not in cards:
        raise RegistryError(
            f"'{text}': no such run directory or model file, and no model of that name; "
            f"{_none_or_known(cards)}"
        )
    return verified_file(cards[text])


def card_summary(card: Mapping[str, Any]) -> str:
    """Two lines about a model: its name and description, then its size, data and accuracy."""
    arch, data, metrics = card.get("architecture", {}), card.get("data", {}), card.get("metrics")
    accuracy = (metrics or {}).get("accuracy")
    task = card.get("task", {})
    parts = [
        f"{task.get('kind', '?')} ({len(task.get('names') or [])} "
        f"{'labels' if task.get('kind') == 'multilabel' else 'classes'})",
        f"{_int(arch.get('parameters'))} parameters",
        f"{_int(data.get('n_events'))} events",
        "test accuracy " + ("n/a" if accuracy is None else f"{accuracy:.4f}"),
    ]
    where = "" if card.get("source", SHIPPED) == SHIPPED else f" [from {card['source']}]"
    return f"{card['name']}{where}: {card.get('description', '')}\n    " + "; ".join(parts)


def _int(value) -> str:
    return f"{value:,}" if isinstance(value, int) else "?"


def format_card(card: Mapping[str, Any]) -> str:
    """The whole card, readable (YAML), with the path of its model file."""
    body = {k: v for k, v in card.items() if k not in ("file", "source")}
    text = yaml.safe_dump(body, sort_keys=False, width=100)
    where = "" if card.get("source", SHIPPED) == SHIPPED else f", from {card['source']}"
    return f"model card {card['name']} (file {card.get('file')}{where})\n{text.rstrip()}"


def card_markdown(card: Mapping[str, Any]) -> str:
    """The card as a Markdown section (docs/models.md holds one per shipped model, and the test
    suite checks that it is this text): what the model is, its data, training, machine and test
    metrics, with one row per class (multiclass) or target (multilabel)."""
    lines = [f"### {card['name']}", "", card.get("description") or "", "", "| | |", "| --- | --- |"]
    lines += [f"| {key} | {value.replace('|', '&#124;')} |" for key, value in _card_rows(card)]
    metrics = card.get("metrics") or {}
    if metrics.get("per_class"):
        lines += ["", "| class | test events | accuracy | AUC (one vs rest) |"]
        lines += ["| --- | --- | --- | --- |"]
        for cls, m in metrics["per_class"].items():
            lines.append(f"| {cls} | {_int(m.get('n_events'))} | {_num(m.get('accuracy'))} | "
                         f"{_num(m.get('auc'))} |")  # fmt: skip
    elif metrics.get("per_label"):
        lines += ["", "| target | accuracy | MSE |", "| --- | --- | --- |"]
        for target, m in metrics["per_label"].items():
            lines.append(f"| {target} | {_num(m.get('accuracy'))} | {_num(m.get('mse'))} |")
    return "\n".join(lines) + "\n"


def _card_rows(card: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The key-value rows of :func:`card_markdown`."""
    task, arch = card.get("task") or {}, card.get("architecture") or {}
    data, training = card.get("data") or {}, card.get("training") or {}
    mc, train = arch.get("model_config") or {}, training.get("train") or {}
    machine, metrics = card.get("machine") or {}, card.get("metrics") or {}
    per_class = data.get("events_per_class") or {}
    counts = set(per_class.values())
    data_parts = [
        f"{_int(data.get('n_events'))} events"
        + (f", {_int(counts.pop())} per class" if len(counts) == 1 else ""),
        "split train / val / test "
        + " / ".join(_int(v) for v in (data.get("split_sizes") or {}).values()),
        f"made by `{data['command']}`" if data.get("command") else "",
        f"recipe `{data['recipe']}`" if data.get("recipe") else "",
    ]
    selection = ", ".join(f"{k} {v}" for k, v in (data.get("selection") or {}).items())
    wall = card.get("wall_time_s")
    kind = task.get("kind")
    return [
        ("file", f"`{card['name']}.pt`, {_int(card.get('size_bytes'))} bytes, "
                 f"SHA-256 `{card.get('sha256')}`"),
        ("task", f"{kind}, {len(task.get('names') or [])} "
                 f"{'targets' if kind == 'multilabel' else 'classes'}"),
        ("architecture", f"{_int(arch.get('parameters'))} parameters; hidden "
                         f"{mc.get('hidden')}, latent {mc.get('latent')}, "
                         f"{mc.get('iterations')} message-passing steps "
                         f"({'shared' if mc.get('shared_weights') else 'separate'} weights), "
                         f"{mc.get('mlp_layers')}-layer MLPs"),
        ("data", "; ".join(p for p in data_parts if p)),
        ("seeds", _seeds(data.get("shards") or {}, per_class) or data.get("shards_note")
                  or "not recorded"),
        ("detector", data.get("detector") or "not recorded"),
        ("selection", selection or "not recorded"),
        ("packages", ", ".join(f"{k} {v}" for k, v in
                               (data.get("packages_at_publish") or {}).items() if v)),
        ("training", f"lr {train.get('lr')} (x{train.get('lr_decay')} an epoch), batch "
                     f"{train.get('batch_size')}, at most {train.get('epochs')} epochs, early "
                     f"stopping on the validation loss (patience {train.get('patience')}, not "
                     f"before epoch {train.get('min_epochs')}): {training.get('epochs_run')} "
                     f"epochs, best {training.get('best_epoch')}"),
        ("machine", f"{machine.get('cpu')}, {machine.get('device')}, "
                    f"{machine.get('threads')} thread(s), torch {machine.get('torch')}; wall "
                    f"time {f'{wall / 3600:.2f} h' if wall else '?'}"),
        ("test", f"{_int(metrics.get('n_events'))} events: accuracy "
                 f"{_num(metrics.get('accuracy'))}, AUC {_num(metrics.get('auc'))}"),
        ("intended use", card.get("intended_use") or ""),
        ("limitations", card.get("limitations") or ""),
    ]  # fmt: skip


def _seeds(shards: Mapping[str, Any], classes) -> str:
    """The generator seeds of the shard records: one range for all when every class has the same
    seeds, else each process's."""
    spans = {proc: _span(e.get("seeds") or []) for proc, e in shards.items()}
    if set(spans) == set(classes) and len(set(spans.values())) == 1:
        return f"{next(iter(spans.values()))} for every process (one per shard)"
    return "; ".join(f"{proc}: {text or 'none recorded'}" for proc, text in spans.items())


def _span(seeds) -> str:
    """``1 to 17`` for contiguous seeds, else the list."""
    seeds = sorted(seeds)
    if len(seeds) > 1 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]} to {seeds[-1]}"
    return ", ".join(map(str, seeds))


def _num(value) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) else "?"
