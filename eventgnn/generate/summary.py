"""Summaries of a generated dataset: cross-sections from the shard reports, distribution plots.

    python -m eventgnn.generate.summary DATA_DIR FIGURE_DIR [--processes a,b,...]

prints a Markdown table (process, events, cross-section, time per event) and writes
``generation_multiplicities.png``, ``generation_leading_jet_pt.png``, ``generation_met.png`` and
``generation_btag_multiplicity.png`` into ``FIGURE_DIR``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import awkward as ak
import numpy as np
from matplotlib.figure import Figure

from ..events.parquet import read_shards, shard_paths
from ..events.schema import ObjectType
from ..plots import distinct_colors, save


def shard_reports(folder: Path) -> list[dict]:
    """The ``.json`` reports written beside the shards of ``folder``."""
    return [json.loads(p.with_suffix(".json").read_text()) for p in shard_paths(folder)
            if p.with_suffix(".json").is_file()]  # fmt: skip


def cross_sections(folder: Path) -> dict[str, dict[str, float]]:
    """Per process: events, the cross-section [pb] (the shards' ``sigma_gen_pb``: Pythia's
    ``sigmaGen`` summed over a process's variants, or ``sigma_SM <w>`` for a CP-reweighted
    sample; shards are independent estimates of it, so they are averaged, weighted by their
    events) and its error, and the time per event in ms (wall and CPU of the worker; all steps,
    Pythia's initialisation included)."""
    out: dict[str, dict[str, float]] = {}
    for rep in shard_reports(folder):
        d = out.setdefault(
            rep["process"], {"events": 0, "w": 0.0, "err2": 0.0, "seconds": 0.0, "cpu": 0.0}
        )
        n = rep["events_written"]
        d["events"] += n
        d["w"] += rep["sigma_gen_pb"] * n
        d["err2"] += (rep["sigma_err_pb"] * n) ** 2
        d["seconds"] += rep["seconds"]
        d["cpu"] += rep.get("cpu_seconds", np.nan)
    return {
        p: {
            "events": d["events"],
            "sigma_pb": d["w"] / d["events"],
            "sigma_err_pb": float(np.sqrt(d["err2"])) / d["events"],
            "ms_per_event": 1000 * d["seconds"] / d["events"],
            "cpu_ms_per_event": 1000 * d["cpu"] / d["events"],
        }
        for p, d in out.items()
    }


def _per_event(events: ak.Array) -> dict[str, np.ndarray]:
    o = events.objects
    kind = o.kind
    jets = o[kind == int(ObjectType.JET)]
    lead = ak.fill_none(ak.firsts(jets.pt), np.nan)
    met = ak.fill_none(ak.firsts(o.pt[kind == int(ObjectType.MET)]), np.nan)
    return {
        "jets": ak.to_numpy(ak.sum(kind == int(ObjectType.JET), axis=1)),
        "leptons": ak.to_numpy(
            ak.sum((kind == int(ObjectType.ELECTRON)) | (kind == int(ObjectType.MUON)), axis=1)
        ),
        "photons": ak.to_numpy(ak.sum(kind == int(ObjectType.PHOTON), axis=1)),
        "btag": ak.to_numpy(ak.sum(jets.btag, axis=1)),
        "lead_jet_pt": ak.to_numpy(lead),
        "met": ak.to_numpy(met),
    }


def plot_distributions(
    folder: Path, out_dir: Path, processes: Sequence[str] | None = None
) -> list[Path]:
    """Normalised distributions per process; returns the PNG paths."""
    events = read_shards(shard_paths(folder))
    names = list(processes) if processes else sorted(set(events.process.tolist()))
    data = {p: _per_event(events[events.process == p]) for p in names}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    colors = distinct_colors(len(names))
    written = []

    def hist(ax, key, bins, xlabel):
        for color, p in zip(colors, names, strict=False):
            v = data[p][key]
            v = v[np.isfinite(v)]
            ax.hist(v, bins=bins, histtype="step", density=True, color=color, label=p, lw=1.4)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("events (normalised to unit area)")

    fig = Figure(figsize=(15, 4.5), layout="tight")
    axes = fig.subplots(1, 3)
    for ax, key, label in zip(
        axes, ("jets", "leptons", "photons"), ("jets", "electrons + muons", "photons"), strict=True
    ):
        top = 12 if key == "jets" else 5
        hist(ax, key, np.arange(-0.5, top + 0.5), f"number of selected {label}")
    axes[0].legend(fontsize=7, ncol=2)
    fig.suptitle("Object multiplicities after detector model and selection")
    save(fig, out_dir / "generation_multiplicities.png")
    written.append(out_dir / "generation_multiplicities.png")

    for key, bins, label, fname in (
        ("lead_jet_pt", np.linspace(25, 500, 39), "leading jet pT [GeV]", "leading_jet_pt"),
        ("met", np.linspace(0, 400, 41), "missing transverse momentum [GeV]", "met"),
        ("btag", np.arange(-0.5, 6.5), "number of b-tagged jets", "btag_multiplicity"),
    ):
        fig = Figure(figsize=(7.5, 5), layout="tight")
        ax = fig.add_subplot()
        hist(ax, key, bins, label)
        if key != "btag":
            ax.set_yscale("log")
        ax.legend(fontsize=7, ncol=2)
        save(fig, out_dir / f"generation_{fname}.png")
        written.append(out_dir / f"generation_{fname}.png")
    return written


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="cross-section table and plots of a dataset")
    parser.add_argument("data")
    parser.add_argument("figures")
    parser.add_argument("--processes", help="comma-separated subset, in plot order")
    args = parser.parse_args(argv)
    procs = args.processes.split(",") if args.processes else None
    xs = cross_sections(Path(args.data))
    print("| process | events | sigma [pb] | CPU ms per event (all steps) |")
    print("| --- | ---: | ---: | ---: |")
    for p in procs or sorted(xs):
        d = xs[p]
        print(
            f"| {p} | {d['events']} | {d['sigma_pb']:.4g} +- {d['sigma_err_pb']:.2g} "
            f"| {d['cpu_ms_per_event']:.1f} |"
        )
    for path in plot_distributions(Path(args.data), Path(args.figures), procs):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
