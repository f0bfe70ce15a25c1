"""Edges, edge features and standardisation statistics, checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from eventgnn.graphs.features import (
    NODE_FEATURES,
    edge_features,
    fit_standardization,
    fully_connected_edges,
    node_features,
    transform_nodes,
)


def test_fully_connected_edges_by_hand():
    ei, ne = fully_connected_edges(np.array([3, 1, 0, 2]))
    expected = [
        (0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1),  # event 0: nodes 0-2
        # event 1 (one node) and event 2 (none) give no edges
        (4, 5), (5, 4),  # event 3: nodes 4-5
    ]  # fmt: skip
    assert [tuple(c) for c in ei.T.tolist()] == expected
    assert ne.tolist() == [6, 0, 0, 2]


def test_fully_connected_edges_torch_matches_numpy():
    counts = np.array([5, 2, 1, 7, 0, 3])
    ei_np, ne_np = fully_connected_edges(counts)
    ei_t, ne_t = fully_connected_edges(torch.from_numpy(counts))
    np.testing.assert_array_equal(ei_t.numpy(), ei_np)
    np.testing.assert_array_equal(ne_t.numpy(), ne_np)
    # every ordered pair once, no self loops
    assert (ei_np[0] != ei_np[1]).all()
    assert len({tuple(c) for c in ei_np.T}) == ei_np.shape[1] == sum(n * (n - 1) for n in counts)


def test_node_features_order_and_values(small_events, small_event_lists):
    x, counts = node_features(small_events)
    assert counts.tolist() == [4, 3, 1]
    assert x.shape == (8, len(NODE_FEATURES)) and x.dtype == np.float32
    pt, eta, phi, typ, btag, charge = small_event_lists[0][1]
    row = x[1]
    assert row[NODE_FEATURES.index("pt")] == pytest.approx(pt)
    assert row[NODE_FEATURES.index("energy")] == pytest.approx(pt * math.cosh(eta), rel=1e-6)
    assert row[NODE_FEATURES.index("btag")] == btag == 1
    assert row[NODE_FEATURES.index("kind")] == typ
    assert x[2, NODE_FEATURES.index("charge")] == -1


def test_edge_features_wrap_delta_phi(small_events):
    x, counts = node_features(small_events)
    ei, _ = fully_connected_edges(counts)
    ea = edge_features(x, ei)
    # edge 0 -> 1 of event 0: phi 3.0 and -3.0 are 0.283 apart across +-pi
    k = np.nonzero((ei[0] == 0) & (ei[1] == 1))[0][0]
    dphi = 6.0 - 2 * math.pi
    assert ea[k, 0] == pytest.approx(0.5 - (-1.2), abs=1e-6)
    assert ea[k, 1] == pytest.approx(dphi, abs=1e-6)
    assert ea[k, 2] == pytest.approx(math.hypot(1.7, dphi), abs=1e-6)
    assert (ea[:, 1] >= -math.pi).all() and (ea[:, 1] < math.pi).all()
    # antisymmetric in (i, j) for Delta eta; Delta R symmetric
    k2 = np.nonzero((ei[0] == 1) & (ei[1] == 0))[0][0]
    assert ea[k2, 0] == pytest.approx(-ea[k, 0])
    assert ea[k2, 2] == pytest.approx(ea[k, 2])


def test_transform_nodes_logs_pt_and_energy_only(small_events):
    x, _ = node_features(small_events)
    xt = transform_nodes(x)
    for k, name in enumerate(NODE_FEATURES):
        if name in ("pt", "energy"):
            np.testing.assert_allclose(xt[:, k], np.log(x[:, k]), rtol=1e-6)
        else:
            np.testing.assert_array_equal(xt[:, k], x[:, k])
    assert not np.shares_memory(xt, x)


def test_fit_standardization_sanity():
    rng = np.random.default_rng(3)
    counts = rng.integers(1, 8, size=400)
    n = counts.sum()
    x = np.zeros((n, 7), np.float32)
    x[:, 0] = rng.exponential(50, n) + 20  # pt
    x[:, 1] = rng.normal(0, 1.2, n)  # eta
    x[:, 2] = rng.uniform(-math.pi, math.pi, n)  # phi
    x[:, 3] = x[:, 0] * np.cosh(x[:, 1])  # energy
    x[:, 4] = rng.integers(0, 5, n)  # kind
    x[:, 6] = 0  # charge: constant
    s = fit_standardization(x, counts)
    assert set(s) == {"node_mean", "node_std", "edge_mean", "edge_std", "global_mean", "global_std"}
    assert all(v.dtype == np.float32 for v in s.values())
    k = NODE_FEATURES.index("pt")
    assert s["node_mean"][k] == pytest.approx(np.log(x[:, 0]).mean(), rel=1e-5)
    assert s["node_std"][k] == pytest.approx(np.log(x[:, 0]).std(), rel=1e-4)
    assert s["node_mean"][NODE_FEATURES.index("eta")] == pytest.approx(x[:, 1].mean(), abs=1e-5)
    # discrete features stay raw
    for name in ("kind", "btag", "charge"):
        k = NODE_FEATURES.index(name)
        assert s["node_mean"][k] == 0 and s["node_std"][k] == 1
    # standardised continuous features have mean 0, std 1
    z = (transform_nodes(x) - s["node_mean"]) / s["node_std"]
    np.testing.assert_allclose(z[:, :4].mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(z[:, :4].std(0), 1, atol=1e-3)
    assert s["global_mean"][0] == pytest.approx(counts.mean())
    # Delta eta is antisymmetric over all ordered pairs: mean exactly 0
    assert s["edge_mean"][0] == pytest.approx(0, abs=1e-5)
    assert s["edge_std"][2] > 0


def _one_pass_stats(x, counts, max_events):
    """The statistics computed directly, without chunks (float64)."""
    xt = transform_nodes(x).astype(np.float64)
    sub = counts[:max_events]
    edge_index, _ = fully_connected_edges(sub)
    ea = edge_features(x[: int(sub.sum())], edge_index).astype(np.float64)
    return xt[:, :4].mean(0), xt[:, :4].std(0), ea.mean(0), ea.std(0)


@pytest.mark.parametrize("chunk_events, max_events", [(7, 10_000), (1, 10_000), (50, 123)])
def test_fit_standardization_in_chunks_equals_one_pass(chunk_events, max_events):
    """Statistics combined chunk by chunk equal those of one pass over all events (float32
    rounding), whatever the chunk size, with the edge statistics on the first max_events."""
    rng = np.random.default_rng(4)
    counts = rng.integers(1, 9, size=300)
    n = int(counts.sum())
    x = np.zeros((n, 7), np.float32)
    x[:, 0] = rng.exponential(50, n) + 20
    x[:, 1] = rng.normal(0.3, 1.2, n)
    x[:, 2] = rng.uniform(-math.pi, math.pi, n)
    x[:, 3] = x[:, 0] * np.cosh(x[:, 1])
    s = fit_standardization(x, counts, edge_events=max_events, chunk_events=chunk_events)
    node_mean, node_std, edge_mean, edge_std = _one_pass_stats(x, counts, max_events)
    np.testing.assert_allclose(s["node_mean"][:4], node_mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(s["node_std"][:4], node_std, rtol=1e-5)
    np.testing.assert_allclose(s["edge_mean"], edge_mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(s["edge_std"], edge_std, rtol=1e-5)
    # a selection of events gives the statistics of those events' own arrays
    pick = np.sort(np.random.default_rng(5).choice(len(counts), 170, replace=False))
    pick = np.concatenate([np.arange(40), pick[pick >= 40]])  # a consecutive run, then gaps
    ptr = np.concatenate([[0], np.cumsum(counts)])
    own = np.concatenate([x[ptr[k] : ptr[k + 1]] for k in pick])
    picked = fit_standardization(x, counts, max_events, chunk_events, events=pick)
    alone = fit_standardization(own, counts[pick], max_events, chunk_events)
    for key in picked:
        np.testing.assert_allclose(picked[key], alone[key], rtol=1e-6, atol=1e-7)
    # events of one object only: no edges, so the edge features are left unscaled
    lone = fit_standardization(x[:50], np.ones(50, np.int64), chunk_events=chunk_events)
    assert lone["edge_mean"].tolist() == [0, 0, 0] and lone["edge_std"].tolist() == [1, 1, 1]


def test_fit_standardization_rejects_empty():
    with pytest.raises(ValueError, match="empty"):
        fit_standardization(np.zeros((0, 7), np.float32), np.zeros(0, np.int64))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 9), min_size=0, max_size=12))
def test_fully_connected_edges_matches_naive_construction(counts):
    counts = np.array(counts, dtype=np.int64)
    ei, ne = fully_connected_edges(counts)
    expected, offset = [], 0
    for n in counts:  # the naive reference: a Python loop over events and pairs
        expected += [(offset + i, offset + j) for i in range(n) for j in range(n) if i != j]
        offset += n
    assert [tuple(c) for c in ei.T.tolist()] == expected
    assert ne.tolist() == [n * (n - 1) for n in counts]
