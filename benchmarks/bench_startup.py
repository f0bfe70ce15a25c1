"""Start-up time of the command line: ``eventgnn --help`` and an argument error, against a bare
``python -c pass`` (the interpreter's own start) and ``python -c "import torch"`` (what the
command would cost if it loaded torch before parsing), each the median of ``--repeat`` runs in
fresh processes. Example (the figure of docs/training.md and the README)::

    python benchmarks/bench_startup.py --repeat 7
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

CASES = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "eventgnn --help": [sys.executable, "-m", "eventgnn.cli", "--help"],
    "eventgnn finetune --bogus": [sys.executable, "-m", "eventgnn.cli", "finetune", "--bogus"],
    "python -c 'import torch'": [sys.executable, "-c", "import torch"],
}


def seconds(cmd: list[str], repeat: int) -> float:
    """The median wall time of ``cmd`` over ``repeat`` fresh processes."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per case (median)")
    args = parser.parse_args()
    base = seconds(CASES["python -c pass"], args.repeat)
    for name, cmd in CASES.items():
        s = seconds(cmd, args.repeat)
        print(f"{name:>28}: {s:6.3f} s  ({s / base:5.1f}x python -c pass)")


if __name__ == "__main__":
    main()
