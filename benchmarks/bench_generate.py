"""Generation throughput: full pipeline events/s per core beside Pythia's own ``next()`` rate.

For each process and for MPI on and off, in one run on one core:

1. ``next()``: a plain loop over ``pythia.next()`` (Pythia alone, nothing exported);
2. full: ``nextBatch`` (the record as awkward arrays), particle fields, detector (isolation,
   fastjet clustering, smearing, b-tagging, MET), selection, truth targets, event record and the
   Parquet write: everything ``eventgnn generate`` does per event, Pythia initialisation excluded.

The ratio full/next() is the fraction of Pythia's speed the whole pipeline keeps; the split of the
full time says where the rest goes. Times are CPU seconds of this process (``time.process_time``),
so the per-core rates hold on a shared, loaded machine too; run it alone for wall-clock rates.

    python benchmarks/bench_generate.py --processes wh,ttbar,qcd --events 500
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import awkward as ak

from eventgnn.catalog.processes import get_process
from eventgnn.events.parquet import write_events
from eventgnn.events.schema import make_events
from eventgnn.events.truth import last_copy_from_daughters, targets_from_particles
from eventgnn.generate.detector import reconstruct
from eventgnn.generate.pythia import make_pythia, next_batches, to_particles
from eventgnn.generate.run import CHUNK, detector_rng


def bench_next(process: str, events: int, mpi: bool, seed: int) -> float:
    """Pythia's own ``next()`` rate, events/s."""
    pythia = make_pythia(get_process(process), seed, mpi=mpi)
    start = time.process_time()
    for _ in range(events):
        pythia.next()
    return events / (time.process_time() - start)


def bench_full(process: str, events: int, mpi: bool, seed: int) -> dict[str, float]:
    """Seconds spent in each step of the full pipeline for ``events`` events."""
    pythia = make_pythia(get_process(process), seed, mpi=mpi)
    rng = detector_rng(process, seed)
    t = dict.fromkeys(("pythia", "record", "detector", "truth", "write"), 0.0)
    chunks = []
    batches = next_batches(pythia, events, CHUNK)
    while True:
        t0 = time.process_time()
        batch = next(batches, None)
        t1 = time.process_time()
        t["pythia"] += t1 - t0
        if batch is None:
            break
        particles = to_particles(batch["prt"])
        last = last_copy_from_daughters(particles.pid, particles.daughter1, particles.daughter2)
        t2 = time.process_time()
        objects = reconstruct(particles, last, rng)
        t3 = time.process_time()
        targets = targets_from_particles(
            particles.pid, particles.mother, last, particles.pt, particles.eta, particles.phi
        )
        chunks.append(
            make_events(
                {k: objects[k] for k in ak.fields(objects)},
                process=process,
                targets=targets,
                source=f"pythia8:{process}:seed{seed}",
            )
        )
        t4 = time.process_time()
        t["record"] += t2 - t1
        t["detector"] += t3 - t2
        t["truth"] += t4 - t3
    t0 = time.process_time()
    with tempfile.TemporaryDirectory() as tmp:
        write_events(ak.concatenate(chunks), Path(tmp) / "bench.parquet")
    t["write"] = time.process_time() - t0
    return t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", default="wh,ttbar,qcd")
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"{args.events} events per measurement, one core; rates in events per CPU second")
    header = (
        f"{'process':<12} {'MPI':<4} {'next()':>8} {'full':>8} {'full/next':>9}   "
        "share of full time: nextBatch / particle fields / detector / truth+record / write"
    )
    print(header)
    print("-" * len(header))
    for process in args.processes.split(","):
        for mpi in (True, False):
            rate_next = bench_next(process, args.events, mpi, args.seed)
            t = bench_full(process, args.events, mpi, args.seed)
            total = sum(t.values())
            rate_full = args.events / total
            shares = " / ".join(f"{100 * v / total:4.1f}%" for v in t.values())
            print(
                f"{process:<12} {'on' if mpi else 'off':<4} {rate_next:8.1f} {rate_full:8.1f} "
                f"{rate_full / rate_next:9.2f}   {shares}"
            )


if __name__ == "__main__":
    main()
