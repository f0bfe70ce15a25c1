"""The Python API: load a run, finetune it on files, predict awkward events, save."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
import torch
from events.rootfiles import random_delphes, random_nanoaod
from hand_events import TINY, random_events

import eventgnn
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
