"""The manifest of array-job generation: every shard of the request, once, or a refusal that
names the missing and doubled shards."""

from __future__ import annotations

import json
import shutil

import pytest
from hand_events import random_events

from eventgnn._core.errors import DatasetError, StaleOutputError
from eventgnn._core.provenance import lock
from eventgnn.events.io import input_files, read_events
from eventgnn.events.manifest import MANIFEST, write_manifest
from eventgnn.events.parquet import write_events


def _request(tmp_path, n_shards=4):
    """A folder laid out as ``generate`` lays it out, with its manifest, all shards present."""
    out = tmp_path / "d"
    shards = []
    for k in range(n_shards):
        rel = f"wh/wh_seed{k + 1}_n10.parquet"
        write_events(random_events(10, "wh", seed=k), out / rel)
        shards.append({"path": rel, "process": "wh", "seed": k + 1, "events": 10})
    request = {"processes": ["wh"], "events": 10 * n_shards, "seed": 1, "jobs": 2}
    write_manifest(out, request, shards)
    return out, request, shards


def test_a_complete_set_is_read(tmp_path):
    out, _, _ = _request(tmp_path)
    assert len(input_files(out)) == 4 and len(read_events(out)) == 40


def test_missing_shards_are_named(tmp_path):
    out, _, _ = _request(tmp_path)
    (out / "wh" / "wh_seed3_n10.parquet").unlink()  # a job that failed
    with pytest.raises(DatasetError, match=r"1 of its 4 shards are missing \(.*wh_seed3_n10"):
        read_events(out)


def test_doubled_and_unlisted_shards_are_named(tmp_path):
    out, _, _ = _request(tmp_path)
    # the events of seed 2 again, from a request with other --events
    shutil.copy(out / "wh" / "wh_seed2_n10.parquet", out / "wh" / "wh_seed2_n20.parquet")
    with pytest.raises(DatasetError, match=r"1 doubled: .*wh_seed2_n20.parquet \(the events of "
                       r".*wh_seed2_n10.parquet\)"):  # fmt: skip
        input_files(out)
    (out / "wh" / "wh_seed2_n20.parquet").unlink()
    write_events(random_events(5, "zh", seed=9), out / "zh" / "other.parquet")
    with pytest.raises(DatasetError, match=r"1 not in the manifest: .*other\.parquet"):
        input_files(out)


def test_every_job_writes_the_same_manifest_and_another_request_is_refused(tmp_path):
    out, request, shards = _request(tmp_path)
    text = (out / MANIFEST).read_text()
    write_manifest(out, request, shards)  # the next array job of the same request
    assert (out / MANIFEST).read_text() == text
    with pytest.raises(StaleOutputError, match=r"another request: request\.events: 40 -> 80"):
        write_manifest(out, {**request, "events": 80}, shards)
    write_manifest(out, {**request, "events": 80}, shards, overwrite=True)
    assert json.loads((out / MANIFEST).read_text())["request"]["events"] == 80


def test_generate_array_jobs_make_one_checked_dataset_side_by_side(tmp_path):
    from eventgnn.generate.run import generate

    out = tmp_path / "gen"
    kw = dict(events=20, shard_events=10, mpi=False, progress=False)
    other = out / "zh" / ".zh_seed2_n10.parquet.0123abcd.tmp"  # job 1 writing its shard
    other.parent.mkdir(parents=True)
    other.write_text("in progress")
    with lock(out / ".generate-jobs" / "1-of-2"):  # job 1 runs at the same time
        generate(["zh"], out, shard=(0, 2), **kw)
    assert other.exists()  # job 0 removed no temporary of job 1
    other.unlink()
    manifest = json.loads((out / MANIFEST).read_text())
    assert [s["path"] for s in manifest["shards"]] == ["zh/zh_seed1_n10.parquet",
                                                        "zh/zh_seed2_n10.parquet"]  # fmt: skip
    with pytest.raises(DatasetError, match=r"1 of its 2 shards are missing \(.*zh_seed2_n10"):
        read_events(out)
    generate(["zh"], out, shard=(1, 2), **kw)
    assert len(read_events(out)) == 20
