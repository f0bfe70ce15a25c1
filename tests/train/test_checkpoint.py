"""Reading ``model.pt``: a file whose architecture does not fit its weights is refused early."""

from __future__ import annotations

import tracemalloc

import pytest
import torch

from eventgnn.config import ModelConfig
from eventgnn.model.eventgnn import EventGNN
from eventgnn.train import checkpoint
from eventgnn.train.checkpoint import load_model, safe_load, save_model

META = {"config": {}, "task": {"kind": "binary", "names": ["background", "signal"]},
        "provenance": {}}  # fmt: skip


@pytest.fixture
def small_model(tmp_path):
    """A valid ``model.pt`` of a small network (hidden 8), about 20 KB."""
    path = tmp_path / "model.pt"
    save_model(path, EventGNN(ModelConfig(hidden=8, latent=8, mlp_layers=2, iterations=2)), META)
    return path


def _with(path, **model_config):
    ckpt = safe_load(path)
    ckpt["model_config"].update(model_config)
    torch.save(ckpt, path)
    return path


def test_a_valid_small_model_loads(small_model):
    model, _ = load_model(small_model)
    assert model.config.hidden == 8


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"hidden": 10**6}, r"model_config .*'hidden': 1000000.*do not match the weights.*"
                            r"'node_encoder\.linears\.0\.weight' has shape \(8, 7\), model_config "
                            r"gives \(1000000, 7\)"),
        ({"latent": 10**7}, r"'decoder\..*' has shape"),
        ({"mlp_layers": 10**7}, r"model_config\.mlp_layers = 10000000 asks for more layers than "
                                r"the \d+ tensors"),
        ({"iterations": 10**7, "shared_weights": False}, r"model_config\.iterations = 10000000"),
        ({"hidden": -5}, r"model_config .*: no network"),
        ({"hidden": "big"}, r"model_config\.hidden"),
    ],
)  # fmt: skip
def test_a_huge_model_config_fails_fast_without_building_it(small_model, change, message):
    """Was: a 20 KB file asking for hidden=10**6 built the network (gigabytes) before its
    shapes were compared with the weights."""
    _with(small_model, **change)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=message):
            load_model(small_model)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20, f"peak {peak / 2**20:.0f} MiB"


def test_no_network_is_built_before_the_shapes_are_checked(small_model, monkeypatch):
    _with(small_model, hidden=10**6)
    real = checkpoint.EventGNN

    def only_on_meta(*args, **kwargs):
        assert torch.empty(0).device.type == "meta", "a real EventGNN built before the check"
        return real(*args, **kwargs)

    monkeypatch.setattr(checkpoint, "EventGNN", only_on_meta)
    with pytest.raises(ValueError, match="do not match the weights"):
        load_model(small_model)


def test_weights_that_are_not_tensors_or_a_bad_head_width_are_named(small_model):
    ckpt = safe_load(small_model)
    torch.save({**ckpt, "n_outputs": 0}, small_model)
    with pytest.raises(ValueError, match="field 'n_outputs': expected a positive integer, got 0"):
        load_model(small_model)
    torch.save({**ckpt, "state_dict": {"head.weight": [1.0]}}, small_model)
    with pytest.raises(ValueError, match="field 'state_dict': expected a mapping of names"):
        load_model(small_model)
