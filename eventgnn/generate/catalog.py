"""Processes, catalogs and downstream tasks, loaded from ``data_recipes/``.

- ``data_recipes/processes/<name>.yaml``: one process: ``name``, ``description``, ``settings``
  (Pythia 8 ``readString`` lines), optional ``variants`` (lists of extra settings; a shard is split
  evenly between them, for example the two charge halves of the FCNC sample), optional ``slha``
  (spectrum file relative to ``data_recipes/``), ``lhe_only`` (Pythia has no hard process for it:
  needs ``--lhe``) and ``standin_for`` (the paper's process a built-in stand-in replaces).
- ``data_recipes/catalogs.yaml``: named, ordered process lists (``pretrain12``, ``paper12``).
- ``data_recipes/tasks.yaml``: binary tasks with their signal and background processes.

The recipe folder is ``$EVENTGNN_RECIPES`` if set, else ``data_recipes/`` beside the package.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

from ..fileio import read_yaml


class CatalogError(ValueError):
    """A process, catalog or task is unknown or its recipe file is malformed."""


@dataclass(frozen=True)
class Process:
    """One generator process: the Pythia settings that make it and what it stands for."""

    name: str
    description: str
    settings: tuple[str, ...]
    variants: tuple[tuple[str, ...], ...] = ((),)
    slha: Path | None = None
    lhe_only: bool = False
    standin_for: str | None = None

    def pythia_settings(self, variant: int = 0) -> tuple[str, ...]:
        """All ``readString`` lines of this process for one variant (SLHA path resolved)."""
        extra = (f"SLHA:file = {self.slha}",) if self.slha is not None else ()
        return self.settings + extra + self.variants[variant]


@dataclass(frozen=True)
class Task:
    """A downstream binary task: signal processes get label 1, background processes label 0."""

    name: str
    signal: tuple[str, ...]
    background: tuple[str, ...]
    builtin: bool
    description: str

    @property
    def processes(self) -> tuple[str, ...]:
        return self.signal + self.background


def recipes_dir() -> Path:
    """The folder holding the process, catalog and task recipes."""
    env = os.environ.get("EVENTGNN_RECIPES")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "data_recipes"


def _load_yaml(path: Path) -> dict:
    data = read_yaml(path, CatalogError, "recipe file")
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: expected a mapping at top level, got {type(data).__name__}")
    return data


def _require(data: dict, key: str, kind: type, path: Path):
    if key not in data:
        raise CatalogError(f"{path}: field '{key}' is missing")
    value = data[key]
    if not isinstance(value, kind):
        raise CatalogError(
            f"{path}: field '{key}': expected {kind.__name__}, got {type(value).__name__}"
        )
    return value


def _parse_process(path: Path) -> Process:
    data = _load_yaml(path)
    name = _require(data, "name", str, path)
    if name != path.stem:
        raise CatalogError(f"{path}: field 'name': '{name}' differs from the file name")
    settings = _require(data, "settings", list, path)
    variants = data.get("variants") or [[]]
    if not isinstance(variants, list) or not all(isinstance(v, list) for v in variants):
        raise CatalogError(f"{path}: field 'variants': expected a list of lists of settings")
    for line in [*settings, *(s for v in variants for s in v)]:
        if not isinstance(line, str) or "=" not in line:
            raise CatalogError(f"{path}: setting {line!r}: expected 'Key = value'")
    slha = data.get("slha")
    return Process(
        name=name,
        description=" ".join(str(data.get("description", "")).split()),
        settings=tuple(settings),
        variants=tuple(tuple(v) for v in variants),
        slha=(path.parent.parent / slha).resolve() if slha else None,
        lhe_only=bool(data.get("lhe_only", False)),
        standin_for=data.get("standin_for"),
    )


@functools.lru_cache(maxsize=4)
def _processes(root: Path) -> dict[str, Process]:
    folder = root / "processes"
    if not folder.is_dir():
        raise CatalogError(f"{folder}: process recipe folder not found")
    return {p.stem: _parse_process(p) for p in sorted(folder.glob("*.yaml"))}


def list_processes() -> tuple[str, ...]:
    """Names of every process with a recipe, sorted."""
    return tuple(_processes(recipes_dir()))


def get_process(name: str) -> Process:
    """The process called ``name``; :class:`CatalogError` lists the known ones otherwise."""
    procs = _processes(recipes_dir())
    if name not in procs:
        raise CatalogError(f"unknown process '{name}'; known: {', '.join(procs)}")
    return procs[name]


@functools.lru_cache(maxsize=4)
def _catalogs(root: Path) -> dict[str, tuple[str, ...]]:
    path = root / "catalogs.yaml"
    data = _load_yaml(path)
    out = {}
    for name, entry in data.items():
        if not isinstance(entry, dict):
            raise CatalogError(f"{path}: catalog '{name}': expected a mapping")
        out[name] = tuple(_require(entry, "processes", list, path))
    return out


def list_catalogs() -> tuple[str, ...]:
    return tuple(_catalogs(recipes_dir()))


def get_catalog(name: str) -> tuple[str, ...]:
    """The ordered process names of catalog ``name`` (``pretrain12``, ``paper12``)."""
    cats = _catalogs(recipes_dir())
    if name not in cats:
        raise CatalogError(f"unknown catalog '{name}'; known: {', '.join(cats)}")
    for proc in cats[name]:
        get_process(proc)  # every entry must have a recipe
    return cats[name]


@functools.lru_cache(maxsize=4)
def _tasks(root: Path) -> dict[str, Task]:
    path = root / "tasks.yaml"
    data = _load_yaml(path)
    out = {}
    for name, entry in data.items():
        if not isinstance(entry, dict):
            raise CatalogError(f"{path}: task '{name}': expected a mapping")
        out[name] = Task(
            name=name,
            signal=tuple(_require(entry, "signal", list, path)),
            background=tuple(_require(entry, "background", list, path)),
            builtin=bool(entry.get("builtin", False)),
            description=" ".join(str(entry.get("description", "")).split()),
        )
    return out


def list_tasks() -> tuple[str, ...]:
    """Names of every downstream task, in recipe order."""
    return tuple(_tasks(recipes_dir()))


def get_task(name: str) -> Task:
    """The task called ``name``; :class:`CatalogError` lists the known ones otherwise."""
    tasks = _tasks(recipes_dir())
    if name not in tasks:
        raise CatalogError(f"unknown task '{name}'; known: {', '.join(tasks)}")
    return tasks[name]
