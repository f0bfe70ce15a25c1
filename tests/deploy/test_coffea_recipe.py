"""data_recipes/coffea/score_processor.py: a coffea processor that scores NanoEvents through the
exported ONNX model gives the scores of ``EventClassifier.predict_file`` on the same file (skipped
where coffea is not installed: it is no dependency of eventgnn)."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot
from events.rootfiles import random_nanoaod

pytest.importorskip("coffea")
pytest.importorskip("onnxruntime")

RECIPE = Path(__file__).resolve().parents[2] / "data_recipes" / "coffea" / "score_processor.py"


def nanoaod_for_coffea(path: Path, n: int, seed: int) -> Path:
    """A random NanoAOD-layout file with the mass branches NanoAODSchema needs (zero: the
    reader's objects are massless anyway), each collection written with its counter."""
    raw = random_nanoaod(path.with_name("raw_" + path.name), n, seed, signal=True)
    arrays = uproot.open(raw)["Events"].arrays()
    groups: dict[str, dict] = {}
    flat = {}
    for name in arrays.fields:
        if name.startswith("n") and name[1:] in {f.split("_")[0] for f in arrays.fields}:
            continue  # a counter: written again with its collection
        prefix, _, field = name.partition("_")
        if field and arrays[name].ndim == 2:
            groups.setdefault(prefix, {})[field] = arrays[name]
        else:
            flat[name] = arrays[name]
    for prefix, fields in groups.items():
        if prefix in ("Jet", "Electron", "Muon", "Photon"):
            fields.setdefault("mass", fields["pt"] * 0)
    with uproot.recreate(path) as f:
        data = {**flat, **{p: ak.zip(fields) for p, fields in groups.items()}}
        types = {k: v.type.content for k, v in data.items()}
        f.mktree("Events", types).extend(data)
    return path


def test_the_processor_scores_as_predict_file(trained, tmp_path, monkeypatch):
    from coffea.nanoevents import NanoAODSchema, NanoEventsFactory

    # the random file has no cross-reference branches (Electron_jetIdx...); a real one has
    monkeypatch.setattr(NanoAODSchema, "error_missing_event_ids", False)

    from eventgnn import EventClassifier
    from eventgnn.deploy.export import export_onnx

    _, run = trained
    onnx = tmp_path / "model.onnx"
    export_onnx(run, onnx)
    nano = nanoaod_for_coffea(tmp_path / "nano.root", 60, 21)
    spec = importlib.util.spec_from_file_location("score_processor", RECIPE)
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the missing cross-references
        events = NanoEventsFactory.from_root(
            {str(nano): "Events"}, schemaclass=NanoAODSchema, mode="eager"
        ).events()
        out = recipe.ScoreProcessor(onnx, btag_threshold=0.7).process(events)
    rows = EventClassifier.load(run).predict_file(nano, log=lambda s: None)
    assert len(out["score"]) == len(rows) == 60
    np.testing.assert_allclose(out["score"], ak.to_numpy(rows["score"]), rtol=1e-5, atol=1e-6)
    assert out["hist"].sum().value == pytest.approx(float(np.sum(ak.to_numpy(events.genWeight))))
