"""EventGNN: invariances, batching, the graph-network block, normalisation, parameter count,
compilation."""

from __future__ import annotations

import awkward as ak
import numpy as np
import torch

from eventgnn.config import ModelConfig
from eventgnn.graphs.batch import GraphTensors, build_batch
from eventgnn.graphs.features import (
    EDGE_FEATURES,
    GLOBAL_FEATURES,
    NODE_FEATURES,
    fit_standardization,
    node_features,
    transform_nodes,
)
from eventgnn.model import MLP, EventGNN, GNBlock, InputNorm, count_parameters

SMALL = ModelConfig(hidden=16, latent=8, mlp_layers=2, iterations=2)


def _model(config=SMALL, n_outputs=3, events=None, seed=0):
    torch.manual_seed(seed)
    stats = None
    if events is not None:
        x, counts = node_features(events)
        stats = fit_standardization(x, counts)
    return EventGNN(config, n_outputs, stats).double().eval()


def _out(model, events):
    b = build_batch(events)
    for key in ("x", "edge_attr", "u"):
        b[key] = b[key].double()
    with torch.no_grad():
        return model(b), model.encode(b)


def test_permuting_objects_leaves_outputs_unchanged(rand_events):
    events = rand_events(5, seed=3)
    model = _model(events=events)
    out, latent = _out(model, events)
    rng = np.random.default_rng(0)
    counts = ak.to_numpy(ak.num(events.objects))
    # a random permutation of the objects inside every event (global index arithmetic)
    local = np.concatenate([rng.permutation(n) for n in counts])
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    flat = ak.flatten(events.objects)[local + offsets]
    permuted = ak.with_field(events, ak.unflatten(flat, counts), "objects")
    assert not np.array_equal(
        ak.to_numpy(ak.flatten(permuted.objects.pt)), ak.to_numpy(ak.flatten(events.objects.pt))
    )
    out_p, latent_p = _out(model, permuted)
    torch.testing.assert_close(out_p, out, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(latent_p, latent, rtol=1e-9, atol=1e-9)


def test_batch_of_two_equals_each_alone(rand_events):
    events = rand_events(2, seed=4)
    model = _model(events=events)
    both, _ = _out(model, events)
    first, _ = _out(model, events[:1])
    second, _ = _out(model, events[1:])
    torch.testing.assert_close(both, torch.cat([first, second]), rtol=1e-9, atol=1e-9)
    # and the two events do differ, so the test means something
    assert not torch.allclose(first, second)


def test_event_with_one_object_has_no_edges_and_runs(rand_events):
    events = rand_events(3, seed=5)
    single = ak.with_field(events, events.objects[:, :1], "objects")
    model = _model(events=events)
    out, latent = _out(model, single)
    assert out.shape == (3, 3) and latent.shape == (3, SMALL.latent)
    assert torch.isfinite(out).all()


def test_block_equals_manual_chain_of_updates(rand_events):
    """The block against a hand-written loop over edges (tiny graph)."""
    torch.manual_seed(0)
    events = rand_events(2, seed=7)
    b = build_batch(events)
    h = 6
    x = torch.randn(b.num_nodes, h, dtype=torch.float64)
    e = torch.randn(b.edge_index.shape[1], h, dtype=torch.float64)
    u = torch.randn(2, h, dtype=torch.float64)
    block = GNBlock(h, h, h, h, layers=2).double()
    x2, e2, u2 = block(x, b.edge_index, e, u, b.batch)
    src, dst = b.edge_index.tolist()
    gb = b.batch.tolist()
    e_ref = torch.stack(
        [
            block.edge_mlp(torch.cat([x[i], x[j], e[k], u[gb[i]]]))
            for k, (i, j) in enumerate(zip(src, dst, strict=True))
        ]
    )
    agg = torch.zeros(b.num_nodes, h, dtype=torch.float64)
    for k, j in enumerate(dst):
        agg[j] += e_ref[k]
    x_ref = torch.stack(
        [block.node_mlp(torch.cat([x[n], agg[n], u[gb[n]]])) for n in range(b.num_nodes)]
    )
    u_ref = []
    for g in range(2):
        xs = x_ref[[n for n in range(b.num_nodes) if gb[n] == g]].sum(0)
        es = e_ref[[k for k in range(len(src)) if gb[src[k]] == g]].sum(0)
        u_ref.append(block.global_mlp(torch.cat([xs, es, u[g]])))
    torch.testing.assert_close(e2, e_ref)
    torch.testing.assert_close(x2, x_ref)
    torch.testing.assert_close(u2, torch.stack(u_ref))


def test_input_norm_equals_transform_then_standardise(rand_events):
    events = rand_events(20, seed=2)
    x, counts = node_features(events)
    stats = fit_standardization(x, counts)
    b = GraphTensors.from_events(events).batch()
    norm = InputNorm(stats)
    xn, en, un = norm(b.x, b.edge_attr, b.u)
    want = (transform_nodes(x) - stats["node_mean"]) / stats["node_std"]
    np.testing.assert_allclose(xn.numpy(), want, rtol=1e-5, atol=1e-5)
    scaled = [NODE_FEATURES.index(f) for f in ("pt", "eta", "phi", "energy")]
    assert abs(float(xn[:, scaled].mean())) < 1e-4  # standardised on the same data
    np.testing.assert_allclose(
        en.numpy(),
        (b.edge_attr.numpy() - stats["edge_mean"]) / stats["edge_std"],
        rtol=1e-5,
        atol=1e-5,
    )
    np.testing.assert_allclose(
        un.numpy(), (b.u.numpy() - stats["global_mean"]) / stats["global_std"], rtol=1e-5
    )


def _mlp_params(n_in, h, layers):
    return n_in * h + h + (layers - 1) * (h * h + h) + 2 * h


def test_parameter_count_matches_architecture():
    model = EventGNN(ModelConfig(), n_outputs=12)
    h, L = 64, 4
    enc = sum(
        _mlp_params(n, h, L) for n in (len(NODE_FEATURES), len(EDGE_FEATURES), len(GLOBAL_FEATURES))
    )
    proc = _mlp_params(4 * h, h, L) + _mlp_params(3 * h, h, L) + _mlp_params(3 * h, h, L)
    dec = _mlp_params(h, h, L)
    head = h * 12 + 12
    assert count_parameters(model) == enc + proc + dec + head == 135_244
    separate = EventGNN(ModelConfig(shared_weights=False), n_outputs=12)
    assert count_parameters(separate) == enc + 4 * proc + dec + head


def test_shared_weights_reuse_one_block_and_separate_differ(rand_events):
    events = rand_events(3, seed=1)
    shared = _model(ModelConfig(hidden=8, latent=8, mlp_layers=2, iterations=3), events=events)
    assert len(shared.processor) == 1
    separate = _model(
        ModelConfig(hidden=8, latent=8, mlp_layers=2, iterations=3, shared_weights=False)
    )
    assert len(separate.processor) == 3


def test_mlp_structure():
    mlp = MLP(5, 7, layers=4)
    assert [lin.out_features for lin in mlp.linears] == [7, 7, 7, 7]
    out = mlp(torch.randn(10, 5))
    # LayerNorm output: zero mean, unit variance per row (default affine init)
    torch.testing.assert_close(out.mean(1), torch.zeros(10), atol=1e-5, rtol=0)


def test_head_is_separate_and_replaceable(rand_events):
    events = rand_events(3, seed=1)
    model = _model(events=events)
    b = build_batch(events)
    for key in ("x", "edge_attr", "u"):
        b[key] = b[key].double()
    with torch.no_grad():
        torch.testing.assert_close(model(b), model.head(model.encode(b)))
    model.replace_head(1)
    assert model.head.out_features == 1 and model.n_outputs == 1


def test_backward_reaches_every_parameter(rand_events):
    events = rand_events(4, seed=1)
    torch.manual_seed(0)
    model = EventGNN(SMALL, 2)
    b = build_batch(events)
    model(b).sum().backward()
    missing = [
        n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0
    ]
    assert not missing


def test_model_compiles_without_graph_breaks(rand_events):
    """``torch.compile`` traces the whole forward pass as one graph (PyG's own test asks
    ``graph_break_count == 0``): no Python-side data-dependent branching, no ``.item()``."""
    model = _model(n_outputs=2).float()
    b = build_batch(rand_events(5, seed=3))
    explanation = torch._dynamo.explain(model)(b)
    assert explanation.graph_break_count == 0, explanation.break_reasons
    assert explanation.graph_count == 1
