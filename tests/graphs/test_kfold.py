"""Fold assignment: the standard FNV-1a test vectors, folder-independence, balance."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pyarrow as pa
import pytest
from hand_events import random_events

from eventgnn._core.errors import DatasetError
from eventgnn.graphs.dataset import Split, load_task_data
from eventgnn.graphs.kfold import event_folds, fnv1a


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
