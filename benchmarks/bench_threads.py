"""Torch threads on a CPU shared with other jobs: the README's main job (``eventgnn finetune
--task wh_vs_zh`` from the shipped model) for a few epochs with 1 thread, with every core, and
with the command's default (the cores free when it starts), each on a quiet machine and beside
``--load`` busy processes (``python -c "while True: pass"``, the stand-in for another user's
job). Reports the median wall time of an epoch (``history.csv``'s ``wall_s``, epochs after the
first) per setting, and each setting's ratio to the 1-thread time in the same condition.

The data is the built-in downstream WH and ZH data (generated on first use into
``$EVENTGNN_CACHE``) unless ``--data`` names a folder. Example (the command of docs/training.md,
"Threads")::

    python benchmarks/bench_threads.py --epochs 4 --out benchmarks/results/cpu_threads.json
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from eventgnn._core.system import cpu_count, cpu_model
from eventgnn.generate.default import ensure_default_data

BURNER = "while True: pass"


def epoch_seconds(data: str, threads: int | None, epochs: int, out: Path) -> list[float]:
    """The per-epoch wall times of one finetune (``threads`` None: the command's default)."""
    cmd = [sys.executable, "-m", "eventgnn.cli", "finetune", "--task", "wh_vs_zh", "--data", data,
           "--epochs", str(epochs), "--out", str(out), f"train.min_epochs={epochs}",
           "train.plots=false"]  # fmt: skip
    if threads is not None:
        cmd += ["--threads", str(threads)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    with open(out / "history.csv") as f:
        return [float(row["wall_s"]) for row in csv.DictReader(f)]


def measure(data: str, epochs: int, load: int, settings: dict) -> dict:
    """``{setting: median epoch seconds}`` with ``load`` busy processes running throughout."""
    burners = [subprocess.Popen([sys.executable, "-c", BURNER]) for _ in range(load)]
    try:
        time.sleep(1.0 if load else 0.0)  # let the burners show in /proc/stat
        result = {}
        with tempfile.TemporaryDirectory() as tmp:
            for name, threads in settings.items():
                walls = epoch_seconds(data, threads, epochs, Path(tmp) / name)
                result[name] = statistics.median(walls[1:] or walls)
        return result
    finally:
        for b in burners:
            b.kill()
            b.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="WH and ZH shards (default: the built-in downstream data)")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per run (first not counted)")
    parser.add_argument("--load", type=int, default=1, help="busy processes in the loaded runs")
    parser.add_argument("--out", help="JSON file for the results")
    args = parser.parse_args()
    data = args.data or str(ensure_default_data("downstream", ["wh", "zh"]))
    cores = cpu_count()
    settings = {"1 thread": 1, f"{cores} threads": cores, "default": None}
    results = {
        "machine": {"cpu": cpu_model(), "cores": cores},
        "command": "eventgnn finetune --task wh_vs_zh (shipped multiclass model), median epoch s",
        "quiet": measure(data, args.epochs, 0, settings),
        f"{args.load} busy process(es)": measure(data, args.epochs, args.load, settings),
    }
    for condition in ("quiet", f"{args.load} busy process(es)"):
        base = results[condition]["1 thread"]
        for name, seconds in results[condition].items():
            print(f"{condition:>22}  {name:>10}: {seconds:6.2f} s/epoch  ({seconds / base:.2f}x)")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
