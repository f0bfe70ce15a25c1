"""The CP-mixed top Yukawa samples: cross-section ratios, parton- and detector-level figures.

    python benchmarks/cp_yukawa_study.py xsec --events 40000 --out benchmarks/results/cp_xsec.json
    python benchmarks/cp_yukawa_study.py parton --events 2000 --out benchmarks/results/cp_parton \\
        --figures docs/figures
    eventgnn generate --process tth_cp_even,tth_cp_odd --events 1000 --seed 501 --jobs 1 \
        --out /tmp/cp_det
    python benchmarks/cp_yukawa_study.py detector /tmp/cp_det --figures docs/figures

``xsec``: Pythia's SM hard process per channel (g g, q qbar; hard process only), its cross-section
``sigma_SM`` and the mean weight ``<w>`` of a = 45 and 90 degrees over the SM events:
``sigma(a) / sigma(SM) = <w>`` per channel, and for both channels together
``sum_c sigma_c <w>_c / sum_c sigma_c``, with statistical errors.

``parton``: samples made by the generator's own accept-reject at a = 0, 45, 90 degrees (Pythia
without shower, hadronisation and MPI, the hard process as generated): the Higgs pT, m(t tbar H)
and Delta phi(t, tbar), with the SM sample reweighted by ``w`` drawn over each for comparison.

``detector``: the diphoton pT of the two leading selected photons in the even and odd samples of
an ``eventgnn generate`` run, and the CPU time per event of each process from the shard reports
(the same run, so the ratio is the cost of the accept-reject).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import awkward as ak
import numpy as np

from eventgnn.catalog.processes import get_process
from eventgnn.generate import cp_yukawa as cy
from eventgnn.generate.cp_mixing import make_hook
from eventgnn.generate.pythia import (
    HARD_PROCESS_ONLY,
    ProcessRun,
    make_pythia,
    run_info,
    to_particles,
)

NO_SHOWER = ("PartonLevel:ISR = off", "PartonLevel:FSR = off", "HadronLevel:all = off")
ANGLES = (0.0, 45.0, 90.0)


def sm_hard_events(channel_process: str, n: int, seed: int):
    """``n`` SM hard-process events of one channel: momenta per channel and Pythia's sigma [pb]."""
    recipe = get_process("tth")
    hook = make_hook(0.0, None, seed)
    pythia = make_pythia(
        recipe,
        seed,
        mpi=False,
        extra=(
            "HiggsSM:gg2Httbar = off",
            "HiggsSM:qqbar2Httbar = off",
            f"HiggsSM:{channel_process} = on",
            *HARD_PROCESS_ONLY,
        ),
        hook=hook,
    )
    pythia.nextBatch(n, "skip")
    info = run_info(pythia)
    rows = {c: np.stack(r) for c, r in hook.pilot_rows.items() if r}
    return rows, info.sigma_gen_mb * 1e9, info.sigma_err_mb * 1e9


def xsec(args) -> None:
    out = {}
    for channel, proc, seed in (("gg", "gg2Httbar", 1101), ("qqbar", "qqbar2Httbar", 1102)):
        start = time.process_time()
        rows, sigma, err = sm_hard_events(proc, args.events, seed)
        mom = np.moveaxis(rows[channel], 1, 0)
        terms = cy.squared_amplitude_terms(channel, *mom)
        entry = {"events": int(mom.shape[1]), "sigma_sm_pb": sigma, "sigma_sm_err_pb": err}
        for angle in (45.0, 90.0):
            w = cy.cp_weight(channel, *mom, math.radians(angle))
            entry[f"mean_w_{angle:g}"] = float(w.mean())
            entry[f"mean_w_{angle:g}_err"] = float(w.std() / math.sqrt(len(w)))
            entry[f"max_w_{angle:g}"] = float(w.max())
        entry["max_interference_over_even"] = float(np.max(np.abs(terms.interference / terms.even)))
        entry["cpu_seconds"] = time.process_time() - start
        out[channel] = entry
    channels = ("gg", "qqbar")
    total = sum(out[c]["sigma_sm_pb"] for c in channels)
    for angle in (45.0, 90.0):
        k = f"{angle:g}"
        ratio = sum(out[c]["sigma_sm_pb"] * out[c][f"mean_w_{k}"] for c in channels) / total
        # errors: the mean weights' and the channel fractions' (Pythia's sigma errors)
        var = 0.0
        for c in channels:
            var += (out[c]["sigma_sm_pb"] / total * out[c][f"mean_w_{k}_err"]) ** 2
            d = (out[c][f"mean_w_{k}"] - ratio) / total  # d ratio / d sigma_c
            var += (d * out[c]["sigma_sm_err_pb"]) ** 2
        out[f"combined_ratio_{k}"] = ratio
        out[f"combined_ratio_{k}_err"] = math.sqrt(var)
    text = json.dumps(out, indent=1)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")


def _hard(particles: ak.Array) -> dict[str, np.ndarray]:
    """The hard process (entries 3-7 of Pythia's record: incoming partons, H, t, tbar) as
    ``[n, 4]`` arrays, and the first incoming parton's id."""
    out = {}
    for name, i in (("k1", 3), ("k2", 4), ("higgs", 5), ("top", 6), ("antitop", 7)):
        p = particles[:, i]
        out[name] = np.stack([ak.to_numpy(p[f]) for f in ("e", "px", "py", "pz")], axis=1)
    out["id1"] = ak.to_numpy(particles.pid[:, 3])
    return out


def _sm_weights(h, angle: float) -> np.ndarray:
    """``w`` of the angle for SM hard events ``h`` (from :func:`_hard`)."""
    w = np.empty(len(h["id1"]))
    gg = h["id1"] == 21
    for channel, sel in (("gg", gg), ("qqbar", ~gg)):
        # the q qbar weight is symmetric in the incoming partons: their order does not matter
        mom = [h[k][sel] for k in ("k1", "k2", "top", "antitop", "higgs")]
        w[sel] = cy.cp_weight(channel, *mom, math.radians(angle))
    return w


def _observables(h: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    total = h["higgs"] + h["top"] + h["antitop"]
    phi_t = np.arctan2(h["top"][:, 2], h["top"][:, 1])
    phi_tb = np.arctan2(h["antitop"][:, 2], h["antitop"][:, 1])
    return {
        "higgs_pt": np.hypot(h["higgs"][:, 1], h["higgs"][:, 2]),
        "m_tth": np.sqrt(cy.dot(total, total)),
        "dphi_tt": np.abs((phi_t - phi_tb + np.pi) % (2 * np.pi) - np.pi),
    }


def parton(args) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    samples, reports = {}, {}
    recipe = get_process("tth")
    for angle in ANGLES:
        path = out_dir / f"parton_a{angle:g}.npz"
        if not path.exists():
            from dataclasses import replace

            proc = replace(recipe, name=f"tth_a{angle:g}", cp_angle_deg=angle)
            start = time.process_time()
            run = ProcessRun(proc, args.events, args.seed, mpi=False, chunk=500, extra=NO_SHOWER)
            parts, weights = [], []
            for c in run:
                parts.append(to_particles(c.batch["prt"]))
                weights.append(np.ones(len(c.batch)) if c.weight is None else c.weight)
            h = _hard(ak.concatenate(parts))
            np.savez(
                path,
                **h,
                weight=np.concatenate(weights),
                cpu=time.process_time() - start,
                report=json.dumps(run.report()),
            )
        data = np.load(path)
        samples[angle] = _observables({k: data[k] for k in ("higgs", "top", "antitop")})
        samples[angle]["weight"] = data["weight"]
        reports[angle] = {"cpu": float(data["cpu"]), **json.loads(str(data["report"]))}
    # the SM sample reweighted by w: the expectation each accept-reject sample must follow
    sm = dict(np.load(out_dir / "parton_a0.npz"))
    base = _observables(sm)
    bins = {
        "higgs_pt": (np.linspace(0, 500, 26), "Higgs pT [GeV]"),
        "m_tth": (np.linspace(470, 2000, 35), "m(t tbar H) [GeV]"),
        "dphi_tt": (np.linspace(0, np.pi, 21), "Delta phi(t, tbar)"),
    }
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    colors = {0.0: "tab:blue", 45.0: "tab:green", 90.0: "tab:red"}
    for ax, (key, (edges, label)) in zip(axes, bins.items(), strict=True):
        for angle in ANGLES:
            v, w = samples[angle][key], samples[angle]["weight"]
            ax.hist(v, bins=edges, weights=w, density=True, histtype="step", lw=1.6,
                    color=colors[angle], label=f"a = {angle:g} deg ({len(v)} events)")  # fmt: skip
            if angle:
                ax.hist(base[key], bins=edges, weights=_sm_weights(sm, angle), density=True,
                        histtype="step", lw=1, ls="--", color=colors[angle],
                        label=f"SM sample x w(a = {angle:g} deg)")  # fmt: skip
        ax.set_xlabel(label)
        ax.set_ylabel("normalised")
    axes[0].legend(fontsize=8)
    fig.suptitle(
        "t tbar phi at parton level (accept-reject samples, 13 TeV), "
        "CP-mixing angle a of the top Yukawa coupling"
    )
    fig.tight_layout()
    figures = Path(args.figures)
    figures.mkdir(parents=True, exist_ok=True)
    fig.savefig(figures / "cp_parton_level.png", dpi=110)
    print(f"wrote {figures / 'cp_parton_level.png'}")

    def mean(a, key):
        return float(np.average(samples[a][key], weights=samples[a]["weight"]))

    summary = {
        f"{a:g}": {
            "events": len(samples[a]["higgs_pt"]),
            "mean_higgs_pt": mean(a, "higgs_pt"),
            "mean_m_tth": mean(a, "m_tth"),
            "mean_dphi_tt": mean(a, "dphi_tt"),
            "weighted_events": int(np.sum(samples[a]["weight"] != 1)),
            "cpu_seconds": reports[a]["cpu"],
            "sigma_pb": reports[a]["sigma_gen_pb"],
            "sigma_err_pb": reports[a]["sigma_err_pb"],
        }
        for a in ANGLES
    }
    print(json.dumps(summary, indent=1))
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")


def detector(args) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from eventgnn.events.parquet import read_shards, shard_paths
    from eventgnn.events.schema import ObjectType
    from eventgnn.generate.summary import shard_reports

    data = Path(args.data)
    events = read_shards(shard_paths(data))
    fig, ax = plt.subplots(figsize=(7.5, 5))
    summary = {}
    for proc, color in (("tth_cp_even", "tab:blue"), ("tth_cp_odd", "tab:red")):
        ev = events[events.process == proc]
        o = ev.objects
        ph = o[o.kind == int(ObjectType.PHOTON)]
        two = ak.num(ph.pt) >= 2
        ph = ph[two][:, :2]
        px = ak.sum(ph.pt * np.cos(ph.phi), axis=1)
        py = ak.sum(ph.pt * np.sin(ph.phi), axis=1)
        pt = ak.to_numpy(np.hypot(px, py))
        w = ak.to_numpy(ev.weight[two])
        ax.hist(pt, bins=np.linspace(0, 500, 26), weights=w, density=True, histtype="step",
                lw=1.6, color=color, label=f"{proc} ({len(pt)} events with 2 photons)")  # fmt: skip
        reps = [r for r in shard_reports(data) if r["process"] == proc]
        cpu = sum(r["cpu_seconds"] for r in reps)
        n = sum(r["events_written"] for r in reps)
        summary[proc] = {
            "events": n,
            "two_photon_events": len(pt),
            "mean_diphoton_pt": float(np.average(pt, weights=w)),
            "cpu_ms_per_event": 1000 * cpu / n,
            "sigma_gen_pb": float(np.mean([r["sigma_gen_pb"] for r in reps])),
        }
    summary["cost_ratio_odd_over_even"] = (
        summary["tth_cp_odd"]["cpu_ms_per_event"] / summary["tth_cp_even"]["cpu_ms_per_event"]
    )
    ax.set_xlabel("diphoton pT [GeV] (two leading selected photons)")
    ax.set_ylabel("normalised")
    ax.legend(fontsize=8)
    ax.set_title("t tbar H(gamma gamma), detector level: CP-even vs CP-odd top Yukawa")
    fig.tight_layout()
    figures = Path(args.figures)
    figures.mkdir(parents=True, exist_ok=True)
    fig.savefig(figures / "cp_diphoton_pt.png", dpi=110)
    print(f"wrote {figures / 'cp_diphoton_pt.png'}")
    print(json.dumps(summary, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("xsec")
    p.add_argument("--events", type=int, default=40000)
    p.add_argument("--out")
    p = sub.add_parser("parton")
    p.add_argument("--events", type=int, default=2000)
    p.add_argument("--seed", type=int, default=2001)
    p.add_argument("--out", default="benchmarks/results/cp_parton")
    p.add_argument("--figures", default="docs/figures")
    p = sub.add_parser("detector")
    p.add_argument("data")
    p.add_argument("--figures", default="docs/figures")
    args = parser.parse_args()
    {"xsec": xsec, "parton": parton, "detector": detector}[args.cmd](args)


if __name__ == "__main__":
    main()
