"""The parallel runner: determinism, resume after a kill, --shard, LHE input, CLI, default data."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import awkward as ak
import numpy as np
import pytest

from eventgnn._core.system import cpu_count
from eventgnn.cli import main
from eventgnn.events.lhe import check_lhe
from eventgnn.events.parquet import read_shard, shard_paths
from eventgnn.generate.run import generate, parse_shard, work_list

LHE_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "lhe"


def lhe_files() -> list[Path]:
    """The real MadGraph files of the shared data folder (tests skip when it is absent)."""
    if not LHE_DIR.is_dir():
        return []
    return sorted(p for p in LHE_DIR.iterdir() if p.name.endswith((".lhe", ".lhe.gz")))


def _read_all(folder: Path) -> ak.Array:
    return ak.concatenate([read_shard(p) for p in shard_paths(folder)])


def test_same_seed_gives_identical_shard(tmp_path):
    kw = dict(events=30, seed=5, mpi=False, progress=False)
    (a,) = generate(["zh"], tmp_path / "a", **kw)
    (b,) = generate(["zh"], tmp_path / "b", **kw)
    ea, eb = read_shard(a), read_shard(b)
    assert len(ea) == 30
    assert ak.to_list(ea) == ak.to_list(eb)
    (c,) = generate(["zh"], tmp_path / "c", **{**kw, "seed": 6})
    assert ak.to_list(read_shard(c).objects.pt) != ak.to_list(ea.objects.pt)
    assert ea.source.tolist() == [f"pythia8:zh:seed5:{i}" for i in range(30)]  # one per event
    assert set(ea.label.tolist()) == {-1} and set(ea.process.tolist()) == {"zh"}
    assert not np.isnan(ak.to_numpy(ea.targets)).any()
    report = json.loads(a.with_suffix(".json").read_text())
    assert report["events_written"] == 30 and report["sigma_gen_pb"] > 0


def test_shard_selection_partitions_the_work_list(tmp_path):
    full = work_list(["wh", "zh", "ttbar"], tmp_path, events=250, shard_events=100)
    assert len(full) == 9 and [s.events for s in full[:3]] == [100, 100, 50]
    assert [s.seed for s in full[:3]] == [1, 2, 3]
    parts = [full[i::4] for i in range(4)]
    assert sorted(sum(parts, []), key=full.index) == full
    assert parse_shard("2/4") == (2, 4)
    with pytest.raises(ValueError, match="I/N"):
        parse_shard("2-4")
    with pytest.raises(ValueError, match="0 <= I < N"):
        parse_shard("4/4")
    paths = generate(["wh"], tmp_path / "s", 40, shard=(1, 2), shard_events=10, mpi=False,
                     progress=False)  # fmt: skip
    assert [p.name for p in paths] == ["wh_seed2_n10.parquet", "wh_seed4_n10.parquet"]
    assert sorted(p.name for p in (tmp_path / "s").rglob("*.parquet")) == [p.name for p in paths]


def test_killed_generation_resumes_without_duplicates_or_gaps(tmp_path):
    out = tmp_path / "killed"
    args = ["generate", "--process", "wh", "--events", "120", "--shard-events", "40",
            "--no-mpi", "--seed", "3", "--out", str(out)]  # fmt: skip
    code = f"import sys; from eventgnn.cli import main; sys.exit(main({args!r}))"
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    try:
        while not list(out.rglob("*.parquet")):
            assert proc.poll() is None, "generation ended before it could be killed"
            assert time.monotonic() < deadline, "no shard written in 120 s"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert len(list(out.rglob("*.parquet"))) < 3  # it really stopped part-way
    done_before = {p: p.stat().st_mtime_ns for p in out.rglob("*.parquet")}
    assert main(args) == 0  # the rerun finishes the request
    for p, mtime in done_before.items():
        assert p.stat().st_mtime_ns == mtime  # finished shards were not regenerated
    resumed = _read_all(out)
    clean = _read_all(Path(generate(["wh"], tmp_path / "clean", 120, seed=3, mpi=False,
                                    shard_events=40, progress=False)[0]).parent)  # fmt: skip
    assert len(resumed) == 120
    assert ak.to_list(resumed) == ak.to_list(clean)


def _lhe_params():
    return [pytest.param(p, id=p.name) for p in lhe_files()] or [
        pytest.param(None, marks=pytest.mark.skip(reason=f"no MadGraph LHE files in {LHE_DIR}"))
    ]


@pytest.mark.parametrize("lhe", _lhe_params())
def test_lhe_file_gives_one_event_per_lhe_event(lhe, tmp_path):
    n_lhe = check_lhe(lhe)
    assert n_lhe > 0
    (path,) = generate(["my_lhe_process"], tmp_path, events=n_lhe, lhe=lhe, mpi=False,
                       progress=False)  # fmt: skip
    events = read_shard(path)
    report = json.loads(path.with_suffix(".json").read_text())
    assert report["lhe_events"] == n_lhe
    assert report["pythia_events"] == n_lhe  # every LHE event showered once
    assert len(events) == report["events_written"] == n_lhe - report["dropped_no_object"]
    assert set(events.process.tolist()) == {"my_lhe_process"}
    # no event twice: the leading object's pT is distinct for every event
    lead = ak.to_numpy(ak.max(events.objects.pt, axis=1))
    assert len(np.unique(lead)) == len(lead)
    if "wbj" in lhe.name:  # W + b + jet: the W of the hard process is in every event's truth
        assert np.all(ak.to_numpy(events.targets)[:, 3] >= 1)


def test_lhe_event_limit_reads_the_first_events(lhe_dir, tmp_path):
    lhe = lhe_files()[0]
    (path,) = generate(["x"], tmp_path, events=7, lhe=lhe, mpi=False, progress=False)
    assert len(read_shard(path)) == 7


def test_cli_generate_and_errors(tmp_path, capsys):
    assert main(["generate", "--process", "ggf_h", "--events", "5", "--no-mpi",
                 "--out", str(tmp_path)]) == 0  # fmt: skip
    assert len(read_shard(tmp_path / "ggf_h" / "ggf_h_seed1_n5.parquet")) == 5
    assert main(["generate", "--process", "nope", "--out", str(tmp_path)]) == 1
    assert "unknown process 'nope'" in capsys.readouterr().err
    assert main(["generate", "--process", "thq", "--events", "5", "--out", str(tmp_path)]) == 1
    assert "--lhe" in capsys.readouterr().err


def test_default_data_is_generated_once_with_disjoint_seeds(tmp_path, monkeypatch):
    from eventgnn.generate.default import ensure_default_data

    monkeypatch.setenv("EVENTGNN_CACHE", str(tmp_path))
    monkeypatch.setenv("EVENTGNN_DEFAULT_PRETRAIN_EVENTS", "8")
    monkeypatch.setenv("EVENTGNN_DEFAULT_DOWNSTREAM_EVENTS", "6")
    said = []
    pre = ensure_default_data("pretrain", ["wh"], log=said.append)
    down = ensure_default_data("downstream", ["wh"])
    assert pre == tmp_path / "default" / "pretrain" and down == tmp_path / "default" / "downstream"
    # announced before it starts: what, how many, where, how long
    assert said == [
        f"generating the built-in pretrain data (first use; reused afterwards): 8 events (wh 8) "
        f"into {pre}; about 1 s of CPU time, 1 s on {cpu_count()} core(s)"
    ]
    ev_pre, ev_down = _read_all(pre), _read_all(down)
    assert len(ev_pre) == 8 and len(ev_down) == 6
    assert not set(ev_pre.source.tolist()) & set(ev_down.source.tolist())
    mtimes = {p: p.stat().st_mtime_ns for p in pre.rglob("*.parquet")}
    assert ensure_default_data("pretrain", ["wh"], log=said.append) == pre
    assert {p: p.stat().st_mtime_ns for p in pre.rglob("*.parquet")} == mtimes
    assert len(said) == 1  # nothing to generate: nothing said
    monkeypatch.setenv("EVENTGNN_DEFAULT_PRETRAIN_EVENTS", "zero")
    with pytest.raises(ValueError, match="EVENTGNN_DEFAULT_PRETRAIN_EVENTS"):
        ensure_default_data("pretrain", ["wh"])


def test_parallel_workers_give_the_same_shards_as_one_process(tmp_path):
    kw = dict(events=20, seed=9, mpi=False, shard_events=10, progress=False)
    serial = generate(["zh"], tmp_path / "serial", jobs=1, **kw)
    parallel = generate(["zh"], tmp_path / "parallel", jobs=2, **kw)
    assert [p.name for p in serial] == [p.name for p in parallel] and len(serial) == 2
    for a, b in zip(serial, parallel, strict=True):
        assert ak.to_list(read_shard(a)) == ak.to_list(read_shard(b))


def test_the_fastjet_banner_stays_off_the_screen(tmp_path):
    """FastJet prints a banner at the first clustering of a process; generation swallows it."""
    code = (
        "from eventgnn.generate.run import generate; "
        f"generate(['zh'], {str(tmp_path)!r}, 3, seed=5, mpi=False, progress=False)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "FastJet" not in out.stdout + out.stderr and "#####" not in out.stdout
