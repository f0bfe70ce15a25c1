"""Score CMS NanoAOD in a coffea processor with an exported eventgnn model (ONNX, onnxruntime).

The model is exported once (``eventgnn export --model RUN --onnx model.onnx``); the processor
turns each chunk of NanoEvents into eventgnn's event record with the model's object selection
(:func:`eventgnn.events.nanoaod.from_nanoevents`, one row per event), builds the graph tensors
(:func:`eventgnn.build_batch`) and runs the ONNX graph; events left without objects get NaN.
It returns the scores and a weighted histogram of them. Run it on a file::

    python data_recipes/coffea/score_processor.py model.onnx nano.root --btag-threshold 0.7

(needs ``pip install coffea onnxruntime`` beside eventgnn; checked with coffea 2026.9.0 by
tests/deploy/test_coffea_recipe.py, which is skipped where coffea is not installed).
"""

from __future__ import annotations

import argparse

import awkward as ak
import hist
import numpy as np
import onnxruntime as ort
from coffea import processor

import eventgnn
from eventgnn.events.nanoaod import DEFAULT_BTAG_THRESHOLD, from_nanoevents

INPUTS = ("x", "edge_index", "edge_attr", "u", "batch")


class ScoreProcessor(processor.ProcessorABC):
    """NanoEvents in, ``{"score": numpy [events], "hist": hist.Hist}`` out (a binary model's
    signal probability; NaN for an event without selected objects)."""

    def __init__(self, onnx_path: str, btag_threshold: float = DEFAULT_BTAG_THRESHOLD):
        self.session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
        self.btag_threshold = btag_threshold

    def process(self, events):
        record = from_nanoevents(events, btag_threshold=self.btag_threshold)
        has = ak.to_numpy(ak.num(record.objects, axis=1) > 0)
        score = np.full(len(record), np.nan, np.float32)
        if has.any():
            batch = eventgnn.build_batch(record[has], target=None)
            feed = {name: getattr(batch, name).numpy() for name in INPUTS}
            (logits,) = self.session.run(["logits"], feed)
            score[has] = 1 / (1 + np.exp(-logits[:, 0]))
        weight = ak.to_numpy(record.weight)
        h = hist.Hist(hist.axis.Regular(20, 0, 1, name="score"), storage=hist.storage.Weight())
        h.fill(score=score[has], weight=weight[has])
        return {"score": score, "hist": h}

    def postprocess(self, accumulator):
        return accumulator


def main() -> None:
    from coffea.nanoevents import NanoAODSchema, NanoEventsFactory

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("onnx", help="the exported model (eventgnn export --onnx)")
    parser.add_argument("nanoaod", help="a NanoAOD file")
    parser.add_argument("--btag-threshold", type=float, default=DEFAULT_BTAG_THRESHOLD)
    args = parser.parse_args()
    events = NanoEventsFactory.from_root(
        {args.nanoaod: "Events"}, schemaclass=NanoAODSchema, mode="eager"
    ).events()
    out = ScoreProcessor(args.onnx, args.btag_threshold).process(events)
    print(f"{len(out['score']):,} events, mean score {np.nanmean(out['score']):.4f}")
    print(out["hist"])


if __name__ == "__main__":
    main()
