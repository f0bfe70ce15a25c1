"""The encode-process-decode graph network (paper, section III.B)."""

from .eventgnn import EventGNN, count_parameters
from .gn import GNBlock
from .mlp import MLP
from .norm import InputNorm

__all__ = ["MLP", "EventGNN", "GNBlock", "InputNorm", "count_parameters"]
