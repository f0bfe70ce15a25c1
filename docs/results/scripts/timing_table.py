"""Time-to-99% and break-even table from a scan folder (printed as Markdown)."""

import sys
from pathlib import Path

import numpy as np

from eventgnn.analysis.scan import read_results, run_dir
from eventgnn.analysis.timing import break_even_tasks, read_history, time_to_fraction

scan, pre_root = Path(sys.argv[1]), Path(sys.argv[2])
records = read_results(scan)
print(
    "| setup | size | seeds reaching 99% | t(99%) / t_scratch (mean over seeds that reach it) "
    "| pretraining [s] | scratch total [s] | finetune to 99% [s] | break-even tasks |"
)
print("|---|---|---|---|---|---|---|---|")
for setup in ("multiclass", "multilabel"):
    pre = read_history(pre_root / setup).total_time
    for size in sorted({r["size"] for r in records}):
        ratios, scratch_t = [], []
        for r in records:
            if r["setup"] != setup or r["size"] != size:
                continue
            base = run_dir(scan, "scratch", size, r["seed"])
            res = time_to_fraction(run_dir(scan, setup, size, r["seed"]), base, 0.99)
            ratios.append(res.ratio)
            scratch_t.append(res.baseline_time)
        finite = [x for x in ratios if np.isfinite(x)]
        s = float(np.mean(scratch_t))
        ft = float(np.mean(finite)) * s if finite else float("inf")
        n = break_even_tasks(pre, ft, s) if finite else None
        ratio = f"{np.mean(finite):.2f}" if finite else "n/a"
        print(
            f"| {setup} | {size} | {len(finite)}/{len(ratios)} | {ratio} | {pre:.0f} | {s:.0f} "
            f"| {ft:.0f} | {n if n is not None else 'never'} |"
        )
