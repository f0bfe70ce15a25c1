"""The default dataset: generated on first use into a cache folder, reused afterwards.

- role ``"pretrain"``: the ``pretrain12`` catalog, ``EVENTGNN_DEFAULT_PRETRAIN_EVENTS`` events per
  process (default :data:`DEFAULT_PRETRAIN_EVENTS`), seeds from :data:`PRETRAIN_SEED`.
- role ``"downstream"``: the given processes (default: every process of the built-in downstream
  tasks), ``EVENTGNN_DEFAULT_DOWNSTREAM_EVENTS`` events per process (default
  :data:`DEFAULT_DOWNSTREAM_EVENTS`), seeds from :data:`DOWNSTREAM_SEED`, so downstream events
  never repeat a pretraining event (WH and ZH are in both).

Folder: ``$EVENTGNN_CACHE`` (default ``~/.cache/eventgnn``) ``/default/<role>/``. Shards are
named by process, seed and size, so a second call only generates what is missing (for example
after raising the event count, or after an interrupted first run). Multiparton interactions are
on; all cores are used.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from .._core.errors import StaleOutputError
from .._core.system import cache_dir, cpu_count
from ..catalog.processes import builtin_downstream_processes, get_catalog
from .run import generate

DEFAULT_PRETRAIN_EVENTS = 3000
"""Pretraining events per process (12 processes) unless ``EVENTGNN_DEFAULT_PRETRAIN_EVENTS``."""

DEFAULT_DOWNSTREAM_EVENTS = 5000
"""Downstream events per process unless ``EVENTGNN_DEFAULT_DOWNSTREAM_EVENTS``."""

PRETRAIN_SEED = 1
DOWNSTREAM_SEED = 100_000_001
"""Far from the pretraining seeds (shard k uses seed + k), so the two never share a Pythia seed."""

SHARD_EVENTS = 1000
"""Small shards, so all cores share even a single-process request."""

ROLES = ("pretrain", "downstream")

CPU_SECONDS_PER_EVENT = 0.016
"""Expected CPU time per generated event with multiparton interactions (13-22 ms measured for
the Pythia processes on the 2-core development machine, docs/generation.md), for the line that
announces a first-use generation."""
SLOW_PROCESSES = {"tth_cp_odd": 0.19, "tth_cp_mix": 0.125}
"""Processes made by accept-reject, whose rejected events cost their hard process (measured the
same way)."""


def announcement(role: str, todo: Sequence, out: Path, jobs: int) -> str:
    """The line said before generating the missing shards ``todo`` of the ``role`` data: what,
    how many events, where, and the expected CPU time."""
    per_process: dict[str, int] = {}
    for spec in todo:
        per_process[spec.process] = per_process.get(spec.process, 0) + spec.events
    total = sum(per_process.values())
    cpu = sum(n * SLOW_PROCESSES.get(p, CPU_SECONDS_PER_EVENT) for p, n in per_process.items())
    what = ", ".join(f"{p} {n:,}" for p, n in per_process.items())
    return (
        f"generating the built-in {role} data (first use; reused afterwards): {total:,} events "
        f"({what}) into {out}; about {_duration(cpu)} of CPU time, {_duration(cpu / jobs)} on "
        f"{jobs} core(s)"
    )


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{max(seconds, 1):.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        n = int(value)
    except ValueError:
        raise ValueError(
            f"environment variable {name}: expected an integer, got '{value}'"
        ) from None
    if n <= 0:
        raise ValueError(f"environment variable {name}: expected a positive integer, got {n}")
    return n


def ensure_default_data(
    role: str = "pretrain",
    processes: Sequence[str] | None = None,
    log: Callable[[str], None] = print,
) -> Path:
    """Return the default dataset folder for ``role``, generating whatever is missing first
    (announced on ``log`` before it starts: :func:`announcement`)."""
    if role not in ROLES:
        raise ValueError(f"unknown default-data role '{role}'; expected one of {ROLES}")
    if role == "pretrain":
        procs = tuple(processes) if processes is not None else get_catalog("pretrain12")
        events = _env_int("EVENTGNN_DEFAULT_PRETRAIN_EVENTS", DEFAULT_PRETRAIN_EVENTS)
        seed = PRETRAIN_SEED
    else:
        procs = tuple(processes) if processes is not None else builtin_downstream_processes()
        events = _env_int("EVENTGNN_DEFAULT_DOWNSTREAM_EVENTS", DEFAULT_DOWNSTREAM_EVENTS)
        seed = DOWNSTREAM_SEED
    out = cache_dir() / "default" / role
    try:
        jobs = cpu_count()

        def announce(todo) -> None:
            log(announcement(role, todo, out, jobs))

        generate(procs, out, events, seed=seed, jobs=jobs, mpi=True, shard_events=SHARD_EVENTS,
                 progress=True, announce=announce)  # fmt: skip
    except StaleOutputError as err:
        raise StaleOutputError(
            f"{err}. The built-in {role} data in {out} was made by another version of eventgnn's "
            f"generator: delete {out} to have it generated again"
        ) from err
    return out
