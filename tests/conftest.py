"""Fixtures shared by every test folder: the tiny hand-written events of :mod:`hand_events`."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
from hand_events import SMALL_EVENTS, SMALL_LABELS, SMALL_PROCESSES, events_from_lists

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
