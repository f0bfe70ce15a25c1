"""EventGNN: encoder -> processor (graph-network block, iterated) -> decoder -> head.

Paper, section III.B (Ho, Roberts, Han, Wang, arXiv:2412.10665): three MLPs embed the node, edge
and global features; one graph-network block is applied ``iterations`` times (shared weights by
default); an MLP decodes the global state into the latent representation; a Linear layer (the
head) maps it to the task outputs. Finetuning replaces :attr:`EventGNN.head`; CKA reads
:meth:`EventGNN.encode`.
"""

from __future__ import annotations

import torch
from torch import nn

from ..config import ModelConfig
from ..graphs.features import EDGE_FEATURES, GLOBAL_FEATURES, NODE_FEATURES
from .gn import GNBlock
from .mlp import MLP
from .norm import InputNorm


class EventGNN(nn.Module):
    """The encode-process-decode graph network for event classification.

    Args:
        config: architecture (:class:`eventgnn.config.ModelConfig`).
        n_outputs: width of the head (classes, labels, or 1 logit).
        stats: standardisation statistics (:func:`eventgnn.graphs.features.fit_standardization`);
            None leaves identity statistics (a loaded state dict fills them).

    Input widths come from :data:`~eventgnn.graphs.features.NODE_FEATURES`,
    :data:`~eventgnn.graphs.features.EDGE_FEATURES` and
    :data:`~eventgnn.graphs.features.GLOBAL_FEATURES`.

    Shapes:
        a PyG ``Batch`` with ``x [N, 7]``, ``edge_index [2, E]``, ``edge_attr [E, 3]``,
        ``u [B, 1]``, ``batch [N]`` -> :meth:`encode`: ``[B, latent]``, :meth:`forward`:
        ``[B, n_outputs]``.
    """

    def __init__(
        self, config: ModelConfig | None = None, n_outputs: int = 1, stats: dict | None = None
    ):
        super().__init__()
        config = config or ModelConfig()
        self.config, self.n_outputs = config, n_outputs
        h, layers, ln = config.hidden, config.mlp_layers, config.layer_norm
        self.norm = InputNorm(stats)
        self.node_encoder = MLP(len(NODE_FEATURES), h, layers, ln)
        self.edge_encoder = MLP(len(EDGE_FEATURES), h, layers, ln)
        self.global_encoder = MLP(len(GLOBAL_FEATURES), h, layers, ln)
        n_blocks = 1 if config.shared_weights else config.iterations
        self.processor = nn.ModuleList(GNBlock(h, h, h, h, layers, ln) for _ in range(n_blocks))
        self.decoder = MLP(h, config.latent, layers, ln)
        self.head = nn.Linear(config.latent, n_outputs)

    def reset_parameters(self) -> None:
        for module in (self.node_encoder, self.edge_encoder, self.global_encoder, self.decoder):
            module.reset_parameters()
        for block in self.processor:
            block.reset_parameters()
        self.head.reset_parameters()

    def encode_tensors(
        self,
        x: torch.Tensor,
        edge_index: torch.Tensor,
        edge_attr: torch.Tensor,
        u: torch.Tensor,
        batch: torch.Tensor,
    ) -> torch.Tensor:
        """The latent ``[B, latent]`` from raw (unstandardised) graph tensors."""
        x, edge_attr, u = self.norm(x, edge_attr, u)
        x = self.node_encoder(x)  # [N, H]
        e = self.edge_encoder(edge_attr)  # [E, H]
        u = self.global_encoder(u)  # [B, H]
        for step in range(self.config.iterations):
            block = self.processor[0 if self.config.shared_weights else step]
            x, e, u = block(x, edge_index, e, u, batch)
        return self.decoder(u)

    def encode(self, data) -> torch.Tensor:
        """The latent representation after the decoder, ``[B, latent]`` (what CKA compares)."""
        return self.encode_tensors(data.x, data.edge_index, data.edge_attr, data.u, data.batch)

    def forward(self, data) -> torch.Tensor:
        return self.head(self.encode(data))

    def replace_head(self, n_outputs: int) -> nn.Linear:
        """Put a freshly initialised output layer in place (finetuning)."""
        self.head = nn.Linear(self.config.latent, n_outputs).to(self.head.weight.device)
        self.n_outputs = n_outputs
        return self.head


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (buffers such as the standardisation statistics excluded)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
