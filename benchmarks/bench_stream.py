"""The streamed training path (``train.stream=true``) against the in-memory one.

Two jobs::

    python benchmarks/bench_stream.py synth DIR [--events-per-process 25000] [--copies 4]
    python benchmarks/bench_stream.py throughput --data DIR [--max-train N] [--batch-size 128]
                                                 [--tiny] [--repeat 2]

``synth`` writes synthetic shards (12 processes, ``--events-per-process`` each, 2-20 objects per
event after selection, mean about 9) into ``DIR/base`` and the same shards replicated
``--copies`` times with new event ids (:func:`common.replicate`) into ``DIR/x{copies}``: the data
for measuring peak memory of a one-epoch pretraining at two sizes, each command under
``/usr/bin/time -v`` (docs/training.md, "Scale").

``throughput`` trains one epoch (:func:`eventgnn.train.engine.train_epoch`, what ``fit`` runs)
over the training split of ``--data`` (its first ``--max-train`` events), in memory and streamed,
alternately in this process with the same initial weights and seed, ``--repeat`` times each, and
prints the events per second of both (the best of the repeats: the run least disturbed by other
processes) and their ratio, and the CPU seconds of each epoch (less sensitive to other jobs on a
shared machine).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import awkward as ak
import numpy as np
import torch
from bench_read_build import synthesise
from common import add_torch_options, machine_info, replicate, setup_torch, write_json

from eventgnn.config import ModelConfig, TrainConfig
from eventgnn.events.parquet import write_events
from eventgnn.events.schema import make_events
from eventgnn.events.selection import build_objects
from eventgnn.graphs.dataset import Split, data_processes, load_task_data
from eventgnn.graphs.stream import load_streamed_task_data
from eventgnn.model.eventgnn import EventGNN
from eventgnn.train.engine import train_epoch
from eventgnn.train.objectives import make_objective
from eventgnn.train.runs import fit_stats

PROCESSES = ("bbh", "diboson", "ggf_h", "qcd", "single_top", "ttbar", "ttw", "tth", "tttt",
             "vbf_h", "wh", "zh")  # fmt: skip


TINY_MODEL = {"hidden": 16, "latent": 16, "mlp_layers": 2, "iterations": 1}
"""The tests' tiny model: the data path's share of an epoch is largest with it."""


def synth(out: Path, per_process: int, copies: int) -> None:
    base = out / "base"
    for k, name in enumerate(PROCESSES):
        objects = build_objects(**synthesise(per_process, seed=k))
        events = make_events(
            {f: objects[f] for f in ak.fields(objects)},
            process=name,
            source=np.char.add(f"synthetic:{name}:", np.arange(per_process).astype(str)),
        )
        write_events(events, base / f"{name}.parquet")
    replicate(base, copies, out / f"x{copies}")
    print(f"wrote {base} ({per_process * len(PROCESSES):,} events) and {out / f'x{copies}'} "
          f"({per_process * len(PROCESSES) * copies:,} events)")  # fmt: skip


def throughput(args: argparse.Namespace) -> dict:
    device = setup_torch(args)
    processes = sorted(data_processes(args.data))
    split = Split()
    t0 = time.perf_counter()
    mem = load_task_data(args.data, processes, None, split)
    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        st = load_streamed_task_data(args.data, processes, None, split, folder=args.cache or tmp)
        t2 = time.perf_counter()
        stats = fit_stats(mem)
        train = mem.splits["train"][: args.max_train]
        parts = {"in_memory": mem.graphs.subset(train), "streamed": st.graphs.subset(train)}
        objective = make_objective("multiclass", tuple(processes))
        model_config = ModelConfig(**(TINY_MODEL if args.tiny else {}))
        config = TrainConfig(batch_size=args.batch_size)
        best = dict.fromkeys(parts, float("inf"))
        cpu = dict.fromkeys(parts, float("inf"))
        for _ in range(args.repeat):
            for name, graphs in parts.items():
                torch.manual_seed(0)
                model = EventGNN(model_config, len(processes), stats).to(device)
                optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
                generator = torch.Generator().manual_seed(0)
                t, c = time.perf_counter(), time.process_time()
                train_epoch(model, objective, graphs, optimizer, generator, config, device)
                best[name] = min(best[name], time.perf_counter() - t)
                cpu[name] = min(cpu[name], time.process_time() - c)
    n = len(train)
    rate = {k: n / v for k, v in best.items()}
    result = {
        "data": str(args.data),
        "events": int(len(mem.graphs)),
        "training_events_per_epoch": int(n),
        "batch_size": args.batch_size,
        "model": "tiny" if args.tiny else "default",
        "load_s": {"in_memory": t1 - t0, "streamed_cache_build_and_open": t2 - t1},
        "epoch_s": best,
        "epoch_cpu_s": cpu,
        "ratio_cpu_in_memory_over_streamed": cpu["in_memory"] / cpu["streamed"],
        "events_per_s": rate,
        "ratio_streamed_over_in_memory": rate["streamed"] / rate["in_memory"],
        "machine": machine_info(device),
    }
    ratio = result["ratio_streamed_over_in_memory"]
    print(f"{n:,} training events, batch {args.batch_size}: in memory "
          f"{rate['in_memory']:,.0f} events/s, streamed {rate['streamed']:,.0f} events/s, "
          f"ratio {ratio:.3f}; CPU seconds per epoch in memory {cpu['in_memory']:.2f}, "
          f"streamed {cpu['streamed']:.2f} (best of {args.repeat} each)")  # fmt: skip
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="job", required=True)
    s = sub.add_parser("synth", help="write synthetic shards and their replicas")
    s.add_argument("out", type=Path)
    s.add_argument("--events-per-process", type=int, default=25_000)
    s.add_argument("--copies", type=int, default=4)
    t = sub.add_parser("throughput", help="one training epoch in memory and streamed")
    t.add_argument("--data", type=Path, required=True)
    t.add_argument("--cache", default=None, help="cache folder (default: a temporary one)")
    t.add_argument("--max-train", type=int, default=None, help="training events per epoch")
    t.add_argument("--batch-size", type=int, default=128)
    t.add_argument("--repeat", type=int, default=2)
    t.add_argument(
        "--tiny", action="store_true", help="the tests' tiny model (data path dominates)"
    )
    t.add_argument("--json", default=None, help="write the results here")
    add_torch_options(t)
    args = parser.parse_args()
    if args.job == "synth":
        synth(args.out, args.events_per_process, args.copies)
    else:
        write_json(args.json, throughput(args))


if __name__ == "__main__":
    main()
