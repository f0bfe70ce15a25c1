"""Tiny randomly generated events for the model and training tests."""

from __future__ import annotations

import pytest
import torch
from hand_events import TINY, random_events

# tiny models: one thread is fastest, and it avoids oversubscribing a shared CI machine
torch.set_num_threads(1)


@pytest.fixture
def rand_events():
    """The :func:`random_events` factory."""
    return random_events


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    """A folder of Parquet shards: processes wh, zh, tt (60 events each, separable by pT)."""
    from eventgnn.events.parquet import write_events

    folder = tmp_path_factory.mktemp("tiny_data")
    for k, p in enumerate(["wh", "zh", "tt"]):
        write_events(random_events(60, p, seed=10 + k, shift=40.0 * k), folder / f"{p}.parquet")
    return folder


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
