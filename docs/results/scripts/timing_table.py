"""Time-to-99% and break-even table from a scan folder (printed as Markdown).

    python timing_table.py SCAN PRETRAINED_ROOT EVENTS_PER_S|auto

Cost is counted in epochs (the engine's ``epoch`` column): a finetuned and a scratch run of the
same size train the same model on the same number of events per epoch, so an epoch costs the same
in both, whatever else the machine was doing (the GPU scans ran 12-20 processes at once, and not
the same number in every batch of runs). For the break-even number of tasks, epochs are turned
into seconds at ``EVENTS_PER_S`` (the single-process training rate of the scans' configuration,
measured by ``benchmarks/bench_epoch.py``) and the pretraining costs its measured wall time.
``auto`` takes the rate from the scan itself, per size: the median over the scratch runs' epochs
of training events per epoch over the epoch's wall time (validation included), which is right
when every run had a core to itself (``scan --jobs`` at most the number of cores, one thread
each).
"""

import sys
from pathlib import Path

import numpy as np

from eventgnn.analysis.scan import read_results, run_dir
from eventgnn.analysis.timing import break_even_tasks, read_history, time_to_fraction

scan, pre_root, rate_arg = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
records = read_results(scan)


def events_per_s(size: int) -> float:
    """The training rate that turns epochs into seconds at ``size`` events per class."""
    if rate_arg != "auto":
        return float(rate_arg)
    walls = np.concatenate(
        [
            read_history(run_dir(scan, "scratch", size, r["seed"])).columns["wall_s"]
            for r in records
            if r["setup"] == "scratch" and r["size"] == size
        ]
    )
    return 2 * size / float(np.median(walls))


print(
    "| setup | size / class | seeds reaching 99% | finetune epochs to 99% | scratch epochs "
    "| ratio | pretraining [s] | scratch [s] | finetune to 99% [s] | break-even tasks |"
)
print("|---|---|---|---|---|---|---|---|---|---|")
for setup in ("multiclass", "multilabel"):
    pre = read_history(pre_root / setup).total_time
    for size in sorted({r["size"] for r in records}):
        results = [
            time_to_fraction(
                run_dir(scan, setup, size, r["seed"]),
                run_dir(scan, "scratch", size, r["seed"]),
                0.99,
                time_column="epoch",
            )
            for r in records
            if r["setup"] == setup and r["size"] == size
        ]
        reached = [r for r in results if r.time is not None]
        epoch_s = 2 * size / events_per_s(size)  # two classes of `size` training events each
        scratch_ep = float(np.mean([r.baseline_time for r in results]))
        ft_ep = float(np.mean([r.time for r in reached])) if reached else float("inf")
        ratio = float(np.mean([r.ratio for r in reached])) if reached else float("inf")
        n = break_even_tasks(pre, ft_ep * epoch_s, scratch_ep * epoch_s) if reached else None
        print(
            f"| {setup} | {size:,} | {len(reached)}/{len(results)} | {ft_ep:.1f} | {scratch_ep:.1f} "
            f"| {ratio:.2f} | {pre:.0f} | {scratch_ep * epoch_s:.0f} | {ft_ep * epoch_s:.0f} "
            f"| {n if n is not None else 'never'} |"
        )
