"""eventgnn: pretrained graph networks for collider event classification.

Public API (flat): :func:`read_events`, :func:`write_events`, :func:`convert`, :func:`to_graph`,
:func:`build_batch`, :class:`GraphTensors`, :class:`EventGNN`, :class:`EventClassifier` (load,
finetune, predict, save), :func:`list_models` (the shipped pretrained models' cards); CKA in
:mod:`eventgnn.analysis.cka`.

Each name is imported on first use, so ``import eventgnn`` (and the command line's start-up)
loads neither torch nor the readers until they are asked for.
"""

from __future__ import annotations

import importlib

from ._core.version import __version__

_LAZY = {
    "EventClassifier": "eventgnn.classifier",
    "EventGNN": "eventgnn.model.eventgnn",
    "GraphTensors": "eventgnn.graphs.batch",
    "build_batch": "eventgnn.graphs.batch",
    "convert": "eventgnn.events.io",
    "list_models": "eventgnn.catalog.registry",
    "read_events": "eventgnn.events.io",
    "to_graph": "eventgnn.graphs.batch",
    "write_events": "eventgnn.events.parquet",
}

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'eventgnn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
