"""The generated-dataset summary: cross sections combined over shards, distribution plots."""

from __future__ import annotations

import json

import pytest

from eventgnn.events.parquet import shard_paths
from eventgnn.generate.run import generate
from eventgnn.generate.summary import cross_sections, main


def test_summary_combines_shards_and_plots(tmp_path, capsys):
    generate(["zh"], tmp_path / "d", 30, seed=11, shard_events=15, mpi=False, progress=False)
    reports = [json.loads(p.with_suffix(".json").read_text()) for p in shard_paths(tmp_path / "d")]
    assert len(reports) == 2
    xs = cross_sections(tmp_path / "d")["zh"]
    n = [r["events_written"] for r in reports]
    assert xs["events"] == sum(n) == 30
    # the event-weighted mean of the shards' sigmaGen
    want = sum(r["sigma_gen_pb"] * k for r, k in zip(reports, n, strict=True)) / sum(n)
    assert xs["sigma_pb"] == pytest.approx(want) and xs["sigma_pb"] > 0
    main([str(tmp_path / "d"), str(tmp_path / "fig")])
    out = capsys.readouterr().out
    assert "| zh | 30 |" in out
    pngs = sorted((tmp_path / "fig").glob("*.png"))
    assert pngs and all(p.stat().st_size > 1000 for p in pngs)
