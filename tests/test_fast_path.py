"""The fast path computes the plain definition of the model.

eventgnn's model (split first layers, flat-tensor batches) is compared with the straightforward
reference of ``benchmarks/reference.py`` (PyG ``MetaLayer``, one ``Data`` per event,
``Batch.from_data_list``) carrying the same weights.

Tolerance (float32): outputs and gradients agree to ``atol = rtol = 1e-5``. The two differ only in
the order of floating-point sums (a split matrix product and sums over nodes instead of edges),
so differences are a few float32 ulps of the activations; observed maxima are ~1e-6.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch_geometric.data import Batch

from eventgnn.config import ModelConfig
from eventgnn.events.parquet import write_events
from eventgnn.events.schema import make_events
from eventgnn.graphs.batch import GraphTensors
from eventgnn.graphs.features import fit_standardization, fully_connected_edges, node_features
from eventgnn.model import EventGNN

ATOL = RTOL = 1e-5
BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name: str):
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


ref = _load("reference")


def random_events(n_events: int, seed: int = 0, max_objects: int = 12) -> ak.Array:
    """Events with 1..max_objects objects of every type (single-object events included)."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, max_objects + 1, n_events)
    total = int(counts.sum())
    typ = rng.integers(0, 5, total)
    pt = rng.exponential(60, total) + 20
    eta = np.where(typ == 4, 0.0, rng.uniform(-2.5, 2.5, total))
    cols = {
        "pt": pt,
        "eta": eta,
        "phi": rng.uniform(-np.pi, np.pi, total),
        "energy": np.where(typ == 4, pt, pt * np.cosh(eta)),
        "kind": typ,
        "btag": (typ == 0) & (rng.random(total) < 0.3),
        "charge": np.where((typ == 1) | (typ == 2), rng.choice([-1, 1], total), 0),
    }
    objects = {k: ak.unflatten(np.asarray(v), counts) for k, v in cols.items()}
    return make_events(
        objects,
        process=np.array(["tth", "ttbar", "wh"], dtype=object)[np.arange(n_events) % 3],
        label=rng.integers(0, 3, n_events),
        source="test",
    )


def paired_models(events, n_outputs: int = 3, seed: int = 0):
    stats = fit_standardization(*node_features(events))
    torch.manual_seed(seed)
    model = EventGNN(ModelConfig(), n_outputs=n_outputs, stats=stats)
    # non-trivial LayerNorm affine parameters, so a mis-mapped norm cannot pass unnoticed
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".norm." in name:
                p.add_(0.1 * torch.randn_like(p))
    plain = ref.load_eventgnn_weights(ref.ReferenceGNN(stats, n_outputs), model)
    return model, plain


@pytest.fixture(scope="module")
def events():
    return random_events(40)


def test_batches_equal_reference_collation(events):
    """GraphTensors.batch builds what per-event Data + Batch.from_data_list build."""
    plain = Batch.from_data_list(ref.events_to_data_list(events))
    fast = GraphTensors.from_events(events).batch()
    for key in ("x", "edge_index", "edge_attr", "u", "batch", "ptr", "y"):
        a, b = getattr(plain, key), getattr(fast, key)
        assert a.shape == b.shape, key
        if a.is_floating_point():
            torch.testing.assert_close(b, a, atol=1e-6, rtol=1e-6, msg=key)
        else:
            assert torch.equal(a, b), key


def test_outputs_equal_reference(events):
    model, plain = paired_models(events)
    graphs = GraphTensors.from_events(events)
    with torch.no_grad():
        fast = model(graphs.batch())
        slow = plain(Batch.from_data_list(ref.events_to_data_list(events)))
    assert fast.shape == (len(events), 3)
    assert slow.abs().max() > 1e-2  # not a degenerate comparison of zeros
    torch.testing.assert_close(fast, slow, atol=ATOL, rtol=RTOL)


def test_gradients_equal_reference(events):
    """One training step's gradients agree parameter by parameter."""
    model, plain = paired_models(events, seed=1)
    b_fast = GraphTensors.from_events(events).batch()
    b_plain = Batch.from_data_list(ref.events_to_data_list(events))
    F.cross_entropy(model(b_fast), b_fast.y).backward()
    F.cross_entropy(plain(b_plain), b_plain.y).backward()
    pairs = ref.parameter_pairs(plain, model)
    assert len(pairs) == len(list(model.parameters()))
    for p_plain, p_fast in pairs:
        torch.testing.assert_close(p_fast.grad, p_plain.grad, atol=ATOL, rtol=1e-4)


def test_wrong_weights_are_detected(events):
    """Guard for the two tests above: a perturbed reference no longer matches."""
    model, plain = paired_models(events)
    with torch.no_grad():
        plain.processor.edge_model.edge_mlp[0].weight[:, 64:128] += 0.05  # the x_dst block
        fast = model(GraphTensors.from_events(events).batch())
        slow = plain(Batch.from_data_list(ref.events_to_data_list(events)))
    assert not torch.allclose(fast, slow, atol=ATOL, rtol=RTOL)


def test_split_linear_identity():
    """``W [a, b, c, d] + bias == W_a a + W_b b + W_c c + W_d d + bias``, with the node and
    global parts computed once per node / event and gathered per edge."""
    torch.manual_seed(0)
    n_nodes, n_graphs, width = 9, 2, 64
    x = torch.randn(n_nodes, width)
    u = torch.randn(n_graphs, width)
    batch = torch.tensor([0] * 5 + [1] * 4)
    src = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 0])
    dst = torch.tensor([1, 2, 3, 4, 0, 6, 7, 8, 5, 4])
    e = torch.randn(len(src), width)
    lin = torch.nn.Linear(4 * width, width)
    full = lin(torch.cat([x[src], x[dst], e, u[batch[src]]], 1))
    w_src, w_dst, w_e, w_u = lin.weight.split(width, dim=1)
    split = (
        F.linear(e, w_e, lin.bias)
        + (x @ w_src.t())[src]
        + (x @ w_dst.t())[dst]
        + (u @ w_u.t())[batch[src]]
    )
    torch.testing.assert_close(split, full, atol=ATOL, rtol=RTOL)


def test_permutation_of_events_in_batch(events):
    """Each event's output does not depend on which other events share its batch."""
    model, _ = paired_models(events)
    graphs = GraphTensors.from_events(events)
    perm = torch.randperm(len(events), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        whole = model(graphs.batch())
        shuffled = model(graphs.batch(perm))
    torch.testing.assert_close(shuffled, whole[perm], atol=ATOL, rtol=RTOL)


def test_benchmark_runs_end_to_end(tmp_path):
    """The benchmark script on a tiny Parquet folder: every stage measured, JSON written."""
    bench = _load("bench_model")
    events = random_events(48, seed=5)
    write_events(events, tmp_path / "data" / "part-0.parquet")
    out = tmp_path / "perf.json"
    bench.main(["--data", str(tmp_path / "data"), "--events", "48", "--batch-size", "16",
                "--eval-batch-size", "16", "--repeats", "1", "--warmup", "1",
                "--json", str(out)])  # fmt: skip
    result = json.loads(out.read_text())
    assert result["events"] == 48 and result["classes"] == 3
    for key in ("build", "training", "inference"):
        assert set(result[key]) >= {"eventgnn", "reference"}
        assert all(v > 0 for k, v in result[key].items() if k != "cpu_time")
    assert {r["stage"] for r in result["table"]} == {"batch building", "training", "inference"}
    assert all(r["ratio"] > 0 and r["ratio_cpu_time"] > 0 for r in result["table"])


def test_epoch_benchmark_runs_end_to_end(tmp_path):
    """bench_epoch.py on a tiny folder: loading, each variant, a resampled epoch, JSON; a
    malformed variant name or bf16 on the CPU is refused before any work."""
    bench = _load("bench_epoch")
    write_events(random_events(40, seed=6), tmp_path / "data" / "part-0.parquet")
    out = tmp_path / "epoch.json"
    bench.main(["--data", str(tmp_path / "data"), "--variants", "b8-fp32,b16-fp32",
                "--steps", "2", "--warmup", "1", "--eval-batch-size", "32",
                "--epoch-events", "100", "--json", str(out)])  # fmt: skip
    result = json.loads(out.read_text())
    assert result["loading"]["events"] == 40
    assert [v["variant"] for v in result["variants"]] == ["b8-fp32", "b16-fp32"]
    assert [v["events"] for v in result["variants"]] == [16, 32]  # steps x batch
    assert result["epoch"]["events"] == 100  # resampled beyond the 40 distinct events
    assert result["epoch"]["train_events_per_s"] > 0
    assert "first_epoch_with_loading_s" not in result["epoch"]  # resampled: extrapolated only
    for bad in ("b8-fp16", "8-fp32", "b8-bf16"):
        with pytest.raises(SystemExit, match="variant"):
            bench.main(["--data", str(tmp_path / "data"), "--variants", bad])
    # --replicate: three copies of each shard are loaded, the epoch runs over distinct events
    # and the first epoch is reported with its measured loading time
    result = bench.main(["--data", str(tmp_path / "data"), "--replicate", "3", "--variants",
                         "b16-fp32", "--steps", "2", "--warmup", "1", "--events", "32",
                         "--eval-batch-size", "32", "--epoch-events", "120"])  # fmt: skip
    assert result["loading"]["events"] == 120
    epoch = result["epoch"]
    assert epoch["events"] == 120
    assert epoch["first_epoch_with_loading_s"] == pytest.approx(
        result["loading"]["total_s"] + epoch["train_s"]
    )


def test_load_benchmark_runs_end_to_end(tmp_path):
    """bench_load.py on a few shards, replicated: both readers agree, every stage is timed."""
    bench = _load("bench_load")
    for k in range(3):
        write_events(random_events(30, seed=k), tmp_path / "data" / f"p{k}.parquet")
    out = tmp_path / "load.json"
    bench.main(["--data", str(tmp_path / "data"), "--replicate", "2", "--repeats", "1",
                "--json", str(out)])  # fmt: skip
    result = json.loads(out.read_text())
    assert result["events"] == 180 and result["shards"] == 6 and result["same_events"]
    assert set(result["stages_s"]) == {"read", "labels_splits", "stats", "to_device"}
    assert result["read_ratio"] > 0 and result["events_per_s"] > 0


def test_host_sized_batches_equal_device_sized(events):
    """Sizes taken from the host copy of the counts give the same batch as sizes read from
    the data (what a GPU dataset falls back to when given device indices)."""
    graphs = GraphTensors.from_events(events)
    idx = [5, 0, 17, 17, 3, 39]
    a = graphs.batch(idx)  # host path: sizes from graphs.host_counts
    x_nodes, counts = graphs._node_index(torch.tensor(idx))  # sizes from the data
    b_edges, _ = fully_connected_edges(counts)
    torch.testing.assert_close(a.x, graphs.x[x_nodes])
    assert torch.equal(a.edge_index, b_edges)
    assert torch.equal(graphs.batch(np.array(idx)).edge_index, a.edge_index)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_training_step_does_not_synchronise(events):
    """Batch building from host indices, forward, backward and a fused Adam step queue work on
    the GPU without ever waiting for it (torch raises on any synchronising call)."""
    model, _ = paired_models(events)
    model = model.cuda()
    graphs = GraphTensors.from_events(events).to("cuda")
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, fused=True)
    idx = torch.arange(32).pin_memory()

    def step():
        b = graphs.batch(idx)
        loss = F.cross_entropy(model(b), b.y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()  # warm-up: lazy initialisation may synchronise once
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        step()
    finally:
        torch.cuda.set_sync_debug_mode(0)
    torch.cuda.synchronize()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_outputs_equal_cpu_reference(events):
    """The fast path on the GPU computes the CPU reference's outputs: in float32 (TF32 off) to
    1e-4, under bf16 autocast to a relative norm error below 3e-2 (bf16 keeps 8 mantissa bits)."""
    model, plain = paired_models(events)
    with torch.no_grad():
        want = plain(Batch.from_data_list(ref.events_to_data_list(events)))
        model = model.cuda()
        batch = GraphTensors.from_events(events).to("cuda").batch()
        tf32 = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = False
        try:
            got = model(batch).cpu()
        finally:
            torch.backends.cuda.matmul.allow_tf32 = tf32
        with torch.autocast("cuda", dtype=torch.bfloat16):
            low = model(batch).float().cpu()
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)
    rel = float((low - want).norm() / want.norm())
    assert 0 < rel < 3e-2, rel
