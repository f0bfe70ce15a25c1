"""Scan tables and orchestration (resume, layout, statistics)."""

from __future__ import annotations

import csv
import json
import math
import re

import pytest

from eventgnn._core.errors import StaleOutputError
from eventgnn.analysis.scan import (
    ScanConfig,
    collect_results,
    markdown_tables,
    run_dir,
    run_scan,
    summarize,
)


def _records():
    acc = {"scratch": [0.70, 0.72, 0.74], "multiclass": [0.75, 0.76, 0.77]}
    return [
        {"setup": s, "size": 1000, "seed": k, "accuracy": a, "auc": a + 0.1}
        for s, v in acc.items()
        for k, a in enumerate(v)
    ] + [{"setup": "scratch", "size": 10000, "seed": 0, "accuracy": 0.8, "auc": 0.9}]


def test_summarize_statistics():
    rows = summarize(_records())
    by = {(r["size"], r["setup"]): r for r in rows}
    s, m = by[(1000, "scratch")], by[(1000, "multiclass")]
    assert s["n"] == 3 and s["accuracy_mean"] == pytest.approx(0.72)
    assert s["accuracy_std"] == pytest.approx(0.02)  # sample std, ddof=1
    assert m["accuracy_gain"] == pytest.approx(0.04)
    assert m["accuracy_gain_err"] == pytest.approx(math.sqrt(0.02**2 + 0.01**2))
    assert m["auc_gain"] == pytest.approx(0.04)
    assert by[(10000, "scratch")]["accuracy_std"] == 0.0  # one seed
    assert "accuracy_gain" not in s
    assert [r["setup"] for r in rows[:2]] == ["scratch", "multiclass"]


def test_paired_gain_pairs_the_seeds_both_setups_ran():
    # per-seed differences 0.05, 0.04, 0.03: mean 0.04, standard error 0.01 / sqrt(3); a seed
    # only the finetuned setup ran (5) is left out of the pairs, not paired with another seed
    extra = {"setup": "multiclass", "size": 1000, "seed": 5, "accuracy": 0.5, "auc": 0.6}
    rows = summarize(_records() + [extra])
    m = {(r["size"], r["setup"]): r for r in rows}[(1000, "multiclass")]
    assert m["n"] == 4 and m["n_paired"] == 3
    assert m["accuracy_paired_gain"] == pytest.approx(0.04)
    assert m["accuracy_paired_err"] == pytest.approx(0.01 / math.sqrt(3))
    assert m["accuracy_gain"] == pytest.approx((0.75 + 0.76 + 0.77 + 0.5) / 4 - 0.72)
    alone = summarize([extra])[0]  # no baseline at that size: no pairs
    assert alone["n_paired"] == 0 and math.isnan(alone["accuracy_paired_gain"])


def test_markdown_table():
    md = markdown_tables(summarize(_records()), title="wh_vs_zh")
    # gain ± propagated spread, then the paired gain ± its standard error (0.01 / sqrt 3)
    assert "| 1,000 | 3 | 72.00 ± 2.00 | +4.00 ± 2.24 | +4.00 ± 0.58 |" in md
    assert "| 10,000 | 1 | 80.00 ± 0.00 | n/a | n/a |" in md
    assert "multiclass paired gain" in md
    assert "AUC x 100" in md


def _stub_trainer(calls):
    """Stands in for training in this orchestration test: writes what a finished run writes."""

    def finetune(task, out, seed, train_size, pretrained, data, epochs, overrides):
        calls.append((out, seed, train_size, pretrained))
        from pathlib import Path

        p = Path(out)
        p.mkdir(parents=True)
        gain = 0.03 if pretrained else 0.0
        acc = 0.6 + 0.01 * seed + gain + (0.05 if train_size > 50 else 0)
        (p / "metrics.json").write_text(json.dumps({"accuracy": acc, "auc": acc + 0.1}))

    def pretrain(kind, out, data, epochs, overrides):
        calls.append(("pretrain", kind))
        from pathlib import Path

        Path(out).mkdir(parents=True)
        (Path(out) / "metrics.json").write_text("{}")

    return finetune, pretrain


def test_run_scan_layout_resume_and_tables(tmp_path):
    calls = []
    ft, pt = _stub_trainer(calls)
    cfg = ScanConfig(task="s_vs_b", sizes=(10, 100), seeds=2, setups=("scratch", "multiclass"),
                     out=str(tmp_path / "scan"))  # fmt: skip
    summary = run_scan(cfg, finetune=ft, pretrain=pt, log=lambda s: None)
    assert ("pretrain", "multiclass") in calls
    assert len([c for c in calls if c[0] != "pretrain"]) == 2 * 2 * 2
    assert all(c[3] == str(tmp_path / "scan" / "pretrained" / "multiclass")
               for c in calls if c[0] != "pretrain" and "multiclass" in c[0])  # fmt: skip
    assert (run_dir(tmp_path / "scan", "scratch", 10, 1) / "metrics.json").exists()
    by = {(r["size"], r["setup"]): r for r in summary}
    assert by[(10, "multiclass")]["accuracy_gain"] == pytest.approx(0.03)
    for name in ("results.csv", "summary.csv", "summary.md", "accuracy.png", "auc.png"):
        assert (tmp_path / "scan" / name).exists()
    with open(tmp_path / "scan" / "results.csv") as f:
        assert len(list(csv.DictReader(f))) == 8
    # resume: nothing is trained again; a new seed trains only the new runs
    calls.clear()
    run_scan(cfg, finetune=ft, pretrain=pt, log=lambda s: None)
    assert calls == []
    cfg3 = ScanConfig(task="s_vs_b", sizes=(10, 100), seeds=3, setups=("scratch", "multiclass"),
                      out=str(tmp_path / "scan"))  # fmt: skip
    run_scan(cfg3, finetune=ft, pretrain=pt, log=lambda s: None)
    assert sorted(c[1] for c in calls) == [2, 2, 2, 2]
    assert len(collect_results(tmp_path / "scan")) == 12


def test_given_pretrained_run_is_used(tmp_path):
    calls = []
    ft, pt = _stub_trainer(calls)
    pre = tmp_path / "pre"
    with pytest.raises(ValueError, match="not in --setups"):
        ScanConfig(task="s_vs_b", sizes=(10,), setups=("scratch",), pretrained={"multiclass": "x"})
    cfg = ScanConfig(task="s_vs_b", sizes=(10,), seeds=1, setups=("multiclass",),
                     pretrained={"multiclass": str(pre)}, out=str(tmp_path / "s"))  # fmt: skip
    with pytest.raises(FileNotFoundError, match="not a finished run"):
        run_scan(cfg, finetune=ft, pretrain=pt, log=lambda s: None)
    pre.mkdir()
    (pre / "metrics.json").write_text("{}")
    run_scan(cfg, finetune=ft, pretrain=pt, log=lambda s: None)
    assert calls == [(str(run_dir(tmp_path / "s", "multiclass", 10, 0)), 0, 10, str(pre))]


def _picklable_finetune(task, out, seed, train_size, pretrained, data, epochs, overrides):
    """Module-level stand-in for training (worker processes must be able to import it). Like
    the real trainer it writes metrics.json atomically: the scan tabulates finished points while
    others still run, and a half-written file would be read as unreadable."""
    from pathlib import Path

    from eventgnn._core.fileio import write_text_atomic

    if seed == 99:
        raise ValueError("planted failure")
    p = Path(out)
    p.mkdir(parents=True)
    acc = 0.6 + 0.01 * seed + (0.03 if pretrained else 0.0) + 0.0001 * train_size
    write_text_atomic(p / "metrics.json", json.dumps({"accuracy": acc, "auc": acc + 0.1}))


def test_parallel_scan_equals_sequential(tmp_path):
    pre = tmp_path / "pre"
    pre.mkdir()
    (pre / "metrics.json").write_text("{}")
    tables = {}
    for jobs in (1, 3):
        out = tmp_path / f"scan{jobs}"
        cfg = ScanConfig(task="s_vs_b", sizes=(10, 100), seeds=3, setups=("scratch", "multiclass"),
                         pretrained={"multiclass": str(pre)}, out=str(out), jobs=jobs)  # fmt: skip
        run_scan(cfg, finetune=_picklable_finetune, log=lambda s: None)
        tables[jobs] = (out / "summary.csv").read_text()
        assert len(collect_results(out)) == 12
    assert tables[1] == tables[3]


def test_parallel_scan_failure_names_the_point(tmp_path):
    cfg = ScanConfig(task="s_vs_b", sizes=(10,), seeds=2, setups=("scratch",), first_seed=98,
                     out=str(tmp_path / "s"), jobs=2)  # fmt: skip
    with pytest.raises(RuntimeError, match=r"scratch n=10 seed=99 failed: planted failure"):
        run_scan(cfg, finetune=_picklable_finetune, log=lambda s: None)
    # the other point finished and is kept: a rerun without the failing seed trains nothing
    assert (run_dir(tmp_path / "s", "scratch", 10, 98) / "metrics.json").exists()
    with pytest.raises(ValueError, match="jobs must be at least 1"):
        ScanConfig(task="s_vs_b", sizes=(10,), jobs=0)


def _gated_finetune(task, out, seed, train_size, pretrained, data, epochs, overrides):
    """Seed 0 finishes only once the scan has reported seed 1 (the test's log creates RELEASE)."""
    import time
    from pathlib import Path

    release = Path(out).parents[2] / "RELEASE"
    deadline = time.monotonic() + 30
    while seed == 0 and not release.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    _picklable_finetune(task, out, seed, train_size, pretrained, data, epochs, overrides)


@pytest.mark.slow  # ~35 s: two worker processes, one held back
def test_parallel_scan_reports_each_point_when_it_finishes(tmp_path):
    out = tmp_path / "s"
    seen = []

    def log(line):
        if "seed=1 done" in line:
            # seed 0 is still running: the scan did not wait for every point
            seen.append((run_dir(out, "scratch", 10, 0) / "metrics.json").exists())
            (out / "RELEASE").touch()

    cfg = ScanConfig(task="s_vs_b", sizes=(10,), seeds=2, setups=("scratch",), out=str(out), jobs=2)
    run_scan(cfg, finetune=_gated_finetune, log=log)
    assert seen == [False]
    assert (out / "results.csv").read_text().count("\n") == 3  # header + 2 runs


def _silent_finetune(task, out, seed, train_size, pretrained, data, epochs, overrides):
    """A trainer that returns without writing a run (a broken plug-in, say)."""


@pytest.mark.parametrize("jobs", [1, 2])
def test_run_without_metrics_is_an_error(tmp_path, jobs):
    cfg = ScanConfig(task="s_vs_b", sizes=(10,), seeds=2, setups=("scratch",),
                     out=str(tmp_path / "s"), jobs=jobs)  # fmt: skip
    with pytest.raises(RuntimeError, match=r"2 run\(s\) ended without writing metrics.json"):
        run_scan(cfg, finetune=_silent_finetune, log=lambda s: None)


@pytest.mark.parametrize(
    "change, needle",
    [
        ({"task": "u_vs_b"}, "task: 's_vs_b' -> 'u_vs_b'"),
        ({"epochs": 7}, "epochs: 5 -> 7"),
        ({"overrides": ("train.lr=0.001",)}, "overrides"),
        ({"pretrained": {"multiclass": "elsewhere"}}, "setups.multiclass"),
    ],
)
def test_a_scan_into_a_folder_of_other_runs_is_refused(change, needle, tmp_path):
    """Was: "done already", then a summary titled with the new task holding the old numbers."""
    ft, pt = _stub_trainer([])
    base = dict(task="s_vs_b", sizes=(10,), seeds=1, setups=("scratch", "multiclass"), epochs=5,
                out=str(tmp_path / "scan"))  # fmt: skip
    run_scan(ScanConfig(**base), finetune=ft, pretrain=pt, log=lambda s: None)
    with pytest.raises(StaleOutputError, match=re.escape(needle)):
        run_scan(ScanConfig(**{**base, **change}), finetune=ft, pretrain=pt, log=lambda s: None)
    # more sizes, more seeds, or fewer setups are a resume, not a change
    more = {**base, "sizes": (10, 20), "seeds": 2, "setups": ("scratch",)}
    run_scan(ScanConfig(**more), finetune=ft, pretrain=pt, log=lambda s: None)
