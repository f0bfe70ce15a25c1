"""Fixtures shared by every test folder: the tiny hand-written and random events of
:mod:`hand_events`, and a small dataset on disk."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
from hand_events import (
    SMALL_EVENTS,
    SMALL_LABELS,
    SMALL_PROCESSES,
    events_from_lists,
    random_events,
)

from eventgnn.events.parquet import write_events
from eventgnn.events.schema import N_TARGETS


@pytest.fixture
def small_events() -> ak.Array:
    """Three hand-written events (4, 3 and 1 objects) with labels and finite targets."""
    targets = np.arange(3 * N_TARGETS, dtype=np.float32).reshape(3, N_TARGETS) / 100
    return events_from_lists(
        SMALL_EVENTS,
        processes=np.array(SMALL_PROCESSES, dtype=object),
        labels=np.array(SMALL_LABELS),
        targets=targets,
    )


@pytest.fixture
def small_event_lists():
    """The raw object lists of :data:`SMALL_EVENTS` (for hand computations)."""
    return SMALL_EVENTS


@pytest.fixture
def rand_events():
    """The :func:`hand_events.random_events` factory."""
    return random_events


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    """A folder of Parquet shards: processes wh, zh, tt (60 events each, separable by pT)."""
    folder = tmp_path_factory.mktemp("tiny_data")
    for k, p in enumerate(["wh", "zh", "tt"]):
        write_events(random_events(60, p, seed=10 + k, shift=40.0 * k), folder / f"{p}.parquet")
    return folder
