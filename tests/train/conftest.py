"""Tiny runs for the training tests (the events and ``tiny_data`` are in ``tests/conftest.py``)."""

from __future__ import annotations

import pytest
import torch
from hand_events import TINY

# tiny models: one thread is fastest, and it avoids oversubscribing a shared CI machine
torch.set_num_threads(1)


def tiny_config(data, out, *overrides, command="pretrain", task="multiclass", **fields):
    """A RunConfig for a fast run on ``data`` written to ``out``."""
    from dataclasses import replace

    from eventgnn.config import RunConfig, apply_overrides

    config = apply_overrides(RunConfig(), [*TINY, "train.epochs=2", *overrides])  # fmt: skip
    kind = {"objective": task} if command == "pretrain" else {"task": task}
    return replace(config, command=command, data=str(data), out=str(out), **kind, **fields)


@pytest.fixture(scope="session")
def pretrained_run(tiny_data, tmp_path_factory):
    """A finished tiny multiclass pretraining run (directory)."""
    from eventgnn.train.runs import pretrain

    out = tmp_path_factory.mktemp("runs") / "pre"
    return pretrain(tiny_config(tiny_data, out), log=lambda s: None)


@pytest.fixture
def tiny_cfg():
    """The :func:`tiny_config` factory."""
    return tiny_config
