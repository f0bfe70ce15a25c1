"""A small separable dataset on disk for the end-to-end scan and CKA tests."""

from __future__ import annotations

import awkward as ak
import pytest
from hand_events import random_events as shared_random_events

from eventgnn.events.parquet import write_events

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


def random_events(n: int, process: str, seed: int, shift: float = 0.0) -> ak.Array:
    """``n`` events of 2-6 objects, no MET; ``shift`` moves the pT scale so processes are
    separable."""
    return shared_random_events(n, process, seed, shift, max_objects=6, n_types=4)


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
