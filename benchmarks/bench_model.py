"""Throughput of eventgnn against a straightforward PyTorch Geometric reference, in one run.

Measures events per second, on the same events, for

- (a) batch building: eventgnn's ``GraphTensors`` (flat tensors, batches by indexing) against one
  ``Data`` per event built from the event record plus ``torch_geometric.loader.DataLoader``
  collation (:mod:`benchmarks.reference`);
- (b) training: data loading + forward + backward + Adam step, same batch size, same batches;
- (c) inference: data loading + forward under ``torch.inference_mode``;

and prints a table with the ratios (eventgnn / reference) and writes everything as JSON. Warm-up
batches are excluded; each measurement is repeated ``--repeats`` times, the implementations
alternating so that load from other processes hits both alike, and the median is reported.

Optional sweeps (``--sweep``): cost versus number of events and versus object multiplicity, with
plots written to ``--plots`` (``perf_vs_events.png``, ``perf_vs_multiplicity.png``).

Examples::

    python benchmarks/bench_model.py --events 4000 --json perf.json
    python benchmarks/bench_model.py --data DIR --sweep --plots docs/figures
    python benchmarks/bench_model.py --device cuda --compile --bf16 --events 200000
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from itertools import islice
from pathlib import Path

import awkward as ak
import numpy as np
import reference as ref
import torch
from common import (
    add_torch_options,
    data_or_default,
    machine_info,
    make_optimizer,
    setup_torch,
    sync,
    timed_pass,
    write_json,
)

from eventgnn.config import ModelConfig
from eventgnn.events.io import read_events
from eventgnn.graphs.batch import GraphTensors
from eventgnn.graphs.features import fit_standardization, node_features
from eventgnn.model import EventGNN

# ---------------------------------------------------------------------------------------------
# data


def load_events(data: str | None, n_events: int, seed: int) -> ak.Array:
    """``n_events`` events (a seeded random subset) with ``label`` = process index.

    From ``data`` (anything :func:`eventgnn.read_events` reads) when given, else from the
    built-in default data (generated on first use by :mod:`eventgnn.generate`).
    """
    data = data_or_default(data)
    events = read_events(data)
    events = events[ak.num(events.objects, axis=1) > 0]
    if len(events) == 0:
        raise SystemExit(f"bench_model: {data}: no events with at least one object")
    rng = np.random.default_rng(seed)
    take = rng.permutation(len(events))[: min(n_events, len(events))]
    events = events[np.sort(take)]
    names, codes = np.unique(ak.to_numpy(events.process).astype(str), return_inverse=True)
    return ak.with_field(events, codes.astype(np.int64), "label"), len(names)


# ---------------------------------------------------------------------------------------------
# the two implementations, behind one interface


class Impl:
    """One implementation: how to build its dataset, iterate batches, and run a model."""

    name: str

    def build(self, events: ak.Array) -> None: ...

    def batches(self, order: torch.Tensor, batch_size: int): ...


class EventgnnImpl(Impl):
    """eventgnn: the dataset as flat tensors on the device; a batch is an index operation."""

    name = "eventgnn"

    def __init__(self, device: torch.device):
        self.device = device

    def build(self, events: ak.Array) -> None:
        self.graphs = GraphTensors.from_events(events).to(self.device)

    def batches(self, order: torch.Tensor, batch_size: int):
        # host indices: GraphTensors sizes each batch on the host, so a GPU never waits
        for idx in order.split(batch_size):
            yield self.graphs.batch(idx)


class ReferenceImpl(Impl):
    """The reference: a list of per-event ``Data`` objects and PyG's ``DataLoader``."""

    name = "reference"

    def __init__(self, device: torch.device):
        self.device = device

    def build(self, events: ak.Array) -> None:
        self.data_list = ref.events_to_data_list(events)

    def batches(self, order: torch.Tensor, batch_size: int):
        # the same batches as eventgnn: permute once, then a plain (unshuffled) DataLoader
        data = [self.data_list[i] for i in order.tolist()]
        for batch in ref.make_loader(data, batch_size, shuffle=False):
            yield batch.to(self.device, non_blocking=True)


def make_models(stats: dict, n_outputs: int, device: torch.device, seed: int):
    """eventgnn's model and the reference with identical weights (so they compute the same)."""
    torch.manual_seed(seed)
    fast = EventGNN(ModelConfig(), n_outputs=n_outputs, stats=stats).to(device)
    plain = ref.ReferenceGNN(stats, n_outputs).to(device)
    ref.load_eventgnn_weights(plain, fast)
    return fast, plain


# ---------------------------------------------------------------------------------------------
# measurements


def median_rate(samples: list[tuple], column: int = 0) -> float:
    """Median events/s over repeats; ``column`` 0: wall-clock time, 1: process CPU time."""
    return statistics.median(s[-1] / s[column] for s in samples if s[column] > 0 and s[-1] > 0)


def measure_build(events, device, batch_size: int, repeats: int) -> dict:
    """(a): event record -> every batch of one epoch, both ways."""
    n = len(events)
    order = torch.randperm(n)
    out: dict[str, list] = {
        "eventgnn": [],
        "reference": [],
        "reference_construct": [],
        "reference_collate": [],
    }
    for impl in (EventgnnImpl(device), ReferenceImpl(device)):  # warm-up: imports, lazy init
        impl.build(events[: min(64, n)])
        for b in impl.batches(torch.arange(min(64, n)), batch_size):  # noqa: B007
            pass
    for _ in range(repeats):
        impl = EventgnnImpl(device)
        t0, c0 = time.perf_counter(), time.process_time()
        impl.build(events)
        for _b in impl.batches(order, batch_size):
            pass
        sync(device)
        out["eventgnn"].append((time.perf_counter() - t0, time.process_time() - c0, n))

        impl = ReferenceImpl(device)
        t0, c0 = time.perf_counter(), time.process_time()
        impl.build(events)
        t1, c1 = time.perf_counter(), time.process_time()
        for b in impl.batches(order, batch_size):  # noqa: B007
            pass
        sync(device)
        t2, c2 = time.perf_counter(), time.process_time()
        out["reference"].append((t2 - t0, c2 - c0, n))
        out["reference_construct"].append((t1 - t0, c1 - c0, n))
        out["reference_collate"].append((t2 - t1, c2 - c1, n))
    res = {k: median_rate(v) for k, v in out.items()}
    res["cpu_time"] = {k: median_rate(v, 1) for k, v in out.items()}
    return res


def measure_model(
    events,
    impls: dict[str, tuple[Impl, torch.nn.Module, object]],
    device,
    batch_size: int,
    eval_batch_size: int,
    repeats: int,
    n_warmup: int,
    autocast: dict[str, torch.dtype | None],
    do_train: bool = True,
) -> dict:
    """(b) and (c) for every implementation, alternating within each repeat.

    Before timing, each implementation runs ``n_warmup`` training and inference batches
    (allocator, caches, ``torch.compile``); the timed passes then cover every event."""
    train: dict[str, list] = {k: [] for k in impls}
    infer: dict[str, list] = {k: [] for k in impls}
    n = len(events)
    warm_order = torch.randperm(n, generator=torch.Generator().manual_seed(12345))
    for key, (impl, model, opt) in impls.items():
        if do_train:
            warm = islice(impl.batches(warm_order, batch_size), n_warmup)
            timed_pass(model, opt, warm, device, autocast[key], train=True)
        warm = islice(impl.batches(warm_order, eval_batch_size), n_warmup)
        timed_pass(model, opt, warm, device, autocast[key], train=False)
    for r in range(repeats):
        order = torch.randperm(n, generator=torch.Generator().manual_seed(r))
        for key, (impl, model, opt) in impls.items():
            if do_train:
                batches = impl.batches(order, batch_size)
                train[key].append(timed_pass(model, opt, batches, device, autocast[key], True))
            batches = impl.batches(order, eval_batch_size)
            infer[key].append(timed_pass(model, opt, batches, device, autocast[key], False))
    res = {"inference": {k: median_rate(v) for k, v in infer.items()}}
    res["cpu_time"] = {"inference": {k: median_rate(v, 1) for k, v in infer.items()}}
    if do_train:
        res["training"] = {k: median_rate(v) for k, v in train.items()}
        res["cpu_time"]["training"] = {k: median_rate(v, 1) for k, v in train.items()}
    return res


def setup_impls(events, n_classes, args, device, compile_model: bool | None = None):
    stats = fit_standardization(*node_features(events))
    fast, plain = make_models(stats, n_classes, device, args.seed)
    impls: dict[str, tuple] = {}
    autocast: dict[str, torch.dtype | None] = {}
    e_impl, r_impl = EventgnnImpl(device), ReferenceImpl(device)
    e_impl.build(events)
    r_impl.build(events)
    impls["reference"] = (r_impl, plain, make_optimizer(plain, device, fused=False))
    autocast["reference"] = None
    impls["eventgnn"] = (e_impl, fast, make_optimizer(fast, device, fused=True))
    use_bf16 = args.bf16 and device.type == "cuda"
    autocast["eventgnn"] = torch.bfloat16 if use_bf16 else None
    if args.compile if compile_model is None else compile_model:
        compiled = torch.compile(fast, dynamic=True)
        impls["eventgnn+compile"] = (e_impl, compiled, make_optimizer(fast, device, fused=True))
        autocast["eventgnn+compile"] = autocast["eventgnn"]
    return impls, autocast


def sweep_events(events, args, device, n_classes) -> dict:
    """Cost of an inference pass and a training epoch versus the number of events (eager:
    ``torch.compile`` would recompile for every point)."""
    sizes = [s for s in (250, 500, 1000, 2000, 4000, 8000, 16000) if s <= len(events)]
    if len(events) not in sizes:
        sizes.append(len(events))
    rows = []
    # nested random subsets: files hold one process each, so a prefix would mix processes (and
    # multiplicities) differently at every size
    perm = np.random.default_rng(args.seed).permutation(len(events))
    for size in sizes:
        sub = events[np.sort(perm[:size])]
        impls, autocast = setup_impls(sub, n_classes, args, device, compile_model=False)
        res = measure_model(
            sub, impls, device, args.batch_size, args.eval_batch_size, 1, args.warmup, autocast
        )
        rows.append({"events": size, **res})
        print(f"  sweep events={size}: " + json.dumps(res), flush=True)
    return {"rows": rows}


def sweep_multiplicity(events, args, device, n_classes) -> dict:
    """Per-event cost of inference and training versus the number of objects N."""
    counts = ak.to_numpy(ak.num(events.objects, axis=1))
    rows = []
    per_group = args.sweep_group_events
    rng = np.random.default_rng(args.seed)
    for n_obj in np.unique(counts):
        members = np.flatnonzero(counts == n_obj)
        if len(members) < 8:
            continue
        # full batches at every N: rare multiplicities are resampled (the cost depends on N and
        # the batch size, not on which events of that N are used)
        pick = members if len(members) >= per_group else rng.choice(members, per_group)
        sub = events[pick[:per_group]]
        impls, autocast = setup_impls(sub, n_classes, args, device, compile_model=False)
        res = measure_model(
            sub, impls, device, args.batch_size, args.eval_batch_size, 1, args.warmup, autocast
        )
        rows.append({"n_objects": int(n_obj), "events": len(sub), "distinct": len(members), **res})
        print(f"  sweep N={n_obj}: " + json.dumps(res), flush=True)
    return {"rows": rows}


# ---------------------------------------------------------------------------------------------
# report


def table_rows(results: dict) -> list[dict]:
    """One row per (stage, eventgnn variant): events/s of both and the ratios, wall and CPU."""
    rows = []
    stages = [("batch building", results["build"], results["build"]["cpu_time"])]
    for stage in ("training", "inference"):
        if results.get(stage):
            stages.append((stage, results[stage], results["cpu_time"][stage]))
    for stage, wall, cpu in stages:
        for key in wall:
            if key.startswith("eventgnn"):
                rows.append(
                    {
                        "stage": stage,
                        "variant": key,
                        "reference": wall["reference"],
                        "eventgnn": wall[key],
                        "ratio": wall[key] / wall["reference"],
                        "ratio_cpu_time": cpu[key] / cpu["reference"],
                    }
                )
    return rows


def print_table(rows: list[dict]) -> None:
    print(
        f"\n{'stage':<16}{'variant':<18}{'reference ev/s':>15}{'eventgnn ev/s':>15}"
        f"{'ratio':>8}{'ratio (CPU s)':>15}"
    )
    for r in rows:
        print(
            f"{r['stage']:<16}{r['variant']:<18}{r['reference']:>15,.0f}{r['eventgnn']:>15,.0f}"
            f"{r['ratio']:>7.2f}x{r['ratio_cpu_time']:>14.2f}x"
        )
    print()


def plot_stages(
    rows: list[dict], x_key: str, cost, ylabels: dict, xlabel: str, path: Path, log_x: bool
) -> None:
    """Training and inference side by side, one line per implementation, log y, saved at
    ``path``: ``cost(row, stage, key)`` against ``row[x_key]``, labelled ``ylabels[stage]``.
    A ``Figure`` without pyplot, so no global matplotlib state changes."""
    # matplotlib is imported only when plots are asked for (--sweep --plots)
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter

    fig = Figure(figsize=(10, 4))
    axes = fig.subplots(1, 2)
    x = [r[x_key] for r in rows]
    for ax, stage in zip(axes, ("training", "inference"), strict=True):
        for key in rows[0][stage]:
            ax.plot(x, [cost(r, stage, key) for r in rows], "o-", label=key)
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabels[stage])
        ax.set_title(stage)
        ax.grid(alpha=0.3, which="both")
        ax.legend()
        if log_x:  # labelled at the points themselves
            ax.set_xscale("log")
            ax.set_xticks(x, [str(v) for v in x])
            ax.xaxis.set_minor_formatter(NullFormatter())
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def plot_sweeps(results: dict, folder: Path) -> list[str]:
    """``perf_vs_events.png`` and ``perf_vs_multiplicity.png`` from the sweeps in ``results``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    # on a CPU shared with other work, process CPU time is the robust measure of cost
    on_cpu = results["machine"]["device"].startswith("cpu")
    unit = " [process CPU time]" if on_cpu else " [wall time]"

    def rate(row: dict, stage: str, key: str) -> float:
        return (row["cpu_time"] if on_cpu else row)[stage][key]

    if "sweep_events" in results:
        path = folder / "perf_vs_events.png"
        plot_stages(
            results["sweep_events"]["rows"],
            "events",
            lambda r, stage, key: r["events"] / rate(r, stage, key),
            {
                "training": f"seconds per training epoch{unit}",
                "inference": f"seconds per inference pass{unit}",
            },
            "events",
            path,
            log_x=True,
        )
        written.append(str(path))
    if results.get("sweep_multiplicity", {}).get("rows"):
        path = folder / "perf_vs_multiplicity.png"
        plot_stages(
            results["sweep_multiplicity"]["rows"],
            "n_objects",
            lambda r, stage, key: 1e6 / rate(r, stage, key),
            dict.fromkeys(("training", "inference"), "microseconds per event" + unit),
            "objects per event N (edges N(N-1))",
            path,
            log_x=False,
        )
        written.append(str(path))
    return written


# ---------------------------------------------------------------------------------------------


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", help="Parquet folder (default: the built-in default data)")
    p.add_argument("--events", type=int, default=4000, help="events to use (default 4000)")
    p.add_argument("--batch-size", type=int, default=128, help="training batch (default 128)")
    p.add_argument("--eval-batch-size", type=int, default=1024, help="inference batch")
    p.add_argument("--repeats", type=int, default=3, help="repeats, median reported")
    p.add_argument("--warmup", type=int, default=3, help="batches excluded from timing per pass")
    add_torch_options(p)
    p.add_argument("--compile", action="store_true", help="also time torch.compile(eventgnn)")
    p.add_argument("--bf16", action="store_true", help="bf16 autocast for eventgnn (CUDA only)")
    p.add_argument("--no-train", action="store_true", help="skip the training measurement")
    p.add_argument("--sweep", action="store_true", help="cost vs events and vs multiplicity")
    p.add_argument(
        "--sweep-group-events",
        type=int,
        default=1024,
        help="events per multiplicity group in the sweep",
    )
    p.add_argument("--plots", default=None, help="folder for perf_*.png (with --sweep)")
    p.add_argument("--json", default=None, help="write the results here")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    device = setup_torch(args)
    events, n_classes = load_events(args.data, args.events, args.seed)
    counts = ak.to_numpy(ak.num(events.objects, axis=1))
    results: dict = {
        "command": " ".join([Path(sys.argv[0]).name] + (argv or sys.argv[1:])),
        "machine": machine_info(device),
        "events": len(events),
        "classes": n_classes,
        "objects_per_event_mean": float(counts.mean()),
        "edges_per_event_mean": float((counts * (counts - 1)).mean()),
        "batch_size": args.batch_size,
        "eval_batch_size": args.eval_batch_size,
        "repeats": args.repeats,
    }
    print(
        f"{len(events)} events, {n_classes} classes, {counts.mean():.2f} objects/event, "
        f"device {device}, {torch.get_num_threads()} threads",
        flush=True,
    )

    results["build"] = measure_build(events, device, args.batch_size, args.repeats)
    print("build: " + json.dumps(results["build"]), flush=True)
    impls, autocast = setup_impls(events, n_classes, args, device)
    results.update(
        measure_model(
            events,
            impls,
            device,
            args.batch_size,
            args.eval_batch_size,
            args.repeats,
            args.warmup,
            autocast,
            do_train=not args.no_train,
        )
    )
    if args.no_train:
        results["training"] = {}
    results["table"] = table_rows(results)
    print_table(results["table"])
    if args.sweep:
        results["sweep_events"] = sweep_events(events, args, device, n_classes)
        results["sweep_multiplicity"] = sweep_multiplicity(events, args, device, n_classes)
        if args.plots:
            results["plots"] = plot_sweeps(results, Path(args.plots))
    write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
