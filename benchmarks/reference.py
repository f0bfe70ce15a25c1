"""A straightforward reference implementation of the eventgnn model, for benchmarks and tests.

This is the model of DESIGN.md ("Model", the paper's section III.B) written the way a typical
PyTorch Geometric user would write it, following PyG's own ``MetaLayer`` documentation:

- one :class:`~torch_geometric.data.Data` per event, built from the event record with per-event
  tensors (:func:`event_to_data`), batched by :class:`torch_geometric.loader.DataLoader`;
- encoder: three MLPs embed node, edge and global features into ``width`` dimensions;
- processor: one :class:`~torch_geometric.nn.MetaLayer` (edge, node and global models that
  ``torch.cat`` their inputs and aggregate with ``scatter(..., reduce="sum")``) applied
  ``iterations`` times with the same weights;
- decoder: an MLP on the global feature, then a linear head.

Every MLP is ``depth`` x (Linear(width) + ReLU) followed by LayerNorm. Inputs are standardised
inside the model exactly as eventgnn does (``log`` of pT and E, then mean/std), with statistics
from :func:`eventgnn.graphs.features.fit_standardization`.

Concatenation orders (which fix how weights map onto eventgnn's): edge ``[x_src, x_dst, e, u]``,
node ``[x, sum of incoming e', u]``, global ``[sum x', sum e', u]``; "incoming" means edges whose
target (``edge_index[1]``) is the node, PyG's ``source_to_target`` flow.

Nothing here is tuned: it is the yardstick the fast path is measured against.
"""

from __future__ import annotations

import math

import awkward as ak
import numpy as np
import torch
from torch import nn
from torch_geometric.data import Data
from torch_geometric.loader import DataLoader
from torch_geometric.nn import MetaLayer
from torch_geometric.utils import scatter

# ---------------------------------------------------------------------------------------------
# data: one Data per event, as a typical user would build it


def event_to_data(objects, label: int) -> Data:
    """One event (``objects`` record of lists) -> a fully connected ``Data``.

    Per-event tensors only: the node matrix from the object fields, all ordered pairs ``i != j``
    as edges (ordered by source, then target), and ``Delta eta``, wrapped ``Delta phi`` and
    ``Delta R`` as edge features. ``u [1, 1]`` is the number of nodes.
    """
    x = torch.tensor(
        [
            objects["pt"],
            objects["eta"],
            objects["phi"],
            objects["energy"],
            objects["kind"],
            objects["btag"],
            objects["charge"],
        ],
        dtype=torch.float32,
    ).t()  # [n, 7]
    n = x.shape[0]
    full = torch.ones(n, n, dtype=torch.bool)
    full.fill_diagonal_(False)
    edge_index = full.nonzero().t().contiguous()  # [2, n(n-1)], row-major: source, then target
    src, dst = edge_index
    deta = x[src, 1] - x[dst, 1]
    dphi = torch.remainder(x[src, 2] - x[dst, 2] + math.pi, 2 * math.pi) - math.pi
    dr = torch.sqrt(deta**2 + dphi**2)
    edge_attr = torch.stack([deta, dphi, dr], dim=1)
    u = torch.tensor([[float(n)]])
    return Data(x=x, edge_index=edge_index, edge_attr=edge_attr, u=u, y=torch.tensor([label]))


def events_to_data_list(events: ak.Array) -> list[Data]:
    """The event record -> a list of ``Data``, one per event (a Python loop, by design)."""
    objects = events.objects
    fields = ["pt", "eta", "phi", "energy", "kind", "btag", "charge"]
    per_event = ak.to_list(objects[fields])
    labels = ak.to_list(events.label)
    out = []
    for obj, label in zip(per_event, labels, strict=True):
        columns = {k: [o[k] for o in obj] for k in fields}
        out.append(event_to_data(columns, label))
    return out


def make_loader(data_list: list[Data], batch_size: int, shuffle: bool = True) -> DataLoader:
    """PyG's ``DataLoader`` over the per-event ``Data`` objects."""
    return DataLoader(data_list, batch_size=batch_size, shuffle=shuffle)


# ---------------------------------------------------------------------------------------------
# model


def mlp(in_features: int, width: int = 64, depth: int = 4) -> nn.Sequential:
    """``depth`` x (Linear + ReLU), then LayerNorm."""
    layers: list[nn.Module] = []
    for k in range(depth):
        layers += [nn.Linear(in_features if k == 0 else width, width), nn.ReLU()]
    layers.append(nn.LayerNorm(width))
    return nn.Sequential(*layers)


class EdgeModel(nn.Module):
    """``e'_ij = MLP(x_i, x_j, e_ij, u)``."""

    def __init__(self, width: int = 64, depth: int = 4):
        super().__init__()
        self.edge_mlp = mlp(4 * width, width, depth)

    def forward(self, src, dst, edge_attr, u, batch):
        out = torch.cat([src, dst, edge_attr, u[batch]], 1)
        return self.edge_mlp(out)


class NodeModel(nn.Module):
    """``x'_i = MLP(x_i, sum_j e'_ji, u)`` (sum over edges arriving at ``i``)."""

    def __init__(self, width: int = 64, depth: int = 4):
        super().__init__()
        self.node_mlp = mlp(3 * width, width, depth)

    def forward(self, x, edge_index, edge_attr, u, batch):
        col = edge_index[1]
        agg = scatter(edge_attr, col, dim=0, dim_size=x.size(0), reduce="sum")
        out = torch.cat([x, agg, u[batch]], dim=1)
        return self.node_mlp(out)


class GlobalModel(nn.Module):
    """``u' = MLP(sum_i x'_i, sum_ij e'_ij, u)``."""

    def __init__(self, width: int = 64, depth: int = 4):
        super().__init__()
        self.global_mlp = mlp(3 * width, width, depth)

    def forward(self, x, edge_index, edge_attr, u, batch):
        row = edge_index[0]
        n_graphs = u.size(0)
        node_sum = scatter(x, batch, dim=0, dim_size=n_graphs, reduce="sum")
        edge_sum = scatter(edge_attr, batch[row], dim=0, dim_size=n_graphs, reduce="sum")
        return self.global_mlp(torch.cat([node_sum, edge_sum, u], dim=1))


class ReferenceGNN(nn.Module):
    """Encoder -> ``MetaLayer`` iterated with shared weights -> decoder MLP -> linear head.

    Args:
        stats: standardisation statistics (``fit_standardization``): float32 arrays
            ``node_mean/std [7]``, ``edge_mean/std [3]``, ``global_mean/std [1]``.
        n_outputs: width of the head (number of classes, or 41 targets).
        width, depth, iterations: MLP width, Linear layers per MLP, processor iterations.

    Shapes: ``forward(data)`` takes a PyG ``Batch`` with ``x [N, 7]``, ``edge_index [2, E]``,
    ``edge_attr [E, 3]``, ``u [B, 1]``, ``batch [N]`` and returns ``[B, n_outputs]``.
    """

    def __init__(
        self,
        stats: dict,
        n_outputs: int,
        width: int = 64,
        depth: int = 4,
        iterations: int = 4,
        node_features: int = 7,
        edge_features: int = 3,
        global_features: int = 1,
    ):
        super().__init__()
        for key, value in stats.items():
            self.register_buffer(key, torch.as_tensor(np.asarray(value), dtype=torch.float32))
        self.iterations = iterations
        self.node_encoder = mlp(node_features, width, depth)
        self.edge_encoder = mlp(edge_features, width, depth)
        self.global_encoder = mlp(global_features, width, depth)
        self.processor = MetaLayer(
            EdgeModel(width, depth), NodeModel(width, depth), GlobalModel(width, depth)
        )
        self.decoder = mlp(width, width, depth)
        self.head = nn.Linear(width, n_outputs)

    def standardize(self, x, edge_attr, u):
        # log of pT (column 0) and E (column 3): they span orders of magnitude; clamp as eventgnn
        x = x.clone()
        x[:, 0] = torch.log(torch.clamp(x[:, 0], min=1e-3))
        x[:, 3] = torch.log(torch.clamp(x[:, 3], min=1e-3))
        x = (x - self.node_mean) / self.node_std
        edge_attr = (edge_attr - self.edge_mean) / self.edge_std
        u = (u - self.global_mean) / self.global_std
        return x, edge_attr, u

    def encode(self, data) -> torch.Tensor:
        """The latent ``[B, width]`` after the decoder MLP."""
        x, edge_attr, u = self.standardize(data.x, data.edge_attr, data.u)
        x = self.node_encoder(x)
        edge_attr = self.edge_encoder(edge_attr)
        u = self.global_encoder(u)
        for _ in range(self.iterations):
            x, edge_attr, u = self.processor(x, data.edge_index, edge_attr, u, data.batch)
        return self.decoder(u)

    def forward(self, data) -> torch.Tensor:
        return self.head(self.encode(data))


# ---------------------------------------------------------------------------------------------
# weights shared with eventgnn (so that both compute the same function)


def _mlp_pairs(plain: nn.Sequential, mlp: nn.Module) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Matching parameters of a ``Sequential`` (Linear, ReLU, ..., LayerNorm) and an eventgnn
    ``MLP`` (``linears[k]``, ``norm``)."""
    linears = [m for m in plain if isinstance(m, nn.Linear)]
    if len(linears) != len(mlp.linears):
        raise ValueError(f"MLP depth differs: {len(linears)} vs {len(mlp.linears)}")
    pairs = []
    for a, b in zip(linears, mlp.linears, strict=True):
        pairs += [(a.weight, b.weight), (a.bias, b.bias)]
    pairs += [(plain[-1].weight, mlp.norm.weight), (plain[-1].bias, mlp.norm.bias)]
    return pairs


def parameter_pairs(
    plain: ReferenceGNN, model: nn.Module
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``(reference parameter, eventgnn parameter)`` for every parameter of an
    ``eventgnn.EventGNN`` with shared processor weights and LayerNorm on."""
    if len(model.processor) != 1:
        raise ValueError("the reference shares one processor block across iterations")
    block = model.processor[0]
    pairs = []
    for a, b in (
        (plain.node_encoder, model.node_encoder),
        (plain.edge_encoder, model.edge_encoder),
        (plain.global_encoder, model.global_encoder),
        (plain.processor.edge_model.edge_mlp, block.edge_mlp),
        (plain.processor.node_model.node_mlp, block.node_mlp),
        (plain.processor.global_model.global_mlp, block.global_mlp),
        (plain.decoder, model.decoder),
    ):
        pairs += _mlp_pairs(a, b)
    pairs += [(plain.head.weight, model.head.weight), (plain.head.bias, model.head.bias)]
    return pairs


@torch.no_grad()
def load_eventgnn_weights(plain: ReferenceGNN, model: nn.Module) -> ReferenceGNN:
    """Copy the weights and standardisation of an ``eventgnn.EventGNN`` (shared processor
    weights, LayerNorm on) into ``plain``; afterwards both compute the same function."""
    for a, b in parameter_pairs(plain, model):
        a.copy_(b)
    for key in ("node_mean", "node_std", "edge_mean", "edge_std", "global_mean", "global_std"):
        getattr(plain, key).copy_(getattr(model.norm, key))
    plain.iterations = model.config.iterations
    return plain
