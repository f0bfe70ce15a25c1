"""Input standardisation as model buffers: it travels with every checkpoint (salt's InputNorm)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..graphs.features import EDGE_FEATURES, GLOBAL_FEATURES, LOG_FEATURES, NODE_FEATURES

STAT_KEYS = ("node_mean", "node_std", "edge_mean", "edge_std", "global_mean", "global_std")


class InputNorm(nn.Module):
    """Log of pT and E (as :func:`~eventgnn.graphs.features.transform_nodes`), then standardise.

    Args:
        stats: the dict of :func:`eventgnn.graphs.features.fit_standardization` (None: identity
            statistics, to be filled by :meth:`set_stats` or a loaded state dict).

    Shapes:
        ``x [N, 7]``, ``edge_attr [E, 3]``, ``u [B, 1]`` in, same shapes out.
    """

    def __init__(self, stats: dict | None = None):
        super().__init__()
        n, e, g = len(NODE_FEATURES), len(EDGE_FEATURES), len(GLOBAL_FEATURES)
        self.register_buffer(
            "log_mask", torch.tensor([f in LOG_FEATURES for f in NODE_FEATURES], dtype=torch.bool)
        )
        for key, size in zip(STAT_KEYS, (n, n, e, e, g, g), strict=False):
            init = torch.zeros(size) if key.endswith("mean") else torch.ones(size)
            self.register_buffer(key, init)
        if stats is not None:
            self.set_stats(stats)

    def reset_parameters(self) -> None:
        """Buffers only; nothing to reset (statistics come from data)."""

    def set_stats(self, stats: dict) -> None:
        """Copy standardisation statistics (numpy arrays or tensors) into the buffers."""
        for key in STAT_KEYS:
            value = torch.as_tensor(np.asarray(stats[key], dtype=np.float32))
            buf = getattr(self, key)
            if value.shape != buf.shape:
                raise ValueError(
                    f"standardisation '{key}': expected shape {tuple(buf.shape)}, "
                    f"got {tuple(value.shape)}"
                )
            buf.copy_(value)

    def stats(self) -> dict[str, torch.Tensor]:
        return {key: getattr(self, key).detach().cpu().clone() for key in STAT_KEYS}

    def forward(
        self, x: torch.Tensor, edge_attr: torch.Tensor, u: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        # torch.where keeps it one fused op; the clamp guards a zero-pT MET (log 0 = -inf)
        x = torch.where(self.log_mask, torch.log(torch.clamp(x, min=1e-3)), x)
        x = (x - self.node_mean) / self.node_std
        edge_attr = (edge_attr - self.edge_mean) / self.edge_std
        u = (u - self.global_mean) / self.global_std
        return x, edge_attr, u
