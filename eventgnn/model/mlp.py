"""The MLP used everywhere in the model: ``layers`` x (Linear + ReLU), then LayerNorm."""

from __future__ import annotations

import torch
from torch import nn


class MLP(nn.Module):
    """``layers`` Linear layers, each followed by ReLU, then LayerNorm (graph_nets' ``make_mlp``).

    Args:
        in_features: input width.
        hidden: width of every layer (and of the output).
        layers: number of Linear layers (paper: 4).
        layer_norm: apply LayerNorm to the output (paper: yes).

    Shapes:
        input ``[*, in_features]`` -> output ``[*, hidden]``.

    :meth:`forward_after_first` lets a caller compute the first Linear layer itself (for example
    as a sum of per-node parts, see :class:`eventgnn.model.gn.GNBlock`) and run the rest.
    """

    def __init__(
        self, in_features: int, hidden: int = 64, layers: int = 4, layer_norm: bool = True
    ):
        super().__init__()
        if layers < 1:
            raise ValueError("an MLP needs at least one layer")
        self.in_features, self.hidden = in_features, hidden
        widths = [in_features] + [hidden] * layers
        pairs = zip(widths[:-1], widths[1:], strict=True)
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in pairs)
        self.norm = nn.LayerNorm(hidden) if layer_norm else nn.Identity()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for lin in self.linears:
            lin.reset_parameters()
        if isinstance(self.norm, nn.LayerNorm):
            self.norm.reset_parameters()

    @property
    def first(self) -> nn.Linear:
        return self.linears[0]

    def forward_after_first(self, h: torch.Tensor) -> torch.Tensor:
        """Continue from the pre-activation ``h`` of the first Linear layer."""
        h = torch.relu(h)  # not in place: ``h`` belongs to the caller
        for lin in self.linears[1:]:
            h = torch.relu_(lin(h))  # in place on a fresh output: one allocation fewer per layer
        return self.norm(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_after_first(self.first(x))
