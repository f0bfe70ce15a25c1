"""Process selection, labels and splits (graphs/dataset.py)."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from eventgnn._core.errors import DatasetError
from eventgnn.graphs.dataset import Split, load_task_data, select_processes, split_indices


def _mixed(rand_events):
    return ak.concatenate(
        [
            rand_events(30, "wh", seed=1),
            rand_events(20, "zh", seed=2),
            rand_events(10, "tt", seed=3),
        ]
    )


def test_select_processes_labels_multiclass_and_binary(rand_events):
    events = _mixed(rand_events)
    mc = select_processes(events, ["zh", "wh"])
    assert len(mc) == 50
    labels = ak.to_numpy(mc.label)
    procs = np.array(ak.to_list(mc.process))
    assert (labels[procs == "zh"] == 0).all() and (labels[procs == "wh"] == 1).all()
    binary = select_processes(events, ["wh", "tt"], signal=["wh"])
    procs = np.array(ak.to_list(binary.process))
    assert (ak.to_numpy(binary.label) == (procs == "wh")).all()


def test_missing_process_is_named(rand_events):
    with pytest.raises(DatasetError, match="ttbar.*holds tt, wh, zh"):
        select_processes(_mixed(rand_events), ["wh", "ttbar"], where="some/folder")


def test_test_split_is_independent_of_the_training_seed_and_size():
    labels = np.repeat([0, 1], [300, 200])
    a = split_indices(labels, Split(0.2, 0.2, split_seed=7, seed=0))
    b = split_indices(labels, Split(0.2, 0.2, split_seed=7, seed=1, train_size=50))
    c = split_indices(labels, Split(0.2, 0.2, split_seed=8, seed=0))
    np.testing.assert_array_equal(a["test"], b["test"])
    assert not np.array_equal(a["test"], c["test"])
    assert not np.array_equal(
        a["train"], split_indices(labels, Split(0.2, 0.2, 7, seed=1))["train"]
    )
    for s in (a, b):  # disjoint
        assert not set(s["train"]) & set(s["test"]) and not set(s["val"]) & set(s["test"])
        assert not set(s["train"]) & set(s["val"])
    # stratified: 20 % of each class in the test split
    assert (labels[a["test"]] == 0).sum() == 60 and (labels[a["test"]] == 1).sum() == 40
    # train_size is per class; the validation split shrinks in proportion
    assert (labels[b["train"]] == 0).sum() == 50 and (labels[b["train"]] == 1).sum() == 50
    assert len(b["val"]) == 2 * round(50 * 0.2 / 0.6)


def test_train_size_larger_than_pool_is_refused():
    with pytest.raises(DatasetError, match="train-size 500"):
        split_indices(np.zeros(100, int), Split(0.2, 0.2, 0, 0, train_size=500))


def test_train_size_refusal_names_the_class_and_its_events(tiny_data):
    """The message names the class by its processes, not by its label number, and says how
    many of its events are left for training."""
    split = Split(0.2, 0.2, train_size=1000)
    with pytest.raises(DatasetError) as err:
        load_task_data(tiny_data, ["wh", "zh"], signal=["wh"], split=split)
    assert "class 0 (background: zh) has for training: 36 of its 60" in str(err.value)


def test_load_task_data_from_folder(tiny_data):
    data = load_task_data(tiny_data, ["wh", "zh"], signal=["wh"], split=Split(seed=3))
    assert data.provenance["n_events"] == 120
    sizes = data.provenance["split_sizes"]
    assert sizes == {"train": 72, "val": 24, "test": 24}
    assert set(data.part("test").labels["label"].tolist()) == {0, 1}
