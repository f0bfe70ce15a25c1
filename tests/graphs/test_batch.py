"""The vectorised batch builder against one-graph-at-a-time construction."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hand_events import events_from_lists
from hypothesis import given, settings
from hypothesis import strategies as st
from torch_geometric.data import Batch

from eventgnn.graphs.batch import GraphTensors, build_batch, to_graph

KEYS = ("x", "edge_index", "edge_attr", "u", "y", "batch", "ptr")


def assert_same_batch(a: Batch, b: Batch) -> None:
    for key in KEYS:
        ta, tb = getattr(a, key), getattr(b, key)
        assert ta.shape == tb.shape, key
        assert ta.dtype == tb.dtype, key
        torch.testing.assert_close(ta, tb, rtol=0, atol=0, msg=key)


def test_single_graph_by_hand(small_events, small_event_lists):
    g = to_graph(small_events[0])
    n = len(small_event_lists[0])
    assert g.x.shape == (n, 7)
    assert g.edge_index.shape == (2, n * (n - 1))
    assert g.edge_attr.shape == (n * (n - 1), 3)
    assert g.u.tolist() == [[float(n)]]
    assert g.y.tolist() == [2]
    # edge (0 -> 1): jets at phi 3.0 and -3.0
    assert g.edge_index[:, 0].tolist() == [0, 1]
    dphi = 6.0 - 2 * math.pi
    assert g.edge_attr[0].tolist() == pytest.approx([1.7, dphi, math.hypot(1.7, dphi)], abs=1e-6)


def test_one_object_event_has_no_edges(small_events):
    g = to_graph(small_events[2])
    assert g.x.shape == (1, 7)
    assert g.edge_index.shape == (2, 0) and g.edge_index.dtype == torch.int64
    assert g.edge_attr.shape == (0, 3)
    assert g.u.tolist() == [[1.0]]


def test_two_event_batch_equals_single_graphs(small_events):
    both = build_batch(small_events[:2])
    g0, g1 = to_graph(small_events[0]), to_graph(small_events[1])
    n0 = g0.num_nodes
    torch.testing.assert_close(both.x, torch.cat([g0.x, g1.x]))
    torch.testing.assert_close(both.edge_index, torch.cat([g0.edge_index, g1.edge_index + n0], 1))
    torch.testing.assert_close(both.edge_attr, torch.cat([g0.edge_attr, g1.edge_attr]))
    torch.testing.assert_close(both.u, torch.cat([g0.u, g1.u]))
    assert both.batch.tolist() == [0] * n0 + [1] * g1.num_nodes
    # and equals PyG's own batching of the single graphs, field by field
    assert_same_batch(both, Batch.from_data_list([g0, g1]))
    # which it can undo
    for k, g in enumerate((g0, g1)):
        back = both.get_example(k)
        torch.testing.assert_close(back.edge_index, g.edge_index)
        torch.testing.assert_close(back.x, g.x)


def test_batch_with_one_object_event_equals_from_data_list(small_events):
    graphs = [to_graph(small_events[i]) for i in (2, 0, 2, 1)]
    gt = GraphTensors.from_events(small_events)
    assert_same_batch(gt.batch([2, 0, 2, 1]), Batch.from_data_list(graphs))


def test_multilabel_targets_batch(small_events):
    b = GraphTensors.from_events(small_events).batch([1, 0], target="targets")
    assert b.y.shape == (2, 41)
    np.testing.assert_array_equal(b.y.numpy(), small_events.targets.to_numpy()[[1, 0]])
    assert_same_batch(
        b, Batch.from_data_list([to_graph(small_events[i], target="targets") for i in (1, 0)])
    )


def test_subset_keeps_events(small_events):
    gt = GraphTensors.from_events(small_events)
    sub = gt.subset([2, 0])
    assert sub.counts.tolist() == [1, 4]
    assert_same_batch(sub.batch(), gt.batch([2, 0]))
    assert sub.labels["label"].tolist() == [1, 2]


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(1, 6), min_size=1, max_size=5), st.integers(0, 2**31 - 1))
def test_random_events_batch_equals_from_data_list(counts, seed):
    rng = np.random.default_rng(seed)
    events = [
        [
            (float(rng.uniform(20, 200)), float(rng.uniform(-2.5, 2.5)),
             float(rng.uniform(-math.pi, math.pi)), int(rng.integers(0, 5)),
             int(rng.integers(0, 2)), int(rng.choice([-1, 0, 1])))
            for _ in range(n)
        ]
        for n in counts
    ]  # fmt: skip
    ev = events_from_lists(events, labels=np.arange(len(counts)))
    assert_same_batch(build_batch(ev), Batch.from_data_list([to_graph(e) for e in ev]))
