"""Fold assignment: the standard FNV-1a test vectors, folder-independence, balance."""

from __future__ import annotations

import json
import shutil

import awkward as ak
import numpy as np
import pyarrow as pa
import pytest
from events.rootfiles import random_nanoaod
from hand_events import TINY, random_events

from eventgnn._core.errors import DatasetError, InputError
from eventgnn.cli import main
from eventgnn.events.parquet import write_events
from eventgnn.graphs.dataset import Split, load_task_data
from eventgnn.graphs.kfold import (
    event_folds,
    fnv1a,
    read_kfold,
    source_names,
    unknown_inputs,
    write_kfold,
)


def test_fnv1a_matches_the_reference_vectors():
    # FNV-1a 64-bit test vectors (Fowler, Noll, Vo; draft-eastlake-fnv)
    got = fnv1a(pa.array(["", "a", "foobar"]))
    assert [int(h) for h in got] == [0xCBF29CE484222325, 0xAF63DC4C8601EC8C, 0x85944171F73967E8]


def test_folds_ignore_the_folder_and_are_balanced():
    a = event_folds([f"/one/place/events.root:{i}" for i in range(5000)], 5)
    b = event_folds([f"/another/events.root:{i}" for i in range(5000)], 5)
    np.testing.assert_array_equal(a, b)
    counts = np.bincount(a, minlength=5)
    assert counts.min() > 900 and counts.max() < 1100  # 1000 +- 3 sigma
    # a sliced Arrow array (non-zero offset) hashes the same as a fresh one
    arr = pa.array(["x", "pythia8:wh:seed1:7", "pythia8:wh:seed1:8"])
    np.testing.assert_array_equal(event_folds(arr.slice(1), 7), event_folds(arr.to_pylist()[1:], 7))


def test_kfold_refuses_events_without_their_own_source():
    events = random_events(40, "a", seed=1)  # every event: one source string
    events = events[["objects", "process", "label", "targets", "weight"]]
    events = ak.with_field(events, ak.Array(["pythia8:a:seed1"] * 40), "source")
    with pytest.raises(DatasetError, match="distinct identity per event"):
        load_task_data("x", ["a"], None, Split(kfold=2, fold=0), events=events)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"kfold": 3, "folds": ["fold0", "fo', r"cannot read the k-fold description"),
        ('[3]', r"expected a JSON object, got list"),
        ('{"kfold": 1, "folds": ["fold0"]}', r"field 'kfold': expected a number of folds >= 2"),
        ('{"kfold": true, "folds": ["fold0"]}', r"field 'kfold'"),
        ('{"kfold": 3, "folds": ["fold0", "fold1"]}', r"field 'folds': expected a list of 3"),
        ('{"kfold": 2, "folds": ["fold0", "../elsewhere"]}', r"'\.\./elsewhere' is not a folder"),
        ('{"kfold": 2, "folds": ["fold0", "/tmp"]}', r"'/tmp' is not a folder inside"),
        ('{"kfold": 2, "folds": ["fold0", 1]}', r"field 'folds': 1 is not a folder"),
        ('{"kfold": 2, "folds": ["fold0", "out"]}', r"'out' is not a folder inside"),
        ('{"kfold": 2, "folds": ["fold0", "fold1"], "sources": "a.root"}', r"field 'sources'"),
    ],
)  # fmt: skip
def test_a_broken_kfold_file_is_named_with_its_field(tmp_path, text, message):
    """Was: a truncated kfold.json was a bare JSONDecodeError (no file named), and a fold count
    or fold folders outside the run (here ``out``, a link to another folder) were used as
    written."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "out").symlink_to(tmp_path)
    (run / "kfold.json").write_text(text)
    with pytest.raises(InputError, match=rf"{run}/kfold\.json: .*{message}"):
        read_kfold(run)


def test_kfold_records_the_names_of_its_fold_keys(tmp_path):
    data = tmp_path / "data"
    sources = [f"/far/away/events.root:{i}" for i in range(20)]
    sources += [f"/elsewhere/more.root:{i}" for i in range(20)]
    write_events(ak.with_field(random_events(40, "a", seed=1), sources, "source"),
                 data / "a.parquet")  # fmt: skip
    write_events(random_events(10, "b", seed=2), data / "b.parquet")  # hand events' own sources
    names = source_names(data)
    assert {"events.root", "more.root"} <= set(names) and not any("/" in n for n in names)
    write_kfold(tmp_path, 2, data=data)
    record = read_kfold(tmp_path)
    assert record["sources"] == names and record["fold_key"].startswith("fnv1a64")
    assert unknown_inputs(record, ["/new/place/events.root", "/x/more.root", "y.parquet"]) is None
    warning = unknown_inputs(record, ["/x/events.root", "/x/events_v2.root"])
    assert warning.startswith("/x/events_v2.root: not the name of a file the k-fold models")
    assert "give it its original name" in warning
    assert unknown_inputs({**record, "sources": ["pythia8:wh:seed1"]}, ["/x/a.root"]) is None


def test_predict_warns_about_an_input_renamed_since_kfold_training(tmp_path, monkeypatch, capsys):
    """Was: a training file renamed got other folds without a word (the fold is a hash of the
    file's name and entry), so its events were scored by models that had trained on them."""
    monkeypatch.setenv("EVENTGNN_CACHE", str(tmp_path / "cache"))
    sig = random_nanoaod(tmp_path / "s" / "sig.root", 60, 31, signal=True)
    bkg = random_nanoaod(tmp_path / "b" / "bkg.root", 60, 32, signal=False)
    run = tmp_path / "kf"
    argv = ["finetune", "--signal", str(sig), "--background", str(bkg), "--kfold", "2",
            "--epochs", "1", "--out", str(run), *TINY]  # fmt: skip
    assert main(argv) == 0
    assert json.loads((run / "kfold.json").read_text())["sources"] == ["bkg.root", "sig.root"]
    renamed = str(shutil.copy(sig, tmp_path / "sig_v2.root"))
    capsys.readouterr()
    for given, out in ((str(sig), "a.parquet"), (renamed, "b.parquet")):
        assert main(["predict", "--model", str(run), given, "--out", str(tmp_path / out)]) == 0
    said = capsys.readouterr().out
    assert said.count("warning") == 1
    assert f"warning: {renamed}: not the name of a file the k-fold models trained on" in said
