"""data_recipes/cluster: the array-job script makes one dataset from its tasks (run here as a
plain batch system would, job by job), refused while a task is missing; the Slurm scripts parse."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from eventgnn._core.errors import DatasetError
from eventgnn.events.io import read_events

CLUSTER = Path(__file__).resolve().parents[1] / "data_recipes" / "cluster"


def run_task(i: int, n: int, out: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PROCESSES": "zh", "EVENTS": "12", "SHARD_EVENTS": "4", "NO_MPI": "1",
           "SEED": "7", "OUT": str(out),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}  # fmt: skip
    return subprocess.run(["bash", str(CLUSTER / "generate_array.sh"), str(i), str(n)], env=env,
                          capture_output=True, text=True)  # fmt: skip


def test_array_tasks_make_one_checked_dataset(tmp_path):
    out = tmp_path / "data"
    first = run_task(0, 2, out)
    assert first.returncode == 0, first.stderr
    with pytest.raises(DatasetError, match="1 of its 3 shards are missing"):  # named
        read_events(out)
    assert run_task(1, 2, out).returncode == 0
    events = read_events(out)
    assert len(events) == 12 and len(set(events.source.to_list())) == 12


@pytest.mark.parametrize("name", ["generate_array.slurm", "generate_array.sh", "pretrain.slurm"])
def test_scripts_parse(name):
    assert subprocess.run(["bash", "-n", str(CLUSTER / name)]).returncode == 0
