"""How a multiclass model classifies events of one process made by another generator.

    python data_recipes/pretrained/foreign_sample.py MODEL DATA CLASS [--lead-jet-pt 100]

MODEL: a shipped model's name or a run directory; DATA: a folder of event-record shards (for
example ``eventgnn generate --lhe FILE --process CLASS --out DATA``); CLASS: the model's class
those events belong to. Prints the share of the events assigned to each class (argmax), for all
events and for those whose leading selected jet has pT above ``--lead-jet-pt`` GeV, beside the
model's own test accuracy for CLASS (its ``metrics.json``). docs/models.md quotes it for MadGraph's
``p p > j j`` (../shared/data/lhe) against the built-in ``qcd`` process.
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


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("data")
    ap.add_argument("cls", metavar="CLASS")
    ap.add_argument("--lead-jet-pt", type=float, default=100.0)
    args = ap.parse_args(argv)

    clf = EventClassifier.load(args.model)
    if clf.kind != "multiclass" or args.cls not in clf.classes:
        raise SystemExit(
            f"{args.model}: a multiclass model with class {args.cls!r} is needed "
            f"(it is {clf.kind}, classes {list(clf.classes)})"
        )
    events = read_events(args.data)
    scores = clf.predict(events)
    keep = ~np.isnan(scores).any(1)  # events without objects score NaN
    jets = events.objects.pt[events.objects.kind == int(ObjectType.JET)]
    lead = ak.to_numpy(ak.fill_none(ak.max(jets, axis=1), 0.0))
    metrics = (
        clf.card["metrics"]
        if clf.card
        else json.loads((Path(clf.path).parent / "metrics.json").read_text())
    )
    own = metrics["per_class"][args.cls]["accuracy"]
    print(f"{args.model}: {args.cls} test accuracy on its own test split {own:.3f}")
    print(f"  {len(events):,} events in {args.data}, {int((~keep).sum()):,} without objects "
          "(not scored, left out below)")  # fmt: skip
    for label, mask in (
        ("all scored", keep),
        (f"leading jet pT > {args.lead_jet_pt:g} GeV", keep & (lead > args.lead_jet_pt)),
    ):
        if not mask.any():
            print(f"  {label}: no events")
            continue
        s = shares(scores[mask], clf.classes)
        top = ", ".join(f"{k} {v:.3f}" for k, v in list(s.items())[:4])
        print(
            f"  {label} ({int(mask.sum()):,} events): {args.cls} {s.get(args.cls, 0.0):.3f}; "
            f"largest: {top}"
        )


if __name__ == "__main__":
    main()
