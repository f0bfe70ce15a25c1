"""Tiny randomly generated events for the model and training tests."""

from __future__ import annotations

import pytest
import torch
from hand_events import random_events

# tiny models: one thread is fastest, and it avoids oversubscribing a shared CI machine
torch.set_num_threads(1)


@pytest.fixture
def rand_events():
    """The :func:`random_events` factory."""
    return random_events
