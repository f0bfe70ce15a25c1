"""DistributedDataParallel under torchrun: two CPU processes (gloo) end with identical weights."""

from __future__ import annotations

import pytest
import torch
from runtools import torchrun_two_ranks

SCRIPT = """
import sys
import torch
from dataclasses import replace
from eventgnn.config import RunConfig, apply_overrides
from eventgnn.graphs.dataset import load_task_data
from eventgnn.model import EventGNN
from eventgnn.train.distributed import init_distributed, shutdown_distributed
from eventgnn.train.engine import fit
from eventgnn.train.objectives import make_objective
from eventgnn.train.runs import fit_stats

torch.set_num_threads(1)
data_dir, out = sys.argv[1], sys.argv[2]
rank, world = init_distributed()
assert world == 2
config = apply_overrides(RunConfig(), ["model.hidden=16", "model.latent=16", "model.mlp_layers=2",
                                       "model.iterations=2", "train.batch_size=16",
                                       "train.epochs=3", "train.plots=false"])
data = load_task_data(data_dir, ["tt", "wh", "zh"])
task = make_objective("multiclass", ("tt", "wh", "zh"))
torch.manual_seed(rank)  # different initial weights: DDP must broadcast rank 0's
model = EventGNN(config.model, 3, fit_stats(data))
fit(model, task, data, config.train, out, log=lambda s: None)
torch.save(model.state_dict(), f"{out}/rank{rank}.pt")
shutdown_distributed()
"""


@pytest.mark.slow
def test_torchrun_two_cpu_ranks_end_with_identical_weights(tiny_data, tmp_path):
    out = tmp_path / "run"
    proc = torchrun_two_ranks(SCRIPT, [str(tiny_data), str(out)], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    a = torch.load(out / "rank0.pt", weights_only=True)
    b = torch.load(out / "rank1.pt", weights_only=True)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    # rank 0 wrote the run; the weights trained (differ from a fresh rank-0 model)
    assert (out / "model.pt").exists() and (out / "history.csv").exists()
    saved = torch.load(out / "model.pt", weights_only=True)["state_dict"]
    assert saved.keys() == a.keys()
