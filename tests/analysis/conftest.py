"""A small separable dataset on disk for the end-to-end scan and CKA tests."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from eventgnn.events.parquet import write_events
from eventgnn.events.schema import N_TARGETS, make_events

# tiny models keep a real training run to a fraction of a second
TINY = (
    "model.hidden=16",
    "model.latent=16",
    "model.mlp_layers=2",
    "model.iterations=1",
    "train.plots=false",
    "train.device=cpu",
    "train.batch_size=32",
    "train.num_threads=1",  # more threads only contend on a small, shared CPU
)


def random_events(n: int, process: str, seed: int, shift: float) -> ak.Array:
    """``n`` events of 2-6 objects; ``shift`` moves the pT scale so processes are separable."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(2, 7, size=n)
    total = int(counts.sum())
    pt = rng.exponential(40.0, total) + 20.0 + shift
    eta = rng.uniform(-2.5, 2.5, total)
    phi = rng.uniform(-np.pi, np.pi, total)
    typ = rng.integers(0, 4, total)
    cols = {
        "pt": pt, "eta": eta, "phi": phi, "energy": pt * np.cosh(eta), "type": typ,
        "btag": np.where(typ == 0, rng.integers(0, 2, total), 0),
        "charge": np.where((typ == 1) | (typ == 2), rng.choice([-1, 1], total), 0),
    }  # fmt: skip
    objects = {k: ak.unflatten(v, counts) for k, v in cols.items()}
    targets = np.zeros((n, N_TARGETS), np.float32)
    targets[:, :8] = rng.integers(0, 3, (n, 8))
    targets[:, 8:] = rng.integers(0, 2, (n, N_TARGETS - 8))
    return make_events(objects, process=process, targets=targets, source=f"test:{seed}")


@pytest.fixture(scope="session")
def tiny() -> tuple[str, ...]:
    """Config overrides for a tiny, fast model."""
    return TINY


@pytest.fixture(scope="session")
def toy_data(tmp_path_factory):
    """``(pretraining folder, downstream folder)``: three processes to pretrain on and a
    ``sig`` / ``bkg`` pair (task ``sig_vs_bkg``)."""
    root = tmp_path_factory.mktemp("toy")
    for k, (name, shift) in enumerate((("pa", 0.0), ("pb", 30.0), ("pc", 60.0))):
        write_events(
            random_events(120, name, seed=k, shift=shift), root / "pre" / f"{name}.parquet"
        )
    write_events(random_events(150, "sig", seed=10, shift=25.0), root / "down" / "sig.parquet")
    write_events(random_events(150, "bkg", seed=11, shift=0.0), root / "down" / "bkg.parquet")
    return root / "pre", root / "down"
