"""Node, edge and global features of an event graph, and their standardisation statistics.

Conventions (documented once, used everywhere):

- node features ``x``: ``[N, 7]`` = :data:`NODE_FEATURES` = pT [GeV], eta, phi, E [GeV], object
  kind, b-tag, charge (raw values; the model standardises them, see :func:`fit_standardization`).
- edges: every ordered pair ``(i, j)``, ``i != j``, of one event. ``edge_index[0]`` is the source
  ``i``, ``edge_index[1]`` the target ``j`` (PyG's ``source_to_target`` flow: the node update sums
  the messages arriving at ``j``). Within an event, edges are ordered by source, then target.
- edge features ``edge_attr``: ``[E, 3]`` = ``eta_i - eta_j``, ``phi_i - phi_j`` wrapped into
  [-pi, pi), and ``Delta R``.
- global feature ``u``: ``[B, 1]`` = number of nodes.
"""

from __future__ import annotations

import awkward as ak
import numpy as np
import torch

from ..events.physics import delta_phi
from ..events.schema import OBJECT_FIELDS

NODE_FEATURES: tuple[str, ...] = tuple(OBJECT_FIELDS)
EDGE_FEATURES: tuple[str, ...] = ("delta_eta", "delta_phi", "delta_r")
GLOBAL_FEATURES: tuple[str, ...] = ("n_nodes",)

LOG_FEATURES: tuple[str, ...] = ("pt", "energy")
"""Node features standardised as ``log(value)`` (they span orders of magnitude)."""
SCALED_FEATURES: tuple[str, ...] = ("pt", "eta", "phi", "energy")
"""Node features shifted and scaled to mean 0, std 1; the discrete ones stay raw."""

ETA, PHI = NODE_FEATURES.index("eta"), NODE_FEATURES.index("phi")


def node_features(events: ak.Array) -> tuple[np.ndarray, np.ndarray]:
    """Flatten an event-record array into ``(x [N, 7] float32, counts [B] int64)``."""
    obj = events.objects
    counts = ak.to_numpy(ak.num(obj, axis=1)).astype(np.int64)
    x = np.empty((int(counts.sum()), len(NODE_FEATURES)), dtype=np.float32)
    for k, name in enumerate(NODE_FEATURES):
        x[:, k] = ak.to_numpy(ak.flatten(obj[name], axis=1))
    return x, counts


def fully_connected_edges(counts: np.ndarray | torch.Tensor, total: int | None = None):
    """Edge index ``[2, E]`` of fully connected directed graphs, vectorised over events.

    ``counts[b]`` is the number of nodes of event ``b``; node indices are global (offset by the
    nodes of earlier events). Works on numpy arrays and torch tensors (same device).
    Returns ``(edge_index, edge_counts)`` with ``edge_counts[b] = n_b (n_b - 1)``.
    ``total``, the number of edges ``sum_b n_b (n_b - 1)``, may be given when the caller knows it
    from host-side data; then no device-to-host synchronisation happens here (GPU batches).
    """
    xp = torch if isinstance(counts, torch.Tensor) else np
    n = counts.to(torch.int64) if xp is torch else counts.astype(np.int64)
    n_edges = n * (n - 1)
    node_offset = xp.cumsum(n, 0) - n
    edge_offset = xp.cumsum(n_edges, 0) - n_edges
    if total is None:
        total = int(n_edges.sum())  # host sync on a GPU: sizes the output
    if xp is torch:
        event = torch.repeat_interleave(
            torch.arange(len(n), device=n.device), n_edges, output_size=total
        )
        local = torch.arange(total, device=n.device) - edge_offset[event]
    else:
        event = np.repeat(np.arange(len(n)), n_edges)
        local = np.arange(total, dtype=np.int64) - edge_offset[event]
    m = n[event] - 1  # neighbours per node
    src = local // m
    r = local - src * m
    dst = r + (r >= src)
    base = node_offset[event]
    return xp.stack([src + base, dst + base]), n_edges


def edge_features(x, edge_index):
    """``[E, 3]`` edge features from node features ``x`` (numpy or torch)."""
    src, dst = edge_index[0], edge_index[1]
    deta = x[src, ETA] - x[dst, ETA]
    dphi = delta_phi(x[src, PHI], x[dst, PHI])
    dr = (deta * deta + dphi * dphi) ** 0.5
    xp = torch if isinstance(x, torch.Tensor) else np
    return xp.stack([deta, dphi, dr], 1)


def transform_nodes(x):
    """Apply the log transform of :data:`LOG_FEATURES` (numpy or torch, returns a copy)."""
    x = x.clone() if isinstance(x, torch.Tensor) else x.copy()
    xp = torch if isinstance(x, torch.Tensor) else np
    for name in LOG_FEATURES:
        k = NODE_FEATURES.index(name)
        # clamp: a zero-pT MET would give log(0) = -inf
        x[:, k] = xp.log(xp.clip(x[:, k], 1e-3, None))
    return x


def _mean_std(chunks, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Means and standard deviations (float64) of the ``width`` rows of ``[width, n]`` arrays
    over all their columns, combined chunk by chunk (Chan et al.'s pairwise update), so memory
    stays at one chunk. No columns at all: mean 0, std 1 (the feature is left unscaled)."""
    n, mean, m2 = 0, np.zeros(width), np.zeros(width)
    for v in chunks:
        nc = v.shape[1]
        if nc == 0:
            continue
        mc = v.mean(1, dtype=np.float64)
        m2c = v.var(1, dtype=np.float64) * nc
        delta, tot = mc - mean, n + nc
        mean = mean + delta * (nc / tot)
        m2 = m2 + m2c + np.square(delta) * (n * nc / tot)
        n = tot
    return (mean, np.sqrt(m2 / n)) if n else (mean, np.ones(width))


def fit_standardization(
    x: np.ndarray,
    counts: np.ndarray,
    edge_events: int = 200_000,
    chunk_events: int = 16_384,
    events: np.ndarray | None = None,
) -> dict:
    """Means and standard deviations of node, edge and global features on training events.

    ``x`` and ``counts`` are flat node features (:func:`node_features`); ``events`` (indices,
    default all) selects the training events among them, in the order given. At most
    ``edge_events`` of them are used for the edge statistics. Discrete node features get mean 0
    and std 1 (left raw).
    Returns float32 arrays ``{"node_mean", "node_std", "edge_mean", "edge_std", "global_mean",
    "global_std"}``. Works through the events ``chunk_events`` at a time (their nodes gathered
    per chunk, never all at once): the edges of a chunk stay in cache.
    """
    counts = np.asarray(counts, np.int64)
    ptr = np.concatenate([[0], np.cumsum(counts)])
    events = np.arange(len(counts)) if events is None else np.asarray(events, np.int64)
    if len(events) == 0:
        raise ValueError("cannot fit standardisation on an empty training set")
    scaled = [NODE_FEATURES.index(name) for name in SCALED_FEATURES]

    def chunks(n_events: int):
        """``(node features, counts)`` of the selected events, ``chunk_events`` at a time."""
        for a in range(0, n_events, chunk_events):
            idx = events[a : min(a + chunk_events, n_events)]
            c = counts[idx]
            if (np.diff(idx) == 1).all():  # consecutive events: a view, no copy
                yield x[ptr[idx[0]] : ptr[idx[-1] + 1]], c
            else:
                offsets = np.cumsum(c) - c
                nodes = np.repeat(ptr[idx] - offsets, c) + np.arange(int(c.sum()))
                yield x[nodes], c

    def node_chunks():
        for xs, _ in chunks(len(events)):
            yield np.ascontiguousarray(transform_nodes(xs)[:, scaled].T)

    def edge_chunks():
        for xs, c in chunks(min(len(events), edge_events)):
            edge_index, _ = fully_connected_edges(c)
            yield np.ascontiguousarray(edge_features(xs, edge_index).T)

    node_mean = np.zeros(x.shape[1], np.float64)
    node_std = np.ones(x.shape[1], np.float64)
    node_mean[scaled], node_std[scaled] = _mean_std(node_chunks(), len(scaled))
    edge_mean, edge_std = _mean_std(edge_chunks(), len(EDGE_FEATURES))
    u = counts[events].astype(np.float64)
    stats = {
        "node_mean": node_mean,
        "node_std": node_std,
        "edge_mean": edge_mean,
        "edge_std": edge_std,
        "global_mean": np.array([u.mean()]),
        "global_std": np.array([u.std()]),
    }
    # a constant feature (std 0) is left unscaled rather than divided by zero
    for key in ("node_std", "edge_std", "global_std"):
        stats[key] = np.where(stats[key] > 1e-6, stats[key], 1.0)
    return {k: v.astype(np.float32) for k, v in stats.items()}
