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
from collections.abc import Sequence
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


def ensure_default_data(role: str = "pretrain", processes: Sequence[str] | None = None) -> Path:
    """Return the default dataset folder for ``role``, generating whatever is missing first."""
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
        generate(procs, out, events, seed=seed, jobs=cpu_count(), mpi=True,
                 shard_events=SHARD_EVENTS, progress=True)  # fmt: skip
    except StaleOutputError as err:
        raise StaleOutputError(
            f"{err}. The built-in {role} data in {out} was made by another version of eventgnn's "
            f"generator: delete {out} to have it generated again"
        ) from err
    return out
