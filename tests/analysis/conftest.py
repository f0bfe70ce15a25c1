"""A small separable dataset on disk for the end-to-end scan and CKA tests."""

from __future__ import annotations

import pytest
from hand_events import TINY
from hand_events import separable_events as random_events

from eventgnn.events.parquet import write_events


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
