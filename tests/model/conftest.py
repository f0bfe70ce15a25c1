"""Tiny randomly generated events for the model and training tests."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
import torch

from eventgnn.events.schema import N_TARGETS, make_events

# tiny models: one thread is fastest, and it avoids oversubscribing a shared CI machine
torch.set_num_threads(1)


def random_events(n: int, process: str = "proc", seed: int = 0, shift: float = 0.0, targets=True):
    """``n`` events of 2-7 objects with physical-looking fields; ``shift`` moves the pT scale so
    that processes are (weakly) separable."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(2, 8, size=n)
    total = int(counts.sum())
    pt = rng.exponential(40.0, total) + 20.0 + shift
    eta = rng.uniform(-2.5, 2.5, total)
    phi = rng.uniform(-np.pi, np.pi, total)
    typ = rng.integers(0, 5, total)
    eta = np.where(typ == 4, 0.0, eta)
    energy = pt * np.cosh(eta)
    btag = np.where(typ == 0, rng.integers(0, 2, total), 0)
    charge = np.where((typ == 1) | (typ == 2), rng.choice([-1, 1], total), 0)

    def jag(a):
        return ak.unflatten(a, counts)

    objects = {
        "pt": jag(pt),
        "eta": jag(eta),
        "phi": jag(phi),
        "energy": jag(energy),
        "type": jag(typ),
        "btag": jag(btag),
        "charge": jag(charge),
    }
    tgt = None
    if targets:
        tgt = np.zeros((n, N_TARGETS), np.float32)
        tgt[:, :8] = rng.integers(0, 3, (n, 8))
        tgt[:, 8:] = rng.integers(0, 2, (n, N_TARGETS - 8))
    return make_events(objects, process=process, targets=tgt, source=f"test:{seed}")


@pytest.fixture
def rand_events():
    """The :func:`random_events` factory."""
    return random_events
