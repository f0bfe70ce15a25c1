"""Throughput of eventgnn alone at scale: large batches, bf16, torch.compile, and one epoch over
10^7 events (the GPU targets of the performance issue).

``bench_model.py`` compares eventgnn with the PyTorch Geometric reference at the paper's batch
size; this script asks how fast eventgnn itself can go when the batch is large enough to fill a
GPU, and whether a whole pretraining epoch over ``--epoch-events`` events is fed at that rate:

1. loading: read the Parquet shards of ``--data`` (all of them), label them, build the flat graph
   tensors, fit the standardisation statistics, copy to the device - the training loader of
   ``bench_load.py``, stage by stage; timed, events/s;
2. when fewer events were loaded than ``--epoch-events`` (or ``--events``), the dataset on the
   device is resampled (with replacement) to that many - the generator cannot produce 10^7
   distinct events here, and the cost of a step depends on the events' object counts, which
   resampling keeps. ``--replicate K`` instead loads K copies of every shard (distinct files),
   so that loading is measured at the epoch's size and the first epoch including loading is
   reported, not extrapolated;
3. for each variant ``bN-PRECISION[-compile]`` of ``--variants`` (training batch size N, fp32 or
   bf16 autocast, eager or ``torch.compile``): events/s of training steps (batch building by
   indexing on the device + forward + backward + fused Adam) and of inference (batches of
   ``--eval-batch-size``), each over ``min(--events, --steps x N)`` events after warm-up batches;
4. one full training epoch over all ``--epoch-events`` events with the variant named by
   ``--epoch-variant`` (default: the fastest training variant of step 3).

Examples (the command of docs/performance.md; then the epoch with loading, for a machine that
has 10^7 events' worth of memory: 34 copies of the 300,000-event pretraining set)::

    python benchmarks/bench_epoch.py --data DIR --device cuda --events 2000000 \\
        --variants b128-fp32,b8192-fp32,b8192-bf16,b8192-bf16-compile --epoch-events 10000000
    python benchmarks/bench_epoch.py --data DATA/pre --replicate 34 --device cuda \\
        --variants b32768-bf16 --epoch-events 10000000
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch
from common import (
    add_torch_options,
    data_or_default,
    load_training_data,
    machine_info,
    make_optimizer,
    replicate,
    setup_torch,
    timed_pass,
    write_json,
)

from eventgnn.config import ModelConfig
from eventgnn.graphs.batch import GraphTensors
from eventgnn.model import EventGNN

DTYPES = {"fp32": None, "bf16": torch.bfloat16}


def load(data: str | None, device: torch.device) -> tuple[GraphTensors, dict, dict]:
    """Step 1: Parquet -> flat tensors on ``device`` through the training loader
    (``common.load_training_data``: read, label, split, fit statistics, copy), timed; every
    event goes into the training pool."""
    graphs, stats, n_classes, seconds = load_training_data(data_or_default(data), device, 0, 0)
    total = sum(seconds.values())
    n = len(graphs)
    timing = {"events": n, "classes": n_classes, **{f"{k}_s": v for k, v in seconds.items()}}
    timing.update(total_s=total, events_per_s=n / total)
    return graphs, stats, timing


def resample(graphs: GraphTensors, n: int, seed: int) -> GraphTensors:
    """Step 2: ``n`` events drawn with replacement from ``graphs`` (on its device)."""
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(len(graphs), (n,), generator=g)
    return graphs.subset(idx)


def run_steps(model, opt, graphs, order, batch_size, device, dtype, train: bool) -> float:
    """Training steps (or inference) over the events ``order``, each batch built by indexing
    ``graphs`` on its device; returns the wall seconds."""
    batches = (graphs.batch(idx) for idx in order.split(batch_size))
    return timed_pass(model, opt, batches, device, dtype, train)[0]


def parse_variant(name: str) -> tuple[int, str, bool]:
    """``b8192-bf16-compile`` -> ``(8192, "bf16", True)``."""
    parts = name.split("-")
    ok = 2 <= len(parts) <= 3 and parts[0][:1] == "b" and parts[0][1:].isdigit()
    ok = ok and parts[1] in DTYPES and parts[2:] in ([], ["compile"])
    if not ok:
        raise SystemExit(f"bench_epoch: variant '{name}': expected bN-fp32|bf16[-compile]")
    return int(parts[0][1:]), parts[1], len(parts) == 3


def measure_variant(graphs, stats, n_classes, args, device, name) -> dict:
    """Step 3 for one variant: warm-up, then training and inference events/s."""
    batch, precision, compiled = parse_variant(name)
    torch.manual_seed(args.seed)
    model = EventGNN(ModelConfig(), n_outputs=n_classes, stats=stats).to(device)
    opt = make_optimizer(model, device, fused=True)
    net = torch.compile(model, dynamic=True) if compiled else model
    dtype = DTYPES[precision]
    n = min(args.events, args.steps * batch, len(graphs))
    gen = torch.Generator().manual_seed(args.seed)
    warm = torch.randperm(len(graphs), generator=gen)[: batch * args.warmup]
    t0 = time.perf_counter()
    run_steps(net, opt, graphs, warm, batch, device, dtype, train=True)
    run_steps(net, opt, graphs, warm, args.eval_batch_size, device, dtype, train=False)
    warm_s = time.perf_counter() - t0
    order = torch.randperm(len(graphs), generator=gen)[:n]
    train_s = run_steps(net, opt, graphs, order, batch, device, dtype, train=True)
    infer_s = run_steps(net, opt, graphs, order, args.eval_batch_size, device, dtype, train=False)
    return {
        "variant": name,
        "batch_size": batch,
        "precision": precision,
        "compiled": compiled,
        "events": n,
        "warmup_s": warm_s,
        "train_events_per_s": n / train_s,
        "infer_events_per_s": n / infer_s,
        "model": (model, opt, net, dtype, batch),
    }


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", help="Parquet folder (default: the built-in pretraining data)")
    p.add_argument(
        "--replicate",
        type=int,
        default=1,
        help="load K copies of each shard (bench_load.py), to load as many events as an epoch",
    )
    add_torch_options(p)
    p.add_argument("--events", type=int, default=20000, help="most events per variant")
    p.add_argument("--steps", type=int, default=200, help="most training steps per variant")
    p.add_argument(
        "--variants",
        default="b128-fp32,b1024-fp32",
        help="comma-separated bN-fp32|bf16[-compile] (bf16: CUDA only)",
    )
    p.add_argument("--eval-batch-size", type=int, default=65536, help="inference batch")
    p.add_argument("--warmup", type=int, default=5, help="warm-up batches per variant")
    p.add_argument("--epoch-events", type=int, default=0, help="events of the full epoch (0: none)")
    p.add_argument("--epoch-variant", help="variant for the epoch (default: fastest training)")
    p.add_argument("--json", help="write the results here")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    device = setup_torch(args)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    for v in variants:
        if parse_variant(v)[1] == "bf16" and device.type != "cuda":
            raise SystemExit(f"bench_epoch: variant '{v}': bf16 autocast is measured on CUDA only")
    with tempfile.TemporaryDirectory(prefix="bench_epoch_") as tmp:
        data = args.data
        if args.replicate > 1:
            if data is None:
                raise SystemExit("bench_epoch: --replicate needs --data")
            data = replicate(Path(data), args.replicate, Path(tmp))
        graphs, stats, loading = load(data, device)
    n_classes = loading["classes"]
    print(f"loading: {json.dumps(loading)}", flush=True)
    results: dict = {
        "command": " ".join(["bench_epoch.py"] + (argv or sys.argv[1:])),
        "machine": machine_info(device),
        "loading": loading,
        "variants": [],
    }
    n_pool = max(args.events, args.epoch_events)
    pool = resample(graphs, n_pool, args.seed) if n_pool > len(graphs) else graphs
    counts = pool.host_counts.double()
    results["objects_per_event_mean"] = float(counts.mean())
    results["edges_per_event_mean"] = float((counts * (counts - 1)).mean())
    kept = {}
    for name in variants:
        try:
            res = measure_variant(pool, stats, n_classes, args, device, name)
        except Exception as err:  # a variant that fails is reported, the others go on
            print(f"{name}: FAILED {type(err).__name__}: {err}", flush=True)
            results["variants"].append({"variant": name, "error": repr(err)})
            continue
        kept[name] = res.pop("model")
        results["variants"].append(res)
        print(
            f"{name:<24} train {res['train_events_per_s']:>12,.0f} ev/s"
            f"   infer {res['infer_events_per_s']:>12,.0f} ev/s"
            f"   (warm-up {res['warmup_s']:.1f} s)",
            flush=True,
        )
    ok = [v for v in results["variants"] if "error" not in v]
    if args.epoch_events and ok:
        name = args.epoch_variant or max(ok, key=lambda v: v["train_events_per_s"])["variant"]
        _, opt, net, dtype, batch = kept[name]
        order = torch.randperm(len(pool), generator=torch.Generator().manual_seed(args.seed + 1))
        order = order[: args.epoch_events]
        wall = run_steps(net, opt, pool, order, batch, device, dtype, train=True)
        results["epoch"] = {
            "variant": name,
            "events": len(order),
            "train_s": wall,
            "train_events_per_s": len(order) / wall,
            "loading_s_extrapolated": len(order) / loading["events_per_s"],
        }
        if pool is graphs:  # distinct loaded events, no resampling: loading measured, not scaled
            first = loading["total_s"] + wall
            results["epoch"].update(
                first_epoch_with_loading_s=first,
                first_epoch_with_loading_events_per_s=len(order) / first,
            )
        print(f"epoch: {json.dumps(results['epoch'])}", flush=True)
    print(f"\n{'variant':<24}{'train ev/s':>14}{'infer ev/s':>14}")
    for v in ok:
        train, infer = v["train_events_per_s"], v["infer_events_per_s"]
        print(f"{v['variant']:<24}{train:>14,.0f}{infer:>14,.0f}")
    write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
