"""What the benchmark scripts share: their data, their torch options, the training loader they
time, and how they describe the machine and write their results.

A script run as ``python benchmarks/NAME.py`` has this folder on ``sys.path``, so it imports this
module as ``common``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from pathlib import Path

import awkward as ak
import torch
import torch.nn.functional as F

from eventgnn.events.io import input_files, read_events
from eventgnn.events.parquet import read_shard, write_events
from eventgnn.generate.default import ensure_default_data
from eventgnn.graphs.batch import GraphTensors
from eventgnn.graphs.dataset import Split, load_task_data, process_names
from eventgnn.train.runs import fit_stats

# ---------------------------------------------------------------------------------------------
# data


def data_or_default(data: str | None) -> str | Path:
    """``data``, or the built-in default pretraining data (generated on first use)."""
    return data if data is not None else ensure_default_data("pretrain")


def replicate(data: Path, k: int, out: Path) -> Path:
    """``k`` copies of every shard of ``data`` under ``out/copy{i}/`` (real, distinct files whose
    events repeat), to measure loading at 10^6-10^7 events with the generator's shard sizes.
    Each copy's ``source`` strings get a ``#copy{i}`` suffix: the reader refuses events that
    appear twice in one dataset."""
    for path in input_files(data):
        events = read_shard(path)
        for i in range(k):
            rel = path.relative_to(data) if data.is_dir() else Path(path.name)
            sources = [f"{s}#copy{i}" for s in events.source.to_list()]
            copy = ak.with_field(events, ak.Array(sources), "source")
            write_events(copy, out / f"copy{i}" / rel)
    return out


def load_training_data(
    data, device: torch.device, val_fraction: float = 0.2, test_fraction: float = 0.2
) -> tuple[GraphTensors, dict, int, dict]:
    """Parquet shards -> the training split on ``device``, as ``eventgnn pretrain`` loads it
    (multiclass over every process of ``data``, the default split fractions unless given).

    Returns ``(training graphs on the device, standardisation statistics, number of classes,
    seconds per stage)``; the stages are ``read``, ``labels_splits``, ``stats`` (the statistics
    and the copy of the training split out of the dataset) and ``to_device``.
    """
    t0 = time.perf_counter()
    events = read_events(data)
    t1 = time.perf_counter()
    td = load_task_data(
        data,
        process_names(events)[1],
        None,
        Split(val_fraction=val_fraction, test_fraction=test_fraction),
        events=events,
    )
    t2 = time.perf_counter()
    stats = fit_stats(td)
    train = td.part("train")
    t3 = time.perf_counter()
    train = train.to(device)
    sync(device)
    t4 = time.perf_counter()
    seconds = {"read": t1 - t0, "labels_splits": t2 - t1, "stats": t3 - t2, "to_device": t4 - t3}
    return train, stats, len(td.processes), seconds


# ---------------------------------------------------------------------------------------------
# torch


def add_torch_options(parser: argparse.ArgumentParser) -> None:
    """The options :func:`setup_torch` reads: ``--device``, ``--threads``, ``--seed``."""
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:i]")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)


def setup_torch(args: argparse.Namespace) -> torch.device:
    """Apply the options of :func:`add_torch_options`: CPU threads, device (TF32 matmuls on
    CUDA), seed."""
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    torch.manual_seed(args.seed)
    return device


def sync(device: torch.device) -> None:
    # timing only: make sure queued GPU work is finished before reading the clock
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_optimizer(model: torch.nn.Module, device: torch.device, fused: bool):
    """Adam at the training default's learning rate; ``fused=True`` where this build has it."""
    if fused:
        try:
            return torch.optim.Adam(model.parameters(), lr=1e-4, fused=True)
        except (RuntimeError, TypeError):  # fused Adam not supported on this device/build
            pass
    return torch.optim.Adam(model.parameters(), lr=1e-4)


def timed_pass(
    model, opt, batches, device: torch.device, autocast: torch.dtype | None, train: bool
) -> tuple[float, float, int]:
    """One pass over ``batches``: training steps (forward, cross-entropy, backward, ``opt``
    step) or, with ``train=False``, forward passes under ``torch.inference_mode``; ``autocast``
    is the autocast dtype or None. Returns (wall s, process CPU s, events)."""
    model.train(train)
    n = 0
    sync(device)
    t0, c0 = time.perf_counter(), time.process_time()
    with torch.inference_mode(not train):
        for batch in batches:
            with torch.autocast(device.type, dtype=autocast, enabled=autocast is not None):
                out = model(batch)
            if train:
                loss = F.cross_entropy(out.float(), batch.y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()  # no .item(): the host never waits for the device
            n += batch.num_graphs
    sync(device)
    return time.perf_counter() - t0, time.process_time() - c0, n


# ---------------------------------------------------------------------------------------------
# report


def machine_info(device: torch.device) -> dict:
    """Python and torch versions, threads, CPU model (from ``lscpu``), device and GPU name."""
    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "device": str(device),
    }
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in lscpu.splitlines():
            if line.startswith("Model name:"):
                info["cpu"] = line.split(":", 1)[1].strip()
    except OSError:
        pass
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def write_json(path: str | None, results: dict) -> None:
    """Write ``results`` to ``path`` (if given) as indented JSON, creating its folder."""
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(results, indent=2) + "\n")
