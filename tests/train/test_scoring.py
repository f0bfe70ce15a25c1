"""The one scoring function: it moves the model to the device it scores on, batches by the run's
``eval_batch_size``, and gives the same scores in any batching."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from eventgnn.config import ModelConfig
from eventgnn.graphs.batch import GraphTensors
from eventgnn.model.eventgnn import EventGNN
from eventgnn.train.scoring import (
    EVAL_BATCH_SIZE,
    eval_batch_size,
    per_sample_scores,
    score,
    source_check,
)

SMALL = ModelConfig(hidden=8, latent=8, mlp_layers=2, iterations=1)


@pytest.fixture
def model_and_graphs(small_events):
    torch.manual_seed(0)
    return EventGNN(SMALL, 3), GraphTensors.from_events(small_events)


def test_score_moves_the_model_to_the_device_it_scores_on(model_and_graphs):
    """Scoring on a device other than the model's runs the forward pass there with the model's
    weights there (the meta device stands in for a GPU: it has shapes but no data, so copying
    the outputs back to the CPU is where it stops)."""
    model, graphs = model_and_graphs
    seen = []
    model.register_forward_hook(
        lambda m, args, out: seen.append((next(m.parameters()).device.type, out.device.type))
    )
    with pytest.raises(NotImplementedError, match="meta"):
        score(model, graphs, device="meta")
    assert seen == [("meta", "meta")]
    assert next(model.parameters()).device.type == "meta"


def test_score_without_a_device_scores_where_the_model_is(model_and_graphs):
    model, graphs = model_and_graphs
    logits, y, w = score(model, graphs)
    assert logits.shape == (3, 3) and logits.device.type == "cpu" and y is None
    assert w is not None and w.shape == (3,)


def test_scores_do_not_depend_on_the_batch_size(model_and_graphs):
    model, graphs = model_and_graphs
    one, _, _ = score(model, graphs, batch_size=1)
    every, _, _ = score(model, graphs, batch_size=1000)
    torch.testing.assert_close(one, every, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="batch_size: expected a positive number"):
        score(model, graphs, batch_size=0)


def test_the_run_batch_size_is_the_checkpoint_config_value():
    assert eval_batch_size({"config": {"train": {"eval_batch_size": 77}}}) == 77
    assert eval_batch_size({}) == EVAL_BATCH_SIZE == 1024


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_scores_equal_cpu_scores(model_and_graphs):
    model, graphs = model_and_graphs
    cpu, _, _ = score(model, graphs, device="cpu")
    cuda, _, _ = score(model, graphs, device="cuda")
    assert next(model.parameters()).is_cuda
    torch.testing.assert_close(cpu, cuda, rtol=1e-4, atol=1e-5)


def test_per_sample_mean_scores_and_their_errors():
    s = np.array([0.2, 0.4, 0.9, 0.7])
    w = np.array([1.0, 3.0, 2.0, -1.0])
    got = per_sample_scores(s, np.array([0, 0, 1, 1]), ["a", "b"], w)
    assert got["a"]["mean_score"] == pytest.approx((0.2 + 1.2) / 4)
    mean_b = (1.8 - 0.7) / 1.0
    assert got["b"]["mean_score"] == pytest.approx(mean_b)
    err_b = np.sqrt(4 * (0.9 - mean_b) ** 2 + 1 * (0.7 - mean_b) ** 2) / 1.0
    assert got["b"]["error"] == pytest.approx(err_b)
    assert got["a"]["n_events"] == 2 and got["b"]["sum_weights"] == pytest.approx(1.0)


def test_samples_of_one_class_told_apart_are_named():
    def sample(mean, error):
        return {"mean_score": mean, "error": error, "n_events": 100, "sum_weights": 100.0}

    apart = {"sig": sample(0.8, 0.01), "tt_cms": sample(0.17, 0.01), "tt_gen": sample(0.35, 0.01)}
    lines = source_check(apart, ["sig"])
    assert lines[0] == (
        "mean score per sample (test events, weighted): sig 0.800 +- 0.010, "
        "tt_cms 0.170 +- 0.010, tt_gen 0.350 +- 0.010"
    )
    assert len(lines) == 2 and "background samples tt_cms and tt_gen" in lines[1]
    assert "13 standard errors apart" in lines[1] and lines[1].startswith("warning:")
    close = {**apart, "tt_gen": sample(0.19, 0.01)}  # 1.4 standard errors: statistics
    assert len(source_check(close, ["sig"])) == 1
    # one sample per class: nothing to compare, nothing said
    assert source_check({"sig": sample(0.8, 0.01), "bkg": sample(0.2, 0.01)}, ["sig"]) == []
