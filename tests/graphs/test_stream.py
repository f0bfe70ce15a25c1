"""The streamed training cache: the same events, splits and batches as in memory; reused,
rebuilt or finished as its record says; every training event once per epoch across ranks."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from hand_events import random_events

from eventgnn._core.errors import DatasetError
from eventgnn.events.parquet import write_events
from eventgnn.graphs import stream
from eventgnn.graphs.dataset import Split, load_task_data
from eventgnn.graphs.stream import StreamedGraphs, load_streamed_task_data, open_cache
from eventgnn.train.runs import fit_stats

PROCESSES = ["tt", "wh", "zh"]
QUIET = lambda s: None  # noqa: E731


@pytest.fixture
def small_windows(monkeypatch):
    """Blocks of 8 and windows of 32 events: several of each on the tiny data."""
    monkeypatch.setattr(stream, "STREAM_BLOCK", 8)
    monkeypatch.setattr(stream, "STREAM_BUFFER", 32)


def test_streamed_data_equals_the_in_memory_data(tiny_data, tmp_path):
    split = Split(seed=3)
    mem = load_task_data(tiny_data, ["wh", "zh"], ["wh"], split, scales={"zh": 2.0})
    st = load_streamed_task_data(tiny_data, ["wh", "zh"], ["wh"], split, {"zh": 2.0},
                                 folder=tmp_path / "c", log=QUIET)  # fmt: skip
    assert isinstance(st.graphs, StreamedGraphs) and len(st.graphs) == len(mem.graphs) == 120
    for k in ("train", "val", "test"):
        assert torch.equal(st.splits[k], mem.splits[k])
    assert {k: v for k, v in st.provenance.items() if k != "stats_sample"} == mem.provenance
    for key in ("label", "weight", "process"):
        assert torch.equal(st.graphs.labels[key], mem.graphs.labels[key]), key
    idx = torch.tensor([5, 90, 0, 119, 33])
    for target in ("label", "targets"):
        a, b = mem.graphs.batch(idx, target), st.graphs.batch(idx, target)
        for f in ("x", "edge_index", "edge_attr", "u", "batch", "ptr", "y", "w"):
            torch.testing.assert_close(getattr(a, f), getattr(b, f), rtol=0, atol=0, equal_nan=True)
    # a split's view scores the same events as the in-memory copy
    a, b = mem.part("test").batch(target="label"), st.part("test").batch(target="label")
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    # the statistics, fitted on every training event below the sample size, are the same
    s_mem, s_st = fit_stats(mem), fit_stats(st)
    for k in s_mem:
        np.testing.assert_array_equal(s_mem[k], s_st[k])
    assert st.provenance["stats_sample"] == {"n_events": 72, "of": 72, "seed": 3}


def test_a_class_of_no_positive_weight_is_refused_as_in_memory(tiny_data, tmp_path):
    """The streamed path checks the classes' total weights as load_task_data does."""
    args = (tiny_data, ["wh", "zh"], ["wh"], Split(seed=3), {"zh": 0.0})
    with pytest.raises(DatasetError) as in_memory:
        load_task_data(*args[:4], scales=args[4])
    with pytest.raises(DatasetError) as streamed:
        load_streamed_task_data(*args, folder=tmp_path / "c", log=QUIET)
    assert str(streamed.value) == str(in_memory.value)
    assert "class 'background: zh' has a total event weight of 0" in str(streamed.value)


def test_the_stats_sample_is_seeded_and_stated():
    assert np.array_equal(stream.stats_sample(10, 0, limit=20), np.arange(10))
    s = stream.stats_sample(1000, 7, limit=100)
    assert len(s) == 100 and np.all(np.diff(s) > 0)
    assert np.array_equal(s, stream.stats_sample(1000, 7, limit=100))
    assert not np.array_equal(s, stream.stats_sample(1000, 8, limit=100))


def test_the_cache_is_reused_and_rebuilt_when_its_data_changes(tiny_data, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    lines: list[str] = []
    open_cache(data, tmp_path / "c", lines.append)
    assert len(lines) == 1 and "writing the cache" in lines[0]
    stamp = (tmp_path / "c" / "x.npy").stat().st_mtime_ns
    lines.clear()
    cache = open_cache(data, tmp_path / "c", lines.append)
    assert lines == [] and (tmp_path / "c" / "x.npy").stat().st_mtime_ns == stamp
    assert sorted(cache.processes) == PROCESSES and len(cache) == 180
    # a .npy file that numpy reads as it is
    x = np.load(tmp_path / "c" / "x.npy")
    assert x.dtype == np.float32 and x.shape == (cache.record["contents"]["n_nodes"], 7)
    write_events(random_events(30, "tt", seed=99), data / "tt.parquet")  # other events
    open_cache(data, tmp_path / "c", lines.append)
    assert "made from other inputs: data.fingerprint" in lines[0] and "rebuilding" in lines[0]
    assert len(open_cache(data, tmp_path / "c", QUIET)) == 150


def test_a_killed_build_is_not_taken_for_done(tiny_data, tmp_path, monkeypatch):
    real = stream.iter_event_chunks

    def dies(data, chunk):
        yield from list(real(data, chunk))[:1]
        raise KeyboardInterrupt  # as a kill in the middle of the build

    monkeypatch.setattr(stream, "iter_event_chunks", dies)
    with pytest.raises(KeyboardInterrupt):
        open_cache(
            tiny_data,
            tmp_path / "c",
            QUIET,
        )
    left = {p.name for p in (tmp_path / "c").iterdir()}
    assert "record.json" not in left and not any(n.endswith(".npy") for n in left)
    monkeypatch.setattr(stream, "iter_event_chunks", real)
    lines: list[str] = []
    assert len(open_cache(tiny_data, tmp_path / "c", lines.append)) == 180
    assert "writing the cache" in lines[0]
    record = json.loads((tmp_path / "c" / "record.json").read_text())
    assert record["contents"]["n_events"] == 180


def _epoch(graphs, seed_state, batch_size, rank, world):
    """``(events per batch, the events read)`` of one epoch of ``rank``; ``seed_state``: the
    generator's state at its start."""
    g = torch.Generator()
    g.set_state(seed_state)
    read: list[np.ndarray] = []
    real = graphs.gather
    graphs.gather = lambda idx, target: (read.append(np.asarray(idx)), real(idx, target))[1]
    sizes = [b.num_graphs for b in graphs.epoch_batches(g, batch_size, "label", rank, world)]
    del graphs.gather
    return sizes, np.concatenate(read), g.get_state()


@pytest.mark.parametrize("world", [1, 2, 3])
def test_every_training_event_once_per_epoch_across_ranks(tiny_data, tmp_path, small_windows,
                                                          world):  # fmt: skip
    data = load_streamed_task_data(tiny_data, PROCESSES, folder=tmp_path / "c", log=QUIET)
    train = data.part("train")
    n = len(train)
    state = torch.Generator().manual_seed(0).get_state()
    orders = []
    for _epoch_no in range(2):
        shares = [_epoch(train, state, 10, r, world) for r in range(world)]
        assert len({len(s[0]) for s in shares}) == 1  # the same number of steps on every rank
        assert all(sum(s[0]) == len(s[1]) for s in shares)  # every event read is trained on
        seen = np.concatenate([s[1] for s in shares])
        assert np.array_equal(np.sort(seen), np.arange(n))  # each event once across the ranks
        assert len({s[2].numpy().tobytes() for s in shares}) == 1  # generators stay in step
        orders.append(seen)
        state = shares[0][2]
    assert not np.array_equal(orders[0], orders[1])  # a new order each epoch
    if world == 1:  # the windows are shuffled inside: not the block order itself
        sizes, _, _ = _epoch(train, torch.Generator().manual_seed(0).get_state(), 10, 0, 1)
        assert sizes == [10] * (n // 10) + ([n % 10] if n % 10 else [])
