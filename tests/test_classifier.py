"""The Python API: load a run, finetune it on files, predict awkward events, save."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
import torch
from events.rootfiles import random_delphes, random_nanoaod
from hand_events import TINY, random_events

import eventgnn
from eventgnn._core.errors import InputError, SchemaError
from eventgnn.cli import main


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.setenv("EVENTGNN_CACHE", str(tmp_path / "cache"))
    sig = random_nanoaod(tmp_path / "sig.root", 150, 21, signal=True)
    bkg = random_delphes(tmp_path / "bkg.root", 150, 22, signal=False)
    return sig, bkg


def test_finetune_predict_save(files, tmp_path):
    sig, bkg = files
    pre = tmp_path / "pre"
    data = tmp_path / "pre_data"
    events = ak.concatenate([random_events(120, "a", seed=3), random_events(120, "b", seed=4)])
    eventgnn.write_events(events, data / "x.parquet")
    assert main(["pretrain", "--data", str(data), "--epochs", "1", "--out", str(pre), *TINY]) == 0

    base = eventgnn.EventClassifier.load(pre)
    assert base.kind == "multiclass" and base.classes == ("a", "b")
    clf = base.finetune(sig, [bkg], out=tmp_path / "ft", epochs=2, overrides=TINY, log=print)
    assert clf.kind == "binary" and clf.checkpoint["pretrained_from"] == str(pre)

    events = eventgnn.read_events([sig, bkg])
    scores = clf.predict(events)
    assert scores.shape == (300,) and ((scores >= 0) & (scores <= 1)).all()
    # the same numbers as the command line's predict
    assert main(["predict", "--model", str(tmp_path / "ft"), str(sig), str(bkg),
                 "--out", str(tmp_path / "s.parquet")]) == 0  # fmt: skip
    np.testing.assert_allclose(ak.from_parquet(tmp_path / "s.parquet").score.to_numpy(), scores,
                               rtol=1e-6)  # fmt: skip
    # an event without objects scores NaN; multiclass scores are probabilities
    empty = events[:2]
    empty = ak.with_field(empty, empty.objects[:, :0], "objects")
    assert np.isnan(clf.predict(ak.concatenate([empty, events[:3]]))[:2]).all()
    probs = base.predict(events[:5])
    np.testing.assert_allclose(probs.sum(1), 1, rtol=1e-5)

    saved = clf.save(tmp_path / "keep" / "mine.pt")
    again = eventgnn.EventClassifier.load(saved)
    np.testing.assert_allclose(again.predict(events[:10]), scores[:10], rtol=1e-6)
    assert torch.load(saved, weights_only=True)["task"]["kind"] == "binary"


def test_arguments_are_checked():
    from eventgnn.classifier import train_classifier

    with pytest.raises(ValueError, match="signal and background together"):
        train_classifier(signal="x.root")
    with pytest.raises(ValueError, match="give signal and background"):
        train_classifier()


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A binary classifier of a small untrained network."""
    from eventgnn.config import ModelConfig
    from eventgnn.model.eventgnn import EventGNN
    from eventgnn.train.checkpoint import save_model

    path = tmp_path_factory.mktemp("clf") / "model.pt"
    meta = {"config": {}, "task": {"kind": "binary", "names": ["background", "signal"]},
            "provenance": {}}  # fmt: skip
    save_model(path, EventGNN(ModelConfig(hidden=8, latent=8, mlp_layers=2, iterations=1)), meta)
    return eventgnn.EventClassifier.load(path)


def _objects(events, field, values):
    return ak.with_field(events, values, ["objects", field])


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (lambda e: np.zeros((5, 3)), InputError,
         r"EventClassifier\.predict: events: expected an event-record array .*got numpy\.ndarray"),
        (lambda e: ak.Array([1, 2]), InputError, r"got an awkward array of type 2 \* int64"),
        (lambda e: e[["objects", "weight"]], SchemaError, r"field 'targets': field is missing"),
        (lambda e: _objects(e, "pt", e.objects.pt * np.float32(1e30)), SchemaError,
         r"field 'objects\.pt': value .* expected pT <= 100000 GeV"),
        (lambda e: _objects(e, "phi", e.objects.phi + np.float32(100)), SchemaError,
         r"field 'objects\.phi': value .* expected phi in \[-pi, pi\]"),
        (lambda e: _objects(e, "kind", ak.values_astype(e.objects.kind * 0 + 99, np.int8)),
         SchemaError, r"field 'objects\.kind': value 99 in entry 0"),
    ],
)  # fmt: skip
def test_predict_checks_the_events_as_the_readers_do(small, change, error, message):
    """Was: an AttributeError for a non-event array, and finite scores for pT x 1e30, phi + 100
    and object type 99."""
    events = random_events(5, "a", seed=1)
    assert small.predict(events).shape == (5,)
    with pytest.raises(error, match=message):
        small.predict(change(events))


def test_api_misuse_is_named(small):
    """Was: raw TypeError / AttributeError from deep inside."""
    with pytest.raises(InputError, match="batch_size: expected a positive integer or None, got 0"):
        small.predict(random_events(2, "a", seed=1), batch_size=0)
    with pytest.raises(InputError, match=r"EventClassifier\.load: run: expected .* got int"):
        eventgnn.EventClassifier.load(3)
    from eventgnn.classifier import train_classifier

    with pytest.raises(InputError, match="signal: expected a path or a non-empty list .* got int"):
        train_classifier(signal=1, background="b.root")
    with pytest.raises(InputError, match="background: expected .* got list"):
        train_classifier(signal="a.root", background=[])
    with pytest.raises(InputError, match="task: expected a task name, .* got dict"):
        train_classifier(task={"signal": "a"})
