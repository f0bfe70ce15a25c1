"""eventgnn: pretrained graph networks for collider event classification.

Public API (flat): :func:`read_events`, :func:`to_graph`, :func:`build_batch`,
:class:`GraphTensors`, :class:`EventGNN`, :class:`EventClassifier` (load, finetune, predict,
save), :func:`list_models` (the shipped pretrained models' cards); CKA in
:mod:`eventgnn.analysis.cka`.
"""

from .events.io import convert, read_events
from .events.parquet import write_events
from .graphs.batch import GraphTensors, build_batch, to_graph
from .registry import list_models

__version__ = "0.1.0"

__all__ = [
    "EventClassifier",
    "EventGNN",
    "GraphTensors",
    "build_batch",
    "convert",
    "list_models",
    "read_events",
    "to_graph",
    "write_events",
]


def __getattr__(name):
    # the model pulls in torch_geometric's nn stack; import it only when asked for
    if name == "EventGNN":
        from .model.eventgnn import EventGNN

        return EventGNN
    if name == "EventClassifier":
        from .classifier import EventClassifier

        return EventClassifier
    raise AttributeError(name)
