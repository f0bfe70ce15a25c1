"""Loading a training dataset: Parquet shards -> labelled, split graph tensors on the device.

What ``eventgnn pretrain`` does before its first step (``common.load_training_data``), stage by
stage, in events per second:

1. read: every shard of ``--data`` into one event-record array, validated. eventgnn
   (:func:`eventgnn.read_events`): the shards are read by parallel threads, joined as Arrow
   tables, converted to awkward and validated once. Reference, in the same process on the same
   files: shard by shard (:func:`eventgnn.events.io.read_file`: ``ak.from_parquet`` and
   validation per shard) then ``ak.concatenate`` - how every shard was read before, and how
   the ROOT formats are still read;
2. labels and splits (:func:`~eventgnn.graphs.dataset.load_task_data` on the array of step 1:
   process codes, stratified splits, flat graph tensors);
3. ``stats``: standardisation statistics on the training split (``fit_stats``), then the
   training split copied out of the dataset (``TaskData.part``, as the training engine does
   before moving it to the device);
4. copy to ``--device``.

``--replicate K`` measures on ``K`` copies of each shard (in a temporary folder; the files are
real and distinct, their contents repeat), to reach 10^6-10^7 events with the shard sizes that
``eventgnn generate`` writes. The files are read through the page cache (the second repeat at the
latest): this measures decoding and conversion, not the disk.

Run: ``python benchmarks/bench_load.py --data DIR --replicate 4 --repeats 3``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import awkward as ak
from common import (
    add_torch_options,
    data_or_default,
    load_training_data,
    machine_info,
    replicate,
    setup_torch,
    write_json,
)

from eventgnn.events.io import input_files, read_events, read_file


def read_reference(data) -> ak.Array:
    """Shard by shard, then one concatenation (the reference of step 1)."""
    return ak.concatenate([read_file(p) for p in input_files(data)], axis=0)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", help="folder of Parquet shards (default: the built-in pretrain data)")
    ap.add_argument("--replicate", type=int, default=1, help="copies of each shard (default 1)")
    ap.add_argument("--repeats", type=int, default=3, help="best of this many (default 3)")
    add_torch_options(ap)
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    device = setup_torch(args)
    data = Path(data_or_default(args.data))
    with tempfile.TemporaryDirectory(prefix="bench_load_") as tmp:
        if args.replicate > 1:
            data = replicate(data, args.replicate, Path(tmp))
        n_files = len(input_files(data))
        ref_s, read_s, stages = [], [], []
        for _ in range(args.repeats):  # alternate the two readers within each repeat
            t = time.perf_counter()
            ref = read_reference(data)
            ref_s.append(time.perf_counter() - t)
            n = len(ref)
            del ref
            train, _, _, seconds = load_training_data(data, device)
            read_s.append(seconds["read"])
            stages.append(seconds)
            del train
        events = read_events(data)
        same = ak.array_equal(events, read_reference(data), equal_nan=True)
        if not same:
            raise SystemExit("bench_load: the two readers disagree")
    best = min(stages, key=lambda s: sum(s.values()))
    total = sum(best.values())
    rows = [("read (reference: shard by shard)", min(ref_s))]
    rows += [(f"{k}", v) for k, v in best.items()]
    rows += [("total (eventgnn)", total)]
    per_shard = n / n_files
    print(f"{n:,} events in {n_files} shards ({per_shard:,.0f} per shard), best of {args.repeats}")
    print(f"{'stage':<36} {'s':>8} {'events/s':>12}")
    for name, s in rows:
        print(f"{name:<36} {s:>8.3f} {n / s:>12,.0f}")
    ratio = min(ref_s) / min(read_s)
    print(f"read: eventgnn {ratio:.2f}x the reference")
    result = {
        "machine": machine_info(device),
        "events": n,
        "shards": n_files,
        "repeats": args.repeats,
        "reference_read_s": min(ref_s),
        "stages_s": best,
        "total_s": total,
        "events_per_s": n / total,
        "read_ratio": ratio,
        "same_events": bool(same),
    }
    write_json(args.json, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
