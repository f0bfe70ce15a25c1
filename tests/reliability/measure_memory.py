"""Peak memory of ``eventgnn convert`` and ``eventgnn evaluate`` on 2 million events (run once;
the numbers are in docs/reliability.md). Not a pytest module: run it as a script::

    python tests/reliability/measure_memory.py WORKDIR [--events 2000000]

It synthesises the events with numpy (vectorised; no generator run), writes them as Parquet
shards and as one Delphes-layout ROOT file, trains a tiny model on a small separate sample, then
runs each command in a subprocess under ``/usr/bin/time -v`` and reads its "Maximum resident set
size", once streamed (the default chunk sizes) and once all in memory (``--chunk-size 0``), and
writes ``WORKDIR/memory.json``.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import awkward as ak
import numpy as np

from eventgnn.events.parquet import write_events
from eventgnn.events.schema import N_TARGETS, make_events

# the model's size does not change what is measured (the event record and graph tensors held at
# once), only the time: on a shared 2-core machine the smallest model keeps 2M events to minutes
TINY = ["model.hidden=4", "model.latent=4", "model.mlp_layers=1", "model.iterations=1",
        "train.plots=false", "train.device=cpu", "train.num_threads=2"]  # fmt: skip


def synth(n: int, process: str, seed: int, shift: float) -> ak.Array:
    """``n`` events of 2-12 objects (mean 7), MET last, with physical-looking fields."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(2, 13, size=n)
    total = int(counts.sum())
    pt = (rng.exponential(40.0, total) + 20.0 + shift).astype(np.float32)
    typ = rng.integers(0, 4, total).astype(np.int8)
    last = np.cumsum(counts) - 1
    typ[last] = 4
    eta = rng.uniform(-2.5, 2.5, total).astype(np.float32)
    eta[last] = 0.0
    phi = rng.uniform(-np.pi, np.pi, total).astype(np.float32)
    cols = {
        "pt": pt, "eta": eta, "phi": phi, "energy": (pt * np.cosh(eta)).astype(np.float32),
        "kind": typ, "btag": np.where(typ == 0, rng.integers(0, 2, total), 0).astype(np.int8),
        "charge": np.where((typ == 1) | (typ == 2), rng.choice([-1, 1], total), 0).astype(np.int8),
    }  # fmt: skip
    objects = {k: ak.unflatten(v, counts) for k, v in cols.items()}
    targets = np.zeros((n, N_TARGETS), np.float32)
    return make_events(objects, process=process, targets=targets, source=f"synth:{seed}")


def write_delphes_big(path: Path, n: int, seed: int) -> None:
    """A Delphes-layout ROOT file of ``n`` events (jets, electrons, muons, photons, MET)."""
    import uproot

    rng = np.random.default_rng(seed)

    def coll(mean: float, fields: dict) -> ak.Array:
        counts = rng.poisson(mean, n)
        total = int(counts.sum())
        return ak.zip({k: ak.unflatten(f(total), counts) for k, f in fields.items()})

    def kin(ptmin):
        return {
            "PT": lambda k: (rng.exponential(40, k) + ptmin).astype(np.float32),
            "Eta": lambda k: rng.uniform(-2.4, 2.4, k).astype(np.float32),
            "Phi": lambda k: rng.uniform(-3.14, 3.14, k).astype(np.float32),
        }

    charge = {"Charge": lambda k: rng.choice(np.array([-1, 1], np.int32), k)}
    data = {
        "Jet": coll(5.0, {**kin(20), "BTag": lambda k: rng.integers(0, 2, k).astype(np.uint32)}),
        "Electron": coll(0.5, {**kin(8), **charge}),
        "Muon": coll(0.5, {**kin(8), **charge}),
        "Photon": coll(0.3, kin(15)),
        "MissingET": ak.zip({
            "MET": ak.unflatten(rng.exponential(30, n).astype(np.float32), np.ones(n, int)),
            "Phi": ak.unflatten(rng.uniform(-3, 3, n).astype(np.float32), np.ones(n, int)),
        }),
    }  # fmt: skip
    step = 250_000
    with uproot.recreate(path) as f:
        f.mktree(
            "Delphes",
            {k: v.type.content for k, v in data.items()},
            field_name=lambda o, i: f"{o}.{i}",
            counter_name=lambda c: f"{c}_size",
        )
        for start in range(0, n, step):
            f["Delphes"].extend({k: v[start : start + step] for k, v in data.items()})


def peak_rss(cmd: list[str]) -> tuple[float, float]:
    """``(peak resident memory in MiB, wall seconds)`` of a command run under /usr/bin/time -v."""
    t0 = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))
    return kib / 1024, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workdir")
    ap.add_argument("--events", type=int, default=2_000_000)
    ap.add_argument("--shard-events", type=int, default=500_000)
    ap.add_argument("--skip", nargs="*", default=[], help="steps to skip (convert-root, ...)")
    args = ap.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    exe = [sys.executable, "-m", "eventgnn.cli"]
    results: dict = {"events": args.events}
    out_json = work / "memory.json"
    if out_json.exists():
        results.update(json.loads(out_json.read_text()))

    def record(key, cmd):
        if key in args.skip:
            return
        mib, wall = peak_rss(cmd)
        results[key] = {"peak_rss_mib": round(mib), "wall_s": round(wall, 1),
                        "command": " ".join(cmd[2:]).replace(str(work), "WORKDIR")}  # fmt: skip
        print(f"{key:28s} peak RSS {mib:8.0f} MiB  wall {wall:7.1f} s", flush=True)
        out_json.write_text(json.dumps(results, indent=2) + "\n")

    # the 2M-event dataset: two processes, shards of --shard-events
    data = work / "data"
    n_shards = -(-args.events // args.shard_events)
    for k in range(n_shards):
        proc = ("pa", "pb")[k % 2]
        path = data / f"{proc}_{k:03d}.parquet"
        if not path.exists():
            n = min(args.shard_events, args.events - k * args.shard_events)
            write_events(synth(n, proc, seed=k, shift=30.0 * (k % 2)), path)
    small = work / "small"
    for k, proc in enumerate(("pa", "pb")):
        if not (small / f"{proc}.parquet").exists():
            write_events(synth(2000, proc, seed=100 + k, shift=30.0 * k), small / f"{proc}.parquet")
    run = work / "run"
    if not (run / "model.pt").exists():
        subprocess.run([*exe, "pretrain", "--data", str(small), "--epochs", "1", "--out",
                        str(run), *TINY], check=True, capture_output=True)  # fmt: skip

    # convert: one 2M-event Parquet file and one 2M-event Delphes file
    big_parquet = work / "big.parquet"
    if not big_parquet.exists():
        write_events(ak.concatenate([synth(args.events // 2, "pa", 7, 0.0),
                                     synth(args.events - args.events // 2, "pb", 8, 30.0)]),
                     big_parquet)  # fmt: skip
    big_root = work / "big_delphes.root"
    if not big_root.exists() and "convert-root" not in args.skip:
        write_delphes_big(big_root, args.events, seed=9)
    for name, src in (("parquet", big_parquet), ("root", big_root)):
        for mode, chunk in (("streamed", "500000"), ("in-memory", "0")):
            out = work / f"conv_{name}_{mode}"
            if out.exists():
                subprocess.run(["rm", "-rf", str(out)], check=True)
            record(f"convert-{name}-{mode}", [*exe, "convert", str(src), "--out", str(out),
                                              "--chunk-size", chunk])  # fmt: skip
    for mode, chunk in (("streamed", "200000"), ("in-memory", "0")):
        cmd = [*exe, "evaluate", "--model", str(run), "--data", str(data), "--out",
               str(work / f"eval_{mode}"), "--chunk-size", chunk]  # fmt: skip
        record(f"evaluate-{mode}", cmd)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
