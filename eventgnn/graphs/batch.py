"""Events -> PyTorch Geometric graphs, one at a time or many at once.

:class:`GraphTensors` keeps a whole dataset as flat tensors (node features of all events one after
another, plus per-event counts and labels) and builds a :class:`~torch_geometric.data.Batch` for
any list of event indices with array operations only: no Python loop over events or edges. The
result equals ``Batch.from_data_list([to_graph(e) for e in events])``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import awkward as ak
import numpy as np
import torch
from torch_geometric.data import Batch, Data

from .features import edge_features, fully_connected_edges, node_features

LABEL_KEYS = ("label", "targets", "weight")


@dataclass
class GraphTensors:
    """A dataset of events as flat tensors.

    Shapes: ``x [N_total, 7]`` (all events' node features, concatenated), ``counts [B]`` (nodes
    per event), ``ptr [B + 1]`` (``x[ptr[b]:ptr[b+1]]`` are event ``b``'s nodes), and per-event
    ``labels``: ``label [B]`` int64, ``targets [B, 41]`` float32, ``weight [B]`` float32.
    """

    x: torch.Tensor
    counts: torch.Tensor
    labels: dict[str, torch.Tensor] = field(default_factory=dict)

    def __post_init__(self):
        self.ptr = torch.cat([self.counts.new_zeros(1), torch.cumsum(self.counts, 0)])
        # a host copy of the counts sizes every batch without waiting for the device (GPU)
        self.host_counts = self.counts.cpu()

    @classmethod
    def from_events(cls, events: ak.Array) -> GraphTensors:
        x, counts = node_features(events)
        labels = {  # no copy where the record already holds the type (targets: 164 B/event)
            "label": torch.from_numpy(ak.to_numpy(events.label).astype(np.int64, copy=False)),
            "targets": torch.from_numpy(ak.to_numpy(events.targets).astype(np.float32, copy=False)),
            "weight": torch.from_numpy(ak.to_numpy(events.weight).astype(np.float32, copy=False)),
        }
        return cls(torch.from_numpy(x), torch.from_numpy(counts), labels)

    def __len__(self) -> int:
        return len(self.counts)

    def to(self, device) -> GraphTensors:
        labels = {k: v.to(device) for k, v in self.labels.items()}
        return GraphTensors(self.x.to(device), self.counts.to(device), labels)

    def subset(self, idx) -> GraphTensors:
        """A new dataset with the events ``idx`` (copies the data)."""
        idx = torch.as_tensor(idx, dtype=torch.int64, device=self.counts.device)
        node_idx, counts = self._node_index(idx)
        return GraphTensors(self.x[node_idx], counts, {k: v[idx] for k, v in self.labels.items()})

    def _node_index(
        self, idx: torch.Tensor, total: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        counts = self.counts[idx]
        starts = self.ptr[idx]
        offsets = torch.cumsum(counts, 0) - counts
        if total is None:
            total = int(counts.sum())  # host sync on a GPU: sizes the output
        node_idx = torch.arange(total, device=counts.device) + torch.repeat_interleave(
            starts - offsets, counts, output_size=total
        )
        return node_idx, counts

    def epoch_batches(
        self, generator: torch.Generator, batch_size: int, target: str | None, rank=0, world=1
    ):
        """One epoch's training batches for ``rank`` of ``world``: a permutation drawn from
        ``generator`` (the same on every rank), cut into ``world`` equal shares (equal step
        counts keep the ranks' all-reduces in lockstep; up to ``world - 1`` events sit out the
        epoch), each cut into batches of ``batch_size``."""
        order = torch.randperm(len(self), generator=generator)
        if world > 1:
            per_rank = len(self) // world
            order = order[rank * per_rank : (rank + 1) * per_rank]
        for idx in order.split(batch_size):
            # host indices: the batch is sized on the host, no device sync (GPU)
            yield self.batch(idx, target=target)

    def batch(self, idx=None, target: str | None = "label") -> Batch:
        """A PyG ``Batch`` of the events ``idx`` (all if None) with ``y = labels[target]`` and
        the event weights ``w = labels["weight"]`` (``[B]`` float32; absent without weights).

        With ``idx`` on the host (a CPU tensor, numpy array or list) and the dataset on a GPU, the
        batch is built without any device-to-host synchronisation: output sizes come from the
        host copy of the counts, so batch building overlaps with the previous step's kernels.
        """
        if idx is None:
            idx = torch.arange(len(self))
        idx = torch.as_tensor(idx, dtype=torch.int64)
        n_nodes = n_edges = None
        if idx.device.type == "cpu":
            c = self.host_counts[idx]
            n_nodes, n_edges = int(c.sum()), int((c * (c - 1)).sum())
        idx = idx.to(self.counts.device, non_blocking=True)
        node_idx, counts = self._node_index(idx, n_nodes)
        y = self.labels[target][idx] if target is not None else None
        w = self.labels["weight"][idx] if "weight" in self.labels else None
        return make_batch(self.x[node_idx], counts, y, n_edges=n_edges, w=w)


def make_batch(
    x: torch.Tensor,
    counts: torch.Tensor,
    y: torch.Tensor | None = None,
    n_edges: int | None = None,
    w: torch.Tensor | None = None,
) -> Batch:
    """Assemble a ``Batch`` from the concatenated node features of several events.

    ``n_edges`` (the total number of edges, if known on the host) avoids a device sync. ``y`` and
    ``w`` (per-event labels and weights, ``[B, ...]`` and ``[B]``) ride along as ``batch.y`` and
    ``batch.w`` for the loss; the model reads neither (nor does an ONNX export).
    """
    n_graphs = len(counts)
    edge_index, edge_counts = fully_connected_edges(counts, total=n_edges)
    edge_attr = edge_features(x, edge_index)
    batch_vec = torch.repeat_interleave(
        torch.arange(n_graphs, device=x.device), counts, output_size=x.shape[0]
    )
    ptr = torch.cat([counts.new_zeros(1), torch.cumsum(counts, 0)])
    out = Batch(
        x=x,
        edge_index=edge_index,
        edge_attr=edge_attr,
        u=counts.to(x.dtype).unsqueeze(1),
        batch=batch_vec,
        ptr=ptr,
    )
    if y is not None:
        out.y = y
    if w is not None:
        out.w = w
    # bookkeeping that lets Batch.get_example / to_data_list undo the batching
    edge_ptr = torch.cat([edge_counts.new_zeros(1), torch.cumsum(edge_counts, 0)])
    graph_ptr = torch.arange(n_graphs + 1, device=x.device)
    out._slice_dict = {
        "x": ptr,
        "edge_index": edge_ptr,
        "edge_attr": edge_ptr,
        "u": graph_ptr,
        "y": graph_ptr,
        "w": graph_ptr,
    }
    zeros = torch.zeros(n_graphs, dtype=torch.int64, device=x.device)
    out._inc_dict = {"x": zeros, "edge_index": ptr[:-1], "edge_attr": zeros, "u": zeros,
                     "y": zeros, "w": zeros}  # fmt: skip
    out._num_graphs = n_graphs
    return out


def to_graph(event: ak.Record | ak.Array, target: str = "label") -> Data:
    """One event of the event record as a fully connected ``Data`` object.

    ``x [n, 7]``, ``edge_index [2, n(n-1)]``, ``edge_attr [n(n-1), 3]``, ``u [1, 1]`` (= n) and
    ``y`` (``label [1]`` or ``targets [1, 41]``). An event with one object has no edges.
    """
    if isinstance(event, ak.Record):
        # a length-1 view of the parent array: ak.Array([event]) would rebuild it from Python
        # objects (about 5 ms per event)
        layout = event.layout
        event = ak.Array(layout.array[layout.at : layout.at + 1])
    if len(event) != 1:
        raise ValueError(f"to_graph takes one event, got {len(event)}; use build_batch")
    b = GraphTensors.from_events(event).batch(target=target)
    return Data(x=b.x, edge_index=b.edge_index, edge_attr=b.edge_attr, u=b.u, y=b.y)


def build_batch(events: ak.Array, target: str = "label") -> Batch:
    """Many events -> one ``Batch`` (vectorised), equal to ``Batch.from_data_list`` of
    :func:`to_graph` of each."""
    return GraphTensors.from_events(events).batch(target=target)
