"""Training on the streamed path (``train.stream=true``): a resumed run equals an uninterrupted
one bit for bit, and two ranks under torchrun share every epoch, each event once."""

from __future__ import annotations

import json

import pytest
import torch
from runtools import assert_same_run, history, torchrun_two_ranks

from eventgnn.graphs import stream
from eventgnn.train.runs import pretrain

QUIET = lambda s: None  # noqa: E731


def test_a_resumed_streamed_run_equals_an_uninterrupted_one(tiny_cfg, tiny_data, tmp_path,
                                                            monkeypatch):  # fmt: skip
    monkeypatch.setattr(stream, "STREAM_BLOCK", 8)  # several blocks and windows per epoch
    monkeypatch.setattr(stream, "STREAM_BUFFER", 32)
    on = ("train.stream=true", f"train.stream_cache={tmp_path / 'cache'}")
    full = pretrain(tiny_cfg(tiny_data, tmp_path / "full", *on, "train.epochs=4"), log=QUIET)
    part = tmp_path / "part"
    pretrain(tiny_cfg(tiny_data, part, *on, "train.epochs=2"), log=QUIET)  # "killed" after 2
    lines: list[str] = []
    pretrain(tiny_cfg(tiny_data, part, *on, "train.epochs=4"), log=lines.append)
    assert any("resuming" in s for s in lines)
    assert not any("writing the cache" in s for s in lines)  # the cache was reused
    assert len(history(part)) == 4
    assert_same_run(full, part)
    # the streamed order is not the in-memory one, and a run does not resume across the paths
    ckpt = torch.load(full / "model.pt", weights_only=False)
    assert ckpt["config"]["train"]["stream"] is True
    assert ckpt["provenance"]["stats_sample"] == {"n_events": 108, "of": 108, "seed": 0}
    with pytest.raises(Exception, match=r"train\.stream"):
        pretrain(tiny_cfg(tiny_data, part, "train.epochs=5"), log=QUIET)


def test_a_streamed_multilabel_pretraining_runs(tiny_cfg, tiny_data, tmp_path):
    """The targets are read from the cache for each batch (multilabel), and the run scores."""
    on = ("train.stream=true", f"train.stream_cache={tmp_path / 'cache'}", "train.epochs=1")
    run = pretrain(tiny_cfg(tiny_data, tmp_path / "ml", *on, task="multilabel"), log=QUIET)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["task"] == "multilabel" and metrics["n_events"] == 36


def test_a_streamed_finetune_from_a_pretrained_run(tiny_cfg, tiny_data, pretrained_run, tmp_path):
    from eventgnn.catalog.resolve import resolve_task
    from eventgnn.train.finetune import finetune

    on = ("train.stream=true", f"train.stream_cache={tmp_path / 'cache'}", "train.epochs=1")
    config = tiny_cfg(tiny_data, tmp_path / "ft", *on, command="finetune", task="wh_vs_zh",
                      pretrained=str(pretrained_run))  # fmt: skip
    run = finetune(config, resolve_task(config.task), log=QUIET)
    ckpt = torch.load(run / "model.pt", weights_only=False)
    assert ckpt["provenance"]["split_sizes"] == {"train": 72, "val": 24, "test": 24}
    assert ckpt["config"]["train"]["stream"] is True


SCRIPT = """
import json, sys
from dataclasses import replace
import numpy as np
import torch
from eventgnn.config import RunConfig, apply_overrides
from eventgnn.graphs import stream
from eventgnn.train.distributed import init_distributed, shutdown_distributed
from eventgnn.train import runs
from eventgnn.train.runs import pretrain

torch.set_num_threads(1)
data, out, cache = sys.argv[1:4]
rank, world = init_distributed()
assert world == 2
stream.STREAM_BLOCK, stream.STREAM_BUFFER = 8, 32
seen = []
real = stream.StreamedGraphs.epoch_batches

def counting(self, generator, batch_size, target, rank=0, world=1):
    events, gather = [], self.gather
    self.gather = lambda idx, t: (events.append(self.positions[np.asarray(idx)]), gather(idx, t))[1]
    trained = 0
    for b in real(self, generator, batch_size, target, rank, world):
        trained += b.num_graphs
        yield b
    del self.gather
    seen.append({"events": np.concatenate(events).tolist(), "trained": trained})

stream.StreamedGraphs.epoch_batches = counting
real_fit = runs.fit

def fit_and_keep(model, *args, **kwargs):  # each rank's final weights, to compare
    result = real_fit(model, *args, **kwargs)
    torch.save(model.state_dict(), f"{out}/rank{rank}.pt")
    return result

runs.fit = fit_and_keep
overrides = ["model.hidden=16", "model.latent=16", "model.mlp_layers=2", "model.iterations=1",
             "train.plots=false", "train.device=cpu", "train.batch_size=16", "train.epochs=2",
             "train.stream=true", f"train.stream_cache={cache}"]
config = replace(apply_overrides(RunConfig(), overrides), command="pretrain",
                 objective="multiclass", data=data, out=out)
pretrain(config, log=lambda s: None)
with open(f"{out}/seen{rank}.json", "w") as f:
    json.dump(seen, f)
shutdown_distributed()
"""


@pytest.mark.slow
def test_two_gloo_ranks_each_see_their_share_every_event_once(tiny_data, tmp_path):
    """Two CPU ranks under ``torchrun``: per epoch, disjoint halves of the training events that
    together hold each of them once; the same final weights on both."""
    out = tmp_path / "run"
    proc = torchrun_two_ranks(SCRIPT, [str(tiny_data), str(out), str(tmp_path / "cache")], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = [json.loads((out / f"seen{r}.json").read_text()) for r in (0, 1)]
    n_train = torch.load(out / "model.pt", weights_only=False)["provenance"]["split_sizes"]
    n_train = n_train["train"]
    assert len(seen[0]) == len(seen[1]) == 2  # two epochs on each rank
    for epoch in range(2):
        a, b = seen[0][epoch], seen[1][epoch]
        assert a["trained"] == len(a["events"]) and b["trained"] == len(b["events"])
        assert abs(len(a["events"]) - len(b["events"])) <= 1  # halves
        assert not set(a["events"]) & set(b["events"])  # disjoint shares
        assert len(set(a["events"]) | set(b["events"])) == n_train  # every event, once
    assert seen[0][0]["events"] != seen[0][1]["events"]  # a new order each epoch
    a = torch.load(out / "rank0.pt", weights_only=True)
    b = torch.load(out / "rank1.pt", weights_only=True)
    for k in a:  # the same final weights on both ranks
        assert torch.equal(a[k], b[k]), k
