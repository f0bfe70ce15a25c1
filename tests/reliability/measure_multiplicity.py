"""Time and peak memory of one event with N objects (N(N-1) directed edges) through the default
EventGNN (run once; numbers in docs/reliability.md)::

    python tests/reliability/measure_multiplicity.py 1000 [--train]
"""

from __future__ import annotations

import argparse
import resource
import time

import awkward as ak
import numpy as np
import torch

from eventgnn.config import ModelConfig
from eventgnn.events.schema import make_events
from eventgnn.graphs.batch import GraphTensors
from eventgnn.model.eventgnn import EventGNN


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("--train", action="store_true", help="also one forward+backward pass")
    args = ap.parse_args()
    torch.set_num_threads(2)
    n, rng = args.n, np.random.default_rng(0)
    cols = dict(pt=rng.uniform(20, 100, n), eta=rng.uniform(-2, 2, n), phi=rng.uniform(-3, 3, n),
                energy=np.full(n, 50.0), kind=np.zeros(n, np.int8), btag=np.zeros(n, np.int8),
                charge=np.zeros(n, np.int8))  # fmt: skip
    events = make_events({k: ak.unflatten(v, [n]) for k, v in cols.items()}, process="p",
                         source="x")  # fmt: skip
    model = EventGNN(ModelConfig(), 2)
    before = peak_mib()
    t0 = time.perf_counter()
    batch = GraphTensors.from_events(events).batch(torch.arange(1), target=None)
    with torch.no_grad():
        model.eval()
        out = model(batch)
    print(f"{n} objects, {batch.edge_index.shape[1]:,} edges: inference "
          f"{time.perf_counter() - t0:.1f} s, peak RSS {before:.0f} -> {peak_mib():.0f} MiB, "
          f"finite={bool(torch.isfinite(out).all())}")  # fmt: skip
    if args.train:
        model.train()
        t0 = time.perf_counter()
        model(batch).sum().backward()
        print(f"training step {time.perf_counter() - t0:.1f} s, peak RSS {peak_mib():.0f} MiB")


if __name__ == "__main__":
    main()
