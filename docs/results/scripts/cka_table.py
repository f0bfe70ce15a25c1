"""Ensemble CKA table for one scan size: latents computed once per model, all pairs, both kernels.

    python cka_table.py SCAN SIZE EVENTS [SEEDS]   (SEEDS: the ensemble size, default 5)

Same functions as `eventgnn cka` (compare.common_events / run_latents, cka.ensemble_cka)."""

import sys
import time

import torch

from eventgnn.analysis.cka import ensemble_cka
from eventgnn.analysis.compare import common_events, run_latents
from eventgnn.analysis.scan import run_dir

torch.set_num_threads(1)
scan, size, n_events = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
seeds = int(sys.argv[4]) if len(sys.argv) > 4 else 5
t0 = time.perf_counter()
runs = {
    s: [str(run_dir(scan, s, size, k)) for k in range(seeds)]
    for s in ("scratch", "multiclass", "multilabel")
}
graphs = common_events(runs["scratch"][0], None, n_events)
lat = {s: run_latents(r, graphs) for s, r in runs.items()}
print(f"{len(graphs)} test events, latents in {time.perf_counter() - t0:.0f} s")
print("| ensembles | linear CKA | RBF CKA (threshold 0.5) | pairs |")
print("|---|---|---|---|")
for a, b in (
    ("scratch", "scratch"),
    ("scratch", "multiclass"),
    ("scratch", "multilabel"),
    ("multiclass", "multiclass"),
    ("multilabel", "multilabel"),
    ("multiclass", "multilabel"),
):
    same = a == b
    cells = []
    for kernel in ("linear", "rbf"):
        m, s = ensemble_cka(lat[a], None if same else lat[b], kernel=kernel)
        cells.append(f"{m:.3f} ± {s:.3f}")
    pairs = seeds * (seeds - 1) // 2 if same else seeds * seeds
    print(f"| {a} vs {b} | {cells[0]} | {cells[1]} | {pairs} |")
print(f"total {time.perf_counter() - t0:.0f} s")
