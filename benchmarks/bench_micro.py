"""Micro-measurements behind docs/performance.md: the pieces of the fast path, one at a time.

- Adam step on the default model's parameters: ``fused=True`` against the default implementation;
- sum aggregation of ``[E, 64]`` messages (forward + backward): PyG's ``scatter(reduce="sum")``
  against ``index_add_`` (what ``eventgnn.model.gn.scatter_sum`` uses);
- ``torch.repeat_interleave`` on a batch's counts with 1 and with 2 threads (OpenMP barriers on a
  shared machine);
- the arithmetic of one forward pass, reference against eventgnn, counted from the model's
  layer shapes and the events' mean numbers of nodes and edges.

Times are process CPU time per call (median of ``--repeats`` rounds), robust on a shared machine.

    python benchmarks/bench_micro.py --data DIR
"""

from __future__ import annotations

import argparse
import statistics
import time

import awkward as ak
import numpy as np
import torch
from torch_geometric.utils import scatter

from eventgnn.config import ModelConfig
from eventgnn.model import EventGNN


def cpu_us(fn, calls: int, repeats: int) -> float:
    """Median over ``repeats`` of the process CPU time per call, in microseconds."""
    fn()
    out = []
    for _ in range(repeats):
        c0 = time.process_time()
        for _ in range(calls):
            fn()
        out.append((time.process_time() - c0) / calls * 1e6)
    return statistics.median(out)


def adam(repeats: int) -> dict:
    res = {}
    for fused in (False, True):
        torch.manual_seed(0)
        model = EventGNN(ModelConfig(), n_outputs=12)
        for p in model.parameters():
            p.grad = torch.randn_like(p)
        opt = torch.optim.Adam(model.parameters(), lr=1e-4, fused=fused)
        res["fused" if fused else "default"] = cpu_us(opt.step, 50, repeats)
    return res


def aggregation(n_edges: int, n_nodes: int, repeats: int) -> dict:
    torch.manual_seed(0)
    src = torch.randn(n_edges, 64, requires_grad=True)
    index = torch.randint(0, n_nodes, (n_edges,))

    def pyg():
        scatter(src, index, dim=0, dim_size=n_nodes, reduce="sum").sum().backward()

    def index_add():
        src.new_zeros(n_nodes, 64).index_add_(0, index, src).sum().backward()

    return {"pyg_scatter": cpu_us(pyg, 100, repeats), "index_add": cpu_us(index_add, 100, repeats)}


def repeat_interleave(repeats: int) -> dict:
    counts = torch.randint(0, 12, (128,), generator=torch.Generator().manual_seed(0))
    values = torch.arange(128)
    res = {}
    before = torch.get_num_threads()
    for threads in (1, 2):
        torch.set_num_threads(threads)
        res[f"{threads}_threads"] = cpu_us(
            lambda: torch.repeat_interleave(values, counts), 50, repeats
        )
        # wall time too: with 2 threads the waiting is not all in this process's CPU time
        t0 = time.perf_counter()
        for _ in range(50):
            torch.repeat_interleave(values, counts)
        res[f"{threads}_threads_wall"] = (time.perf_counter() - t0) / 50 * 1e6
    torch.set_num_threads(before)
    return res


def arithmetic(nodes: float, edges: float, hidden: int = 64, layers: int = 4) -> dict:
    """Multiply-adds of one forward pass per event, in units of one ``hidden x hidden`` product.

    Reference: concatenations ``[x_src, x_dst, e, u]`` (4H wide) per edge, ``[x, agg, u]`` (3H)
    per node. eventgnn: per edge only ``W_e e``; ``W_src x``, ``W_dst x`` per node; ``W_u u``
    per event, for the edge and the node MLP.
    """
    rest = layers - 1  # the Linear layers after the first
    ref_iter = edges * (4 + rest) + nodes * (3 + rest) + (3 + rest)
    fast_iter = edges * (1 + rest) + nodes * 2 + 1 + nodes * (2 + rest) + 1 + (3 + rest)
    encoders = nodes * rest + edges * rest + rest  # first layers (7, 3, 1 -> H) are negligible
    decoder = layers
    iters = ModelConfig().iterations
    ref = iters * ref_iter + encoders + decoder
    fast = iters * fast_iter + encoders + decoder
    return {
        "reference_per_iteration": ref_iter,
        "eventgnn_per_iteration": fast_iter,
        "reference_forward": ref,
        "eventgnn_forward": fast,
        "ratio": ref / fast,
    }


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="Parquet folder (for mean nodes and edges)")
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    from eventgnn.events.io import read_events

    counts = ak.to_numpy(ak.num(read_events(args.data).objects, axis=1)).astype(np.float64)
    counts = counts[counts > 0]
    nodes, edges = counts.mean(), (counts * (counts - 1)).mean()
    torch.set_num_threads(1)
    res = {
        "events": {"nodes_mean": nodes, "edges_mean": edges},
        "adam_step_us": adam(args.repeats),
        "aggregation_us": aggregation(int(128 * edges), int(128 * nodes), args.repeats),
        "repeat_interleave_us": repeat_interleave(args.repeats),
        "arithmetic_units_per_event": arithmetic(nodes, edges),
    }
    for key, value in res.items():
        print(f"{key}: " + ", ".join(f"{k} {v:,.2f}" for k, v in value.items()))
    return res


if __name__ == "__main__":
    main()
