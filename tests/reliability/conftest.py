"""Fixtures of the reliability tests: small datasets on disk and one tiny trained run."""

from __future__ import annotations

from pathlib import Path

import pytest
from rel_helpers import TINY, random_events

from eventgnn.cli import main
from eventgnn.events.parquet import write_events


@pytest.fixture(scope="session")
def datasets(tmp_path_factory) -> dict[str, Path]:
    """``pre``: three processes pa/pb/pc to pretrain on; ``down``: ``sig``/``bkg`` (task
    ``sig_vs_bkg``)."""
    root = tmp_path_factory.mktemp("rel_data")
    for k, (name, shift) in enumerate((("pa", 0.0), ("pb", 30.0), ("pc", 60.0))):
        write_events(
            random_events(100, name, seed=k, shift=shift), root / "pre" / f"{name}.parquet"
        )
    write_events(random_events(120, "sig", seed=10, shift=25.0), root / "down" / "sig.parquet")
    write_events(random_events(120, "bkg", seed=11), root / "down" / "bkg.parquet")
    return {"pre": root / "pre", "down": root / "down", "root": root}


@pytest.fixture(scope="session")
def trained_run(datasets, tmp_path_factory) -> Path:
    """A finished one-epoch multiclass pretraining run on ``datasets['pre']``."""
    out = tmp_path_factory.mktemp("rel_run") / "pre"
    code = main(["pretrain", "--data", str(datasets["pre"]), "--epochs", "1", "--out", str(out),
                 *TINY])  # fmt: skip
    assert code == 0
    return out
