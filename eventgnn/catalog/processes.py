"""Processes, catalogs and downstream tasks: the recipes shipped inside the package.

- ``recipes/processes/<name>.yaml``: one process: ``name``, ``description``, ``settings``
  (Pythia 8 ``readString`` lines), optional ``variants`` (lists of extra settings; a shard is split
  evenly between them, for example the two charge halves of the FCNC sample), optional ``slha``
  (spectrum file relative to the recipe folder), ``lhe_only`` (Pythia has no hard process for it:
  needs ``--lhe``), ``standin_for`` (the paper's process a built-in stand-in replaces) and
  ``cp_angle_deg`` (t tbar H only: the CP-mixing angle of the top Yukawa coupling in degrees, 0 =
  SM, 90 = CP-odd; nonzero angles are made by accept-reject on the SM hard process, see
  ``generate/cp_mixing.py``).
- ``recipes/catalogs.yaml``: named, ordered process lists (``pretrain12``, ``paper12``).
- ``recipes/tasks.yaml``: binary tasks with their signal and background processes.

The recipes are package data (``eventgnn/catalog/recipes/``, found with :mod:`importlib.resources`),
so an installed wheel finds them wherever it lives. ``$EVENTGNN_RECIPES`` names a folder of the same
layout whose processes, catalogs and tasks are added to the shipped ones (a name defined in both
takes the user's definition); its ``catalogs.yaml`` and ``tasks.yaml`` are optional. Both training
and generation read this module, so it imports neither."""

from __future__ import annotations

import functools
import importlib.resources
import os
from dataclasses import dataclass
from pathlib import Path

from .._core.errors import CatalogError
from .._core.fileio import read_yaml


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
    cp_angle_deg: float | None = None

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


def recipe_dirs() -> tuple[Path, ...]:
    """The recipe folders, in the order their definitions apply: the package's own, then
    ``$EVENTGNN_RECIPES`` when set."""
    shipped = Path(str(importlib.resources.files(__package__) / "recipes"))
    env = os.environ.get("EVENTGNN_RECIPES")
    return (shipped, Path(env).expanduser()) if env else (shipped,)


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
    if slha is not None:
        slha = (path.parent.parent / _require(data, "slha", str, path)).resolve()
        if not slha.is_file():
            raise CatalogError(f"{path}: field 'slha': no such file {slha}")
    angle = data.get("cp_angle_deg")
    if angle is not None:
        tth = {"HiggsSM:gg2Httbar", "HiggsSM:qqbar2Httbar"}
        if isinstance(angle, bool) or not isinstance(angle, int | float):
            raise CatalogError(f"{path}: field 'cp_angle_deg': expected a number, got {angle!r}")
        if not any(line.split("=")[0].strip() in tth for line in settings):
            raise CatalogError(
                f"{path}: field 'cp_angle_deg' needs the SM t tbar H hard process "
                f"(HiggsSM:gg2Httbar and/or HiggsSM:qqbar2Httbar in 'settings')"
            )
    return Process(
        name=name,
        description=" ".join(str(data.get("description", "")).split()),
        settings=tuple(settings),
        variants=tuple(tuple(v) for v in variants),
        slha=slha,
        lhe_only=bool(data.get("lhe_only", False)),
        standin_for=data.get("standin_for"),
        cp_angle_deg=None if angle is None else float(angle),
    )


def _parse_catalogs(path: Path) -> dict[str, tuple[str, ...]]:
    out = {}
    for name, entry in _load_yaml(path).items():
        if not isinstance(entry, dict):
            raise CatalogError(f"{path}: catalog '{name}': expected a mapping")
        out[name] = tuple(_require(entry, "processes", list, path))
    return out


def _parse_tasks(path: Path) -> dict[str, Task]:
    out = {}
    for name, entry in _load_yaml(path).items():
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


@dataclass(frozen=True)
class _Recipes:
    processes: dict[str, Process]
    catalogs: dict[str, tuple[str, ...]]
    tasks: dict[str, Task]


@functools.lru_cache(maxsize=4)
def _recipes(dirs: tuple[Path, ...]) -> _Recipes:
    """Every recipe of ``dirs``, later folders overriding earlier ones name by name. The shipped
    folder must hold all three parts; a user folder may hold any of them."""
    shipped = dirs[0]
    if not (shipped / "processes").is_dir():
        raise CatalogError(f"{shipped}: the package's recipe folder is missing (broken install?)")
    out = _Recipes({}, {}, {})
    for k, folder in enumerate(dirs):
        if k and not folder.is_dir():
            raise CatalogError(f"EVENTGNN_RECIPES={folder}: no such folder")
        for path in sorted((folder / "processes").glob("*.yaml")):
            out.processes[path.stem] = _parse_process(path)
        for name, parse, into in (
            ("catalogs.yaml", _parse_catalogs, out.catalogs),
            ("tasks.yaml", _parse_tasks, out.tasks),
        ):
            if k == 0 or (folder / name).exists():
                into.update(parse(folder / name))
    return out


def _lookup(kind: str, table: dict, name: str):
    if name not in table:
        raise CatalogError(f"unknown {kind} '{name}'; known: {', '.join(table)}")
    return table[name]


def list_processes() -> tuple[str, ...]:
    """Names of every process with a recipe, sorted."""
    return tuple(sorted(_recipes(recipe_dirs()).processes))


def get_process(name: str) -> Process:
    """The process called ``name``; :class:`CatalogError` lists the known ones otherwise."""
    return _lookup("process", _recipes(recipe_dirs()).processes, name)


def get_catalog(name: str) -> tuple[str, ...]:
    """The ordered process names of catalog ``name`` (``pretrain12``, ``paper12``); every entry
    must have a process recipe."""
    processes = _lookup("catalog", _recipes(recipe_dirs()).catalogs, name)
    for proc in processes:
        get_process(proc)
    return processes


def list_tasks() -> tuple[str, ...]:
    """Names of every downstream task, in recipe order."""
    return tuple(_recipes(recipe_dirs()).tasks)


def get_task(name: str) -> Task:
    """The task called ``name``; :class:`CatalogError` lists the known ones otherwise."""
    return _lookup("task", _recipes(recipe_dirs()).tasks, name)


def builtin_downstream_processes() -> tuple[str, ...]:
    """Every process of the built-in downstream tasks, in task order, without repeats."""
    seen: dict[str, None] = {}
    for task in _recipes(recipe_dirs()).tasks.values():
        if task.builtin:
            seen.update(dict.fromkeys(task.processes))
    return tuple(seen)
