"""How a multiclass model classifies events of one process made by another generator.

    python data_recipes/pretrained/foreign_sample.py MODEL DATA CLASS [--lead-jet-pt 100]

MODEL: a shipped model's name or a run directory; DATA: a folder of event-record shards (for
example ``eventgnn generate --lhe FILE --process CLASS --out DATA``); CLASS: the model's class
those events belong to. Prints the share of the events assigned to each class (argmax), for all
events and for those whose leading selected jet has pT above ``--lead-jet-pt`` GeV, beside the
model's own test accuracy for CLASS (its ``metrics.json``). ``publish_models.py`` writes the
same measurement into the multiclass card's limitations (:func:`summary`); docs/models.md quotes
it for MadGraph's ``p p > j j`` (../shared/data/lhe) against the built-in ``qcd`` process.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import awkward as ak
import numpy as np

from eventgnn import EventClassifier, read_events
from eventgnn.events.schema import ObjectType


def shares(scores: np.ndarray, classes: tuple[str, ...]) -> dict[str, float]:
    """Share of events per argmax class, largest first."""
    counts = np.bincount(scores.argmax(1), minlength=len(classes)) / len(scores)
    order = np.argsort(-counts)
    return {classes[i]: float(counts[i]) for i in order if counts[i] > 0}


def measure(model, data, cls: str, lead_jet_pt: float = 100.0) -> dict:
    """The class shares of the events in ``data`` under ``model`` (a :class:`EventClassifier`,
    a shipped name or a run directory): ``own`` (the model's test accuracy for ``cls``),
    ``events``, ``empty`` (events without objects, not scored), ``no_jet`` (scored events
    without a selected jet), and per event set (``all``,
    ``lead``: leading selected jet above ``lead_jet_pt`` GeV) its size and shares."""
    clf = model if isinstance(model, EventClassifier) else EventClassifier.load(model)
    if clf.kind != "multiclass" or cls not in clf.classes:
        raise SystemExit(
            f"{model}: a multiclass model with class {cls!r} is needed "
            f"(it is {clf.kind}, classes {list(clf.classes)})"
        )
    events = read_events(data)
    scores = clf.predict(events)
    keep = ~np.isnan(scores).any(1)  # events without objects score NaN
    jets = events.objects.pt[events.objects.kind == int(ObjectType.JET)]
    lead = ak.to_numpy(ak.fill_none(ak.max(jets, axis=1), 0.0))
    metrics = (
        clf.card["metrics"]
        if clf.card
        else json.loads((Path(clf.path).parent / "metrics.json").read_text())
    )
    sets = {"all": keep, "lead": keep & (lead > lead_jet_pt)}
    return {
        "cls": cls,
        "lead_jet_pt": lead_jet_pt,
        "own": metrics["per_class"][cls]["accuracy"],
        "events": len(events),
        "empty": int((~keep).sum()),
        "no_jet": int((keep & (lead == 0)).sum()),
        **{
            key: {
                "n": int(mask.sum()),
                "shares": shares(scores[mask], clf.classes) if mask.any() else {},
            }
            for key, mask in sets.items()
        },
    }


def summary(m: dict, sample: str) -> str:
    """One sentence for a card: how the events of ``sample`` (words) were classified."""
    cls, top = m["cls"], next(iter(m["all"]["shares"].items()), ("-", 0.0))  # largest first
    own_share = m["all"]["shares"].get(cls, 0.0)
    lead = m["lead"]
    lead_text = (
        f"{lead['shares'].get(cls, 0.0):.1%} of the {lead['n']:,} whose leading selected jet has "
        f"pT > {m['lead_jet_pt']:g} GeV"
        if lead["n"]
        else f"none has a leading selected jet above {m['lead_jet_pt']:g} GeV"
    )
    empty = f", {m['empty']:,} with no selected object and not scored" if m["empty"] else ""
    return (
        f"of {m['events']:,} events of {sample} run through this generator's shower, detector "
        f"and selection{empty}, {own_share:.1%} are called {cls} (most: {top[0]} {top[1]:.1%}; "
        f"{m['no_jet'] / max(m['all']['n'], 1):.0%} have no selected jet; {lead_text}), against "
        f"{m['own']:.1%} of the model's own {cls} test events: a class means its process inside "
        "the pretraining's generator cuts and selection"
    )


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("data")
    ap.add_argument("cls", metavar="CLASS")
    ap.add_argument("--lead-jet-pt", type=float, default=100.0)
    args = ap.parse_args(argv)

    m = measure(args.model, args.data, args.cls, args.lead_jet_pt)
    print(f"{args.model}: {args.cls} test accuracy on its own test split {m['own']:.3f}")
    print(f"  {m['events']:,} events in {args.data}, {m['empty']:,} without objects "
          f"(not scored, left out below), {m['no_jet']:,} without a selected jet")  # fmt: skip
    for key, label in (
        ("all", "all scored"),
        ("lead", f"leading jet pT > {args.lead_jet_pt:g} GeV"),
    ):
        n, s = m[key]["n"], m[key]["shares"]
        if not n:
            print(f"  {label}: no events")
            continue
        top = ", ".join(f"{k} {v:.3f}" for k, v in list(s.items())[:4])
        print(f"  {label} ({n:,} events): {args.cls} {s.get(args.cls, 0.0):.3f}; largest: {top}")


if __name__ == "__main__":
    main()
