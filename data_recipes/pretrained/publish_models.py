"""Publish build.sh's two pretraining runs as models with their cards (the last step of build.sh).

    python data_recipes/pretrained/publish_models.py WORK OUT VERSION EVENTS \
        [--foreign DATA CLASS SAMPLE] [--lead-jet-pt 40]

WORK: build.sh's work folder (its ``runs/multiclass`` and ``runs/multilabel``); OUT: where the
models go (``eventgnn/catalog/models`` ships them); VERSION: the name's suffix (``v1``); EVENTS: the
events per process the data were generated with (for the card's command). ``--foreign``: a
folder of events of the multiclass model's class CLASS made by another generator (SAMPLE says
which, in words); how the model classifies them (``foreign_sample.py``) goes into the
multiclass card's limitations.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path

from eventgnn.deploy.publish import publish
from eventgnn.events.selection import DEFAULT_CUTS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from foreign_sample import measure, summary  # noqa: E402

LIMITATIONS = (
    "trained on eventgnn's parametric ATLAS-like detector and object selection; on Delphes or "
    "NanoAOD input the object definitions differ, so finetune rather than apply it directly; "
    "five of the paper's processes are replaced by built-in stand-ins (docs/generation.md)"
)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("work")
    ap.add_argument("out")
    ap.add_argument("version")
    ap.add_argument("events", type=int)
    ap.add_argument("--foreign", nargs=3, metavar=("DATA", "CLASS", "SAMPLE"))
    ap.add_argument("--lead-jet-pt", type=float, default=40.0)
    args = ap.parse_args(argv)

    data = {
        "command": f"eventgnn generate --catalog pretrain12 --events {args.events} --seed 1",
        "recipe": "data_recipes/pretrained/build.sh",
        "detector": "eventgnn's built-in parametric ATLAS-like detector model (docs/detector.md)",
        "selection": asdict(DEFAULT_CUTS),
    }
    for task in ("multiclass", "multilabel"):
        run = f"{args.work}/runs/{task}"
        limitations = LIMITATIONS
        if task == "multiclass" and args.foreign:
            folder, cls, sample = args.foreign
            limitations += "; " + summary(measure(run, folder, cls, args.lead_jet_pt), sample)
        name = f"pretrain12-{task}-{args.version}"
        publish(run, name, args.out, {
            "description": f"eventgnn graph network pretrained {task} on the pretrain12 catalog "
            "(12 Pythia 8 processes, built-in detector model)",
            "intended_use": "finetuning on binary event classification tasks with little data "
            "(eventgnn finetune --from NAME); representations for CKA studies",
            "limitations": limitations,
            "data": data,
        })  # fmt: skip


if __name__ == "__main__":
    main()
