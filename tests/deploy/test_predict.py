"""``eventgnn predict``: one row per input entry in input order, kept branches copied through,
unselected entries with NaN scores, ROOT friend trees and Parquet, the model's reader options."""

from __future__ import annotations

import json
import os

import awkward as ak
import numpy as np
import pyarrow.parquet as pq
import uproot
import yaml
from events.rootfiles import random_delphes, random_nanoaod
from hand_events import TINY

from eventgnn import EventClassifier, read_events
from eventgnn._core.version import __version__
from eventgnn.catalog.registry import sha256_file
from eventgnn.cli import main
from eventgnn.graphs.batch import GraphTensors
from eventgnn.train.checkpoint import load_model, objective_of
from eventgnn.train.scoring import score


def scores_of(run, path, **options):
    """The model's signal probabilities for the selected events of ``path``, computed here."""
    model, ckpt = load_model(run)
    events = read_events(path, **options)
    logits, _, _ = score(model, GraphTensors.from_events(events))
    return objective_of(ckpt).scores(logits).numpy()


def test_root_friend_tree_has_one_row_per_entry(trained, tmp_path):
    root, run = trained
    new = random_nanoaod(tmp_path / "data.root", 130, 99, signal=True)  # unseen events
    out = tmp_path / "scores.root"
    argv = ["predict", "--model", str(run), str(new), "--out", str(out), "--keep", "event,run"]
    assert main(argv) == 0
    # a TTree, as AddFriend needs (uproot >= 5.7 writes an RNTuple for f[name] = arrays)
    assert uproot.open(out).classnames()["eventgnn;1"] == "TTree"
    tree = uproot.open(out)["eventgnn"]
    source = uproot.open(new)["Events"]
    assert tree.num_entries == source.num_entries == 130
    cols = tree.arrays(library="np")
    np.testing.assert_array_equal(cols["entry"], np.arange(130))
    np.testing.assert_array_equal(cols["event"], source["event"].array(library="np"))
    assert cols["selected"].all()
    # the scores are the model's, read with the threshold it was trained with (0.7, not 0.5)
    expected = scores_of(run, new, btag_threshold=0.7)
    np.testing.assert_allclose(cols["score"], expected, rtol=1e-6)
    assert not np.allclose(expected, scores_of(run, new))  # the threshold matters here
    # read 40 entries at a time: the same rows
    chunked = tmp_path / "chunked.root"
    assert main([*argv[:-3], str(chunked), "--keep", "event", "--chunk-size", "40"]) == 0
    again = uproot.open(chunked)["eventgnn"].arrays(library="np")
    np.testing.assert_array_equal(again["event"], cols["event"])
    np.testing.assert_allclose(again["score"], cols["score"], rtol=1e-6)


def test_kept_delphes_per_event_and_jagged_branches(trained, tmp_path, monkeypatch):
    """Delphes per-event branches (one-element collections: ``Event.Weight``, ``MissingET.MET``)
    are kept as one value per entry, a jagged branch (``Jet.PT``) as a list per entry: a counter
    branch and a jagged branch in the ROOT TTree (written 7 entries at a time here), a list
    column in Parquet."""
    from eventgnn.deploy import predict

    monkeypatch.setattr(predict, "ROOT_BASKET_ENTRIES", 7)
    _, run = trained
    new = random_delphes(tmp_path / "d.root", 30, 77, signal=True)
    source = uproot.open(new)["Delphes"]
    weight = ak.flatten(source["Event.Weight"].array()).to_numpy()
    jets = source["Jet.PT"].array()
    for name in ("s.root", "s.parquet"):
        out = tmp_path / name
        argv = ["predict", "--model", str(run), str(new), "--out", str(out),
                "--keep", "Event.Weight,MissingET.MET,Jet.PT"]  # fmt: skip
        assert main(argv) == 0
        if name.endswith(".root"):
            assert uproot.open(out).classnames()["eventgnn;1"] == "TTree"
            cols = uproot.open(out)["eventgnn"].arrays()
            assert cols["nJet.PT"].to_list() == ak.num(jets).to_list()
        else:
            cols = ak.from_parquet(out)
        assert cols["Event.Weight"].ndim == 1 and cols["MissingET.MET"].ndim == 1
        np.testing.assert_array_equal(cols["Event.Weight"].to_numpy(), weight)
        assert cols["Jet.PT"].to_list() == jets.to_list()
        np.testing.assert_array_equal(cols["entry"].to_numpy(), np.arange(30))


def test_parquet_from_several_inputs_in_input_order(trained, tmp_path, capsys):
    root, run = trained
    out = tmp_path / "scores.parquet"
    inputs = [str(root / "bkg.root"), str(root / "sig.root")]
    assert main(["predict", "--model", str(run), *inputs, "--out", str(out)]) == 0
    table = ak.from_parquet(out)
    assert len(table) == 400
    assert table.file.to_list() == [inputs[0]] * 200 + [inputs[1]] * 200
    np.testing.assert_array_equal(table.entry.to_numpy(), np.r_[np.arange(200), np.arange(200)])
    # an explicit option overrides the model's, with a warning
    argv = ["predict", "--model", str(run), inputs[1], "--out", str(out), "--btag-threshold", "0.2"]
    assert main(argv) == 0
    assert "differs from the model's training data" in capsys.readouterr().out


def test_unselected_entries_have_nan_scores(trained, tmp_path):
    """A flat ntuple without MET: entries with no jet above threshold have nothing to classify."""
    _, run = trained
    rng = np.random.default_rng(5)
    n_jets = rng.integers(0, 3, 50)
    pts = ak.unflatten(rng.uniform(5, 60, int(n_jets.sum())).astype(np.float32), n_jets)
    data = {"jet_pt": pts, "jet_eta": pts * 0, "jet_phi": pts * 0, "id": np.arange(50) * 7}
    path = tmp_path / "flat.root"
    with uproot.recreate(path) as f:
        f["t"] = data
    bmap = tmp_path / "map.yaml"
    bmap.write_text(yaml.safe_dump({"tree": "t", "jets": {"pt": "jet_pt", "eta": "jet_eta",
                                                          "phi": "jet_phi"}}))  # fmt: skip
    out = tmp_path / "s.parquet"
    argv = ["predict", "--model", str(run), str(path), "--out", str(out), "--keep", "id",
            "--branch-map", str(bmap)]  # fmt: skip
    assert main(argv) == 0
    t = ak.from_parquet(out)
    selected = ak.to_numpy(ak.max(pts, axis=1, mask_identity=False) >= 25)
    np.testing.assert_array_equal(t.selected.to_numpy(), selected)
    assert np.isnan(t.score.to_numpy()[~selected]).all()
    assert np.isfinite(t.score.to_numpy()[selected]).all()
    np.testing.assert_array_equal(t.id.to_numpy(), np.arange(50) * 7)


def test_the_output_is_never_an_input(trained, tmp_path, capsys):
    root, run = trained
    assert main(["predict", "--model", str(run), str(root / "sig.root"), "--out",
                 str(root / "sig.root")]) == 1  # fmt: skip
    assert "is one of the inputs" in capsys.readouterr().err
    assert uproot.open(root / "sig.root")["Events"].num_entries == 200  # untouched


def test_a_missing_keep_branch_is_named(trained, tmp_path, capsys):
    root, run = trained
    argv = ["predict", "--model", str(run), str(root / "sig.root"), "--out",
            str(tmp_path / "x.root"), "--keep", "nosuch"]  # fmt: skip
    assert main(argv) == 1
    assert "--keep nosuch: tree 'Events' has no such branch" in capsys.readouterr().err
    assert not (tmp_path / "x.root").exists()


def test_kfold_scores_come_from_the_model_that_did_not_train_on_them(tmp_path, monkeypatch):
    from eventgnn.graphs.dataset import Split, event_labels, split_indices
    from eventgnn.graphs.kfold import event_folds

    monkeypatch.setenv("EVENTGNN_CACHE", str(tmp_path / "cache"))
    sig = random_nanoaod(tmp_path / "s" / "events.root", 150, 31, signal=True)
    bkg = random_nanoaod(tmp_path / "b" / "events.root", 150, 32, signal=False)  # same name
    run = tmp_path / "kf"
    argv = ["finetune", "--signal", str(sig), "--background", str(bkg), "--kfold", "3",
            "--epochs", "1", "--out", str(run), *TINY]  # fmt: skip
    assert main(argv) == 0
    seen_by = []  # identities each fold model trained or validated on
    for f in range(3):
        model, ckpt = load_model(run / f"fold{f}")
        prov = ckpt["provenance"]
        events = read_events(prov["data"])
        labels, _ = event_labels(events, ckpt["task"]["processes"], ckpt["task"]["signal"])
        split = Split.from_provenance(prov)
        assert (split.kfold, split.fold) == (3, f)
        parts = split_indices(labels, split, event_folds(events, 3))
        used = np.concatenate([parts["train"], parts["val"]])
        seen_by.append(set(events.source[used].to_list()))
        assert len(parts["test"]) > 20

    out = tmp_path / "scores.parquet"
    assert main(["predict", "--model", str(run), str(sig), str(bkg), "--out", str(out)]) == 0
    t = ak.from_parquet(out)
    assert len(t) == 300 and set(t.fold.to_list()) == {0, 1, 2}
    files, entries = t.file.to_list(), t.entry.to_list()
    sources = [f"{os.path.realpath(f)}:{e}" for f, e in zip(files, entries, strict=True)]
    for source, fold in zip(sources, t.fold.to_list(), strict=True):
        assert source not in seen_by[fold]
        assert any(source in seen_by[g] for g in range(3) if g != fold)
    # each score is its fold model's
    for f in range(3):
        rows = np.nonzero(t.fold.to_numpy() == f)[0][:5]
        model, ckpt = load_model(run / f"fold{f}")
        events = read_events([sig, bkg])[rows]
        logits, _, _ = score(model, GraphTensors.from_events(events))
        expected = objective_of(ckpt).scores(logits).numpy()
        np.testing.assert_allclose(t.score.to_numpy()[rows], expected, rtol=1e-5)


def test_scores_into_the_users_own_tree(trained, tmp_path, capsys):
    """``--into FILE:TREE``: a new file with the input's tree, every branch equal to the
    input's (jagged ones with their NanoAOD counters), plus eventgnn_* branches equal to the
    friend tree's columns, one per entry; the input is untouched."""
    root, run = trained
    nano = random_nanoaod(tmp_path / "nano.root", 90, 5, signal=False)
    before = uproot.open(nano)["Events"].arrays()
    friend = tmp_path / "friend.parquet"
    assert main(["predict", "--model", str(run), str(nano), "--out", str(friend)]) == 0
    scored = tmp_path / "nano_scored.root"
    assert main(["predict", "--model", str(run), str(nano), "--into", f"{scored}:Events"]) == 0
    tree = uproot.open(scored)["Events"]
    after = tree.arrays()
    assert tree.num_entries == 90 and uproot.open(scored).classnames()["Events;1"] == "TTree"
    for name in before.fields:  # the user's branches, counters included
        assert ak.array_equal(after[name], before[name]), name
    assert ak.array_equal(uproot.open(nano)["Events"].arrays(), before)  # input untouched
    expected = pq.read_table(friend).to_pydict()
    np.testing.assert_allclose(after["eventgnn_score"], expected["score"], rtol=1e-6)
    np.testing.assert_array_equal(after["eventgnn_selected"], np.array(expected["selected"]))
    np.testing.assert_array_equal(after["eventgnn_entry"], np.arange(90))
    record = json.loads(str(uproot.open(scored)["eventgnn_model"]))
    assert record["model_sha256"] == sha256_file(run / "model.pt")
    capsys.readouterr()
    again = tmp_path / "again.root"
    assert main(["predict", "--model", str(run), str(scored), "--into", f"{again}:Events"]) == 1
    assert "has branches eventgnn_entry" in capsys.readouterr().err
    assert main(["predict", "--model", str(run), str(nano), "--into", f"{again}:Nope"]) == 1
    assert "no TTree 'Nope'" in capsys.readouterr().err
    assert main(["predict", "--model", str(run), str(nano), "--into", f"{nano}:Events"]) == 1
    assert "expected a new .root file (not the input" in capsys.readouterr().err
    assert not again.exists()


def test_outputs_name_the_model_that_made_them(trained, tmp_path):
    root, run = trained
    new = random_nanoaod(tmp_path / "data.root", 20, 3, signal=True)
    for out in (tmp_path / "s.parquet", tmp_path / "s.root"):
        assert main(["predict", "--model", str(run), str(new), "--out", str(out)]) == 0
    meta = pq.read_schema(tmp_path / "s.parquet").metadata
    assert meta[b"eventgnn.model"].decode() == str(run.resolve())
    assert meta[b"eventgnn.model_sha256"].decode() == sha256_file(run / "model.pt")
    record = json.loads(str(uproot.open(tmp_path / "s.root")["eventgnn_model"]))
    assert record == {"model": str(run.resolve()), "model_sha256": sha256_file(run / "model.pt"),
                      "version": __version__}  # fmt: skip


def test_scoring_a_training_file_is_said(trained, tmp_path, capsys):
    root, run = trained
    out = tmp_path / "s.parquet"
    assert main(["predict", "--model", str(run), str(root / "sig.root"), "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert f"warning: {root / 'sig.root'} was part of the model's training data" in said
    args = ["predict", "--model", str(run), str(root / "sig.root"), "--out", str(out)]
    assert main([*args, "--allow-training-files"]) == 0
    assert "training data" not in capsys.readouterr().out
    fresh = random_nanoaod(tmp_path / "fresh.root", 20, 4, signal=True)
    assert main(["predict", "--model", str(run), str(fresh), "--out", str(out)]) == 0
    assert "training data" not in capsys.readouterr().out


def test_predict_file_equals_the_command_row_for_row(trained, tmp_path):
    """``EventClassifier.predict_file``: the rows ``eventgnn predict`` writes, read with the
    model's own reader options (its b-tag threshold), kept branches included."""
    root, run = trained
    new = random_nanoaod(tmp_path / "data.root", 70, 8, signal=True)
    out = tmp_path / "s.parquet"
    argv = ["predict", "--model", str(run), str(new), "--out", str(out), "--keep", "event"]
    assert main(argv) == 0
    command = pq.read_table(out).to_pydict()
    rows = EventClassifier.load(run).predict_file(new, keep=["event"], log=lambda s: None)
    assert rows.fields == list(command) == ["entry", "selected", "score", "event"]
    for name in rows.fields:
        np.testing.assert_array_equal(ak.to_numpy(rows[name]), np.array(command[name]), name)
