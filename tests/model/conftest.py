"""Model tests: one torch thread (the random events are in ``tests/conftest.py``)."""

from __future__ import annotations

import torch

# tiny models: one thread is fastest, and it avoids oversubscribing a shared CI machine
torch.set_num_threads(1)
