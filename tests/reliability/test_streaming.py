"""Bounded memory: chunked ``evaluate`` and ``convert`` give exactly what the in-memory paths give.

The 2-million-event memory measurement is a script (tests/reliability/measure_memory.py), run once
and recorded in docs/reliability.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import torch
from rel_helpers import cli

from eventgnn.events.io import iter_event_chunks, read_events
from eventgnn.graphs.dataset import Split, load_task_data
from eventgnn.train.checkpoint import load_model
from eventgnn.train.evaluate import evaluate_run, predict_chunks
from eventgnn.train.scoring import score


@pytest.mark.parametrize("chunk", [1, 37, 10_000])
def test_chunks_cover_the_data_in_order(datasets, chunk):
    events = read_events(datasets["pre"])
    parts = list(iter_event_chunks(datasets["pre"], chunk))
    assert all(len(c) <= chunk for c in parts)
    assert sum(len(c) for c in parts) == len(events)
    joined = np.concatenate([c.source.to_numpy() for c in parts])
    assert (joined == events.source.to_numpy()).all()
    pt = np.concatenate([ak.flatten(c.objects.pt).to_numpy() for c in parts])
    assert np.array_equal(pt, ak.flatten(events.objects.pt).to_numpy())


def test_chunks_of_a_root_file(tmp_path):
    """ROOT input is read an entry range at a time; the chunks equal the whole file."""
    import warnings

    from rootfiles import write_delphes

    n = 7
    src = write_delphes(
        tmp_path / "d.root", jets=[[(40.0 + k, 0.5, 0.1, 1)] for k in range(n)],
        electrons=[[]] * n, muons=[[]] * n, photons=[[]] * n,
        met=[(5.0 + k, 0.3) for k in range(n)],
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no event is empty: no warning expected
        parts = list(iter_event_chunks(src, 3))
    assert [len(c) for c in parts] == [3, 3, 1]
    whole = read_events(src)
    for field in ("objects", "source", "weight"):
        assert ak.concatenate(parts)[field].to_list() == whole[field].to_list()


def test_whole_data_is_one_chunk(datasets):
    (whole,) = iter_event_chunks(datasets["pre"], None)
    assert whole.source.to_list() == read_events(datasets["pre"]).source.to_list()


def test_streamed_outputs_equal_in_memory_outputs(trained_run, datasets):
    model, ckpt = load_model(trained_run)
    procs = ckpt["task"]["processes"]
    td = load_task_data(datasets["pre"], procs, None, Split(val_fraction=0.0, test_fraction=0.0))
    ref, yref, wref = score(model, td.graphs, "label", batch_size=64)
    got, y, w, _ = predict_chunks(model, datasets["pre"], procs, None, "label", chunk_size=37,
                               batch_size=64)  # fmt: skip
    assert len(got) == len(td.graphs)
    assert torch.equal(y, yref) and torch.equal(w, wref)
    # equal up to float32 rounding: a different batch composition changes the GEMM blocking
    # (measured: 1.3e-6 at most on logits of order 1)
    assert torch.allclose(got, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("with_data", [False, True], ids=["test-split", "all-of-data"])
def test_chunked_evaluate_equals_unchunked(with_data, trained_run, datasets, tmp_path):
    data = datasets["pre"] if with_data else None
    quiet = lambda s: None  # noqa: E731
    whole = evaluate_run(trained_run, data=data, out=tmp_path / "a", chunk_size=None, log=quiet)
    chunked = evaluate_run(trained_run, data=data, out=tmp_path / "b", chunk_size=23, log=quiet)
    assert chunked["n_events"] == whole["n_events"] > 0
    assert chunked["accuracy"] == whole["accuracy"]
    assert chunked["auc"] == pytest.approx(whole["auc"], abs=1e-12)
    assert chunked["loss"] == pytest.approx(whole["loss"], rel=1e-6)
    assert chunked["per_class"].keys() == whole["per_class"].keys()
    if not with_data:  # the re-derived test split is the training run's own test split
        m = json.loads((trained_run / "metrics.json").read_text())
        assert chunked["n_events"] == m["split_sizes"]["test"]
        assert chunked["accuracy"] == pytest.approx(m["accuracy"], abs=1e-12)


def test_evaluate_cli_chunk_size(trained_run, datasets, tmp_path, capsys):
    code, out, err = cli(["evaluate", "--model", trained_run, "--data", datasets["pre"], "--out",
                          tmp_path / "e", "--chunk-size", "50"], capsys)  # fmt: skip
    assert code == 0, err
    assert json.loads((tmp_path / "e" / "metrics.json").read_text())["n_events"] == 300


@pytest.mark.parametrize("fmt", ["delphes", "parquet"])
def test_chunked_convert_equals_whole_file_convert(fmt, tmp_path, capsys):
    """``convert --chunk-size K`` writes ceil(n/K) shards whose concatenation is the whole-file
    conversion, ``source`` entries included; a rerun skips every finished chunk."""
    from rel_helpers import random_events
    from rootfiles import write_delphes

    from eventgnn._core.provenance import fingerprint
    from eventgnn.events.parquet import write_events

    rng = np.random.default_rng(3)
    n = 23
    if fmt == "delphes":
        src = write_delphes(
            tmp_path / "big.root",
            jets=[[(float(rng.uniform(30, 90)), 0.5, 0.1, 1)] * int(rng.integers(0, 3))
                  for _ in range(n)],
            electrons=[[] for _ in range(n)], muons=[[] for _ in range(n)],
            photons=[[] for _ in range(n)], met=[(float(rng.uniform(1, 50)), 0.3)] * n,
        )  # fmt: skip
    else:
        src = write_events(random_events(n, "pa", 5), tmp_path / "big.parquet")
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    assert cli(["convert", src, "--out", whole, "--chunk-size", "0"], capsys)[0] == 0
    assert cli(["convert", src, "--out", parts, "--chunk-size", "5"], capsys)[0] == 0
    shards = sorted(parts.glob("*.parquet"))
    stem = f"big-{fingerprint(str(Path(src).resolve()), 10)}"  # unique per input file
    assert [s.name for s in shards] == [f"{stem}.c{k:04d}.parquet" for k in range(5)]
    a, b = read_events(whole), read_events(parts)
    for field in ("objects", "process", "weight", "source"):
        assert a[field].to_list() == b[field].to_list()
    mtimes = [s.stat().st_mtime_ns for s in shards]
    shards[2].unlink()  # as if killed before chunk 2 was written
    assert cli(["convert", src, "--out", parts, "--chunk-size", "5"], capsys)[0] == 0
    assert [s.stat().st_mtime_ns for s in sorted(parts.glob("*.parquet"))][:2] == mtimes[:2]
    assert read_events(parts).source.to_list() == a.source.to_list()
