"""Task files: parsing and its refusals, staging (reuse, re-conversion, removal), weights and
scales, and a finetune from a task file and from --signal/--background on real file layouts."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading

import awkward as ak
import numpy as np
import pytest
import torch
import yaml
from events.rootfiles import MAP, random_delphes, random_nanoaod, write_ntuple
from hand_events import TINY

from eventgnn import read_events
from eventgnn._core import provenance
from eventgnn._core.errors import CatalogError, LockedError
from eventgnn._core.provenance import LOCK_NAME
from eventgnn.catalog import taskfile
from eventgnn.catalog.resolve import resolve_task
from eventgnn.catalog.taskfile import (
    expand,
    is_task_file,
    load_task_file,
    sample_files,
    stage,
    task_from_paths,
    weight_factors,
)
from eventgnn.cli import main
from eventgnn.events.schema import ObjectType
from eventgnn.train.finetune import task_file_data


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    """A NanoAOD-like signal, a NanoAOD-like and a Delphes-like background; both NanoAOD files
    are called ``events.root`` (same name, different folders)."""
    root = tmp_path_factory.mktemp("trees")
    (root / "sig").mkdir()
    (root / "bkg").mkdir()
    random_nanoaod(root / "sig" / "events.root", 240, 1, signal=True)
    random_nanoaod(root / "bkg" / "events.root", 160, 2, signal=False)
    random_delphes(root / "bkg" / "delphes.root", 160, 3, signal=False)
    return root


def write_task(folder, data: dict):
    path = folder / "task.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


TASK = {
    "name": "ana",
    "signal": [{"files": ["sig/*.root"], "process": "sig", "weight": "genWeight"}],
    "background": [
        {"files": ["bkg/events.root"], "process": "bkg_nano"},
        {"files": ["bkg/delphes.root"], "process": "bkg_delphes", "scale": 0.5},
    ],
}


def test_task_file_resolves_patterns_relative_to_itself(trees):
    task = load_task_file(write_task(trees, TASK))
    assert task.task.signal == ("sig",)
    assert task.task.background == ("bkg_nano", "bkg_delphes")
    assert task.signal[0].files == (str(trees / "sig/*.root"),)
    assert task.scales == {"bkg_delphes": 0.5}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"signal": []}, "field 'signal': expected a list of samples"),
        ({"signall": []}, "unknown field 'signall'"),
        ({"signal": [{"files": ["nowhere/*.root"]}]}, "'.*nowhere/\\*.root' matches no file"),
        ({"signal": [{"files": ["bkg/events.root"], "process": "x"}]},
         "is in sample 'x' and in sample 'bkg_nano'"),
        ({"signal": [{"files": ["sig/events.root"], "process": "bkg_nano"}]},
         "process 'bkg_nano' names two samples"),
        ({"signal": [{"files": ["sig/events.root"], "options": {"btag_treshold": 1}}]},
         "unknown reader option 'btag_treshold'"),
        ({"signal": [{"process": "wh", "weight": "genWeight"}]}, "'options' and 'weight' apply"),
        ({"signal": [{"files": ["sig/events.root"], "scale": "x"}]}, "field 'scale'"),
        ({"name": "../x"}, "field 'name'"),
        ({"signal": [{"files": ["sig/events.root"], "options": {"cuts": {"jet_pt_min": 30}}}]},
         "field 'options.cuts': unknown cut 'jet_pt_min'"),
        ({"signal": [{"files": ["sig/events.root"], "options": {"cuts": {"crack": 1.4}}}]},
         "cut 'crack': expected two numbers"),
        ({"signal": [{"files": ["sig/events.root"], "scale": float("inf")}]},
         r"signal\[0\]: field 'scale': expected a finite number, got inf"),
        ({"signal": [{"files": ["sig/events.root"], "scale": float("nan")}]},
         "field 'scale': expected a finite number, got nan"),
        ({"signal": [{"files": ["sig/events.root"], "weight": ""}]},
         "field 'weight': expected a branch name, got ''"),
        ({"signal": [{"files": ["sig/events.root"], "options": {"btag_threshold": "high"}}]},
         r"task.yaml: signal\[0\] \(process 'events'\): field 'options': option "
         r"'btag_threshold': expected a number in \[0, 1\].*got 'high'"),
        ({"signal": [{"files": ["sig/events.root"], "options": {"btag_threshold": float("nan")}}]},
         "option 'btag_threshold': expected a number in"),
        ({"signal": [{"files": ["sig/events.root"], "options": {"btag_bit": -1}}]},
         "option 'btag_bit': expected a bit of Delphes' Jet.BTag from 0 to 31, got -1"),
        ({"signal": [{"files": ["sig/events.root"], "options": {"tree": ""}}]},
         "option 'tree': expected a non-empty name"),
        ({"signal": [{"files": ["sig/events.root"],
                      "options": {"cuts": {"crack": [1.52, 1.37]}}}]},
         r"option 'cuts': cut 'crack': expected \[low, high\] with low <= high"),
        ({"signal": [{"files": ["sig/events.root"], "normalize": "lumi"}]},
         "field 'normalize': expected one of events, xsec, got 'lumi'"),
        ({"signal": [{"files": ["sig/events.root"], "normalize": "xsec", "xsec": 0.5}]},
         r"field 'lumi': expected a positive number \(fb\^-1\) with 'normalize: xsec', got None"),
        ({"signal": [{"files": ["sig/events.root"], "normalize": "xsec", "xsec": -1, "lumi": 1}]},
         r"field 'xsec': expected a positive number \(pb\)"),
        ({"signal": [{"files": ["sig/events.root"], "xsec": 0.5}]},
         "field 'xsec' needs 'normalize: xsec'"),
    ],
)  # fmt: skip
def test_bad_task_files_name_the_file_and_field(trees, change, message):
    path = write_task(trees, {**TASK, **change})
    with pytest.raises(CatalogError, match=message):
        load_task_file(path)


def test_stage_reuses_reconverts_and_removes(trees, tmp_path):
    logs = []
    task = load_task_file(write_task(trees, TASK))
    first = stage(task, tmp_path, logs.append)
    assert len(first) == 3 and not logs
    mtimes = [os.stat(p).st_mtime_ns for p in first]
    assert stage(task, tmp_path, logs.append) == first  # reused: nothing rewritten
    assert [os.stat(p).st_mtime_ns for p in first] == mtimes and not logs
    # other options for the signal: converted again, with a message
    changed = {**TASK, "signal": [{**TASK["signal"][0], "options": {"btag_threshold": 0.9}}]}
    stage(load_task_file(write_task(trees, changed)), tmp_path, logs.append)
    assert any("converting again" in line for line in logs)
    # a sample with one file fewer loses that file's shard
    fewer = {**TASK, "background": TASK["background"][:1] + [
        {"files": ["sig/events.root"], "process": "bkg_delphes"}]}  # fmt: skip
    fewer["signal"] = [{"files": ["bkg/delphes.root"], "process": "sig"}]
    shards = stage(load_task_file(write_task(trees, fewer)), tmp_path, logs.append)
    assert sorted(p.parent.name for p in shards) == ["bkg_delphes", "bkg_nano", "sig"]
    assert len(list(tmp_path.rglob("*.parquet"))) == 3
    assert any("removing" in line for line in logs)


def test_sample_cuts_and_branch_map_reach_the_reader(trees, tmp_path, monkeypatch):
    """``options.cuts`` is a mapping of cut names (others at their defaults) and applies;
    ``options.branch_map`` is relative to the task file, like ``files``, whatever the cwd."""

    write_ntuple(trees / "flat.root")
    (trees / "maps").mkdir(exist_ok=True)
    (trees / "maps" / "flat.yaml").write_text(yaml.safe_dump(MAP))
    task = {
        "name": "cuts",
        "signal": [{"files": ["sig/events.root"], "process": "sig",
                    "options": {"cuts": {"jet_pt": 60}}}],
        "background": [{"files": ["flat.root"], "process": "flat",
                        "options": {"branch_map": "maps/flat.yaml"}}],
    }  # fmt: skip
    path = write_task(trees, task)
    monkeypatch.chdir(tmp_path)  # not the task file's folder
    sig, flat = stage(load_task_file(path), tmp_path / "staged", lambda s: None)
    jets = read_events(sig).objects
    jets = jets[jets.kind == int(ObjectType.JET)]
    default = read_events(stage(load_task_file(write_task(trees, TASK)), tmp_path / "d",
                                lambda s: None)[0]).objects  # fmt: skip
    default = default[default.kind == int(ObjectType.JET)]
    assert ak.min(ak.flatten(jets.pt)) >= 60 > ak.min(ak.flatten(default.pt))
    assert read_events(flat).weight.to_list() == [1.5, 2.5, 3.5]  # read through the map


def test_weights_come_from_the_named_branch(trees, tmp_path):
    import uproot

    task = load_task_file(write_task(trees, TASK))
    shards = stage(task, tmp_path, lambda s: None)
    events = read_events(shards[0])
    expected = uproot.open(trees / "sig/events.root")["Events"]["genWeight"].array(library="np")
    np.testing.assert_array_equal(events.weight.to_numpy(), expected)
    assert set(events.process.to_list()) == {"sig"}


def test_signal_background_paths_name_both_sides(trees):
    task = task_from_paths([str(trees / "sig")], [str(trees / "bkg")])
    assert task.task.signal == ("signal",) and task.task.background == ("background",)
    with pytest.raises(CatalogError, match="in sample 'signal' and in sample 'background'"):
        task_from_paths([str(trees / "sig")], [str(trees)])


def test_finetune_from_a_task_file_end_to_end(trees, tmp_path, monkeypatch):
    monkeypatch.setenv("EVENTGNN_CACHE", str(tmp_path / "cache"))
    path = write_task(trees, TASK)
    run = tmp_path / "run"
    args = ["finetune", "--task", str(path), "--epochs", "2", "--out", str(run), *TINY]
    assert main(args) == 0
    ckpt = torch.load(run / "model.pt", weights_only=True)
    assert ckpt["task"]["processes"] == ["sig", "bkg_nano", "bkg_delphes"]
    assert ckpt["task_file"]["background"][1]["scale"] == 0.5
    assert ckpt["provenance"]["scales"] == {"bkg_delphes": 0.5}
    assert ckpt["provenance"]["class_counts"] == {"0": 320, "1": 240}
    # the stored data rebuilds the same test split
    assert main(["evaluate", "--model", str(run), "--out", str(tmp_path / "ev")]) == 0
    test = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert test["n_events"] == ckpt["provenance"]["split_sizes"]["test"]
    assert (tmp_path / "ev" / "plots" / "scores_by_process.png").is_file()  # three processes


def test_finetune_from_signal_and_background_paths(trees, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EVENTGNN_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    args = ["finetune", "--signal", str(trees / "sig"), "--background", str(trees / "bkg"),
            "--from", "scratch", "--epochs", "1", *TINY]  # fmt: skip
    assert main(args) == 0
    assert (
        "signal signal (240 events), background background (320 events)" in capsys.readouterr().out
    )
    assert (tmp_path / "runs" / "finetune-signal_vs_background-scratch-seed0" / "model.pt").exists()
    assert main(["finetune", "--signal", str(trees / "sig"), "--epochs", "1"]) == 1


def test_a_copy_or_a_hard_link_on_both_sides_is_refused(trees, tmp_path):
    """The same events as signal and background, through another path: refused by content."""
    (tmp_path / "copy").mkdir()
    shutil.copy(trees / "sig" / "events.root", tmp_path / "copy" / "other.root")
    os.link(trees / "sig" / "events.root", tmp_path / "link.root")
    for other, how in ((tmp_path / "copy", "copies"), (tmp_path / "link.root", "a hard link")):
        with pytest.raises(CatalogError, match=f"sample 'background'\\) are .*{how}"):
            task_from_paths([str(trees / "sig")], [str(other)])
    # files of equal size and other content are different files
    a, b = tmp_path / "a.root", tmp_path / "b.root"
    a.write_bytes(b"x" * 100)
    b.write_bytes(b"x" * 99 + b"y")
    task_from_paths([str(a)], [str(b)])


def test_existing_paths_win_over_globs(trees, tmp_path):
    """``sig[1].root`` is that file, not ``sig1.root``; a task file in a folder ``br[v2]/``
    finds its relative patterns; a pattern still globs."""
    folder = tmp_path / "br[v2]"
    (folder / "sig").mkdir(parents=True)
    random_nanoaod(folder / "sig[1].root", 20, 5, signal=True)
    random_nanoaod(folder / "sig1.root", 30, 6, signal=True)
    shutil.copy(trees / "sig" / "events.root", folder / "sig" / "a.root")
    task = {"name": "lit", "signal": [{"files": ["sig[1].root"], "process": "one"}],
            "background": [{"files": ["sig/*.root"], "process": "many"}]}  # fmt: skip
    loaded = load_task_file(write_task(folder, task))
    assert sample_files(loaded.signal[0], "x") == [folder / "sig[1].root"]
    assert sample_files(loaded.background[0], "x") == [folder / "sig" / "a.root"]
    assert expand((str(folder / "sig*.root"),), "x") == [
        str(folder / n) for n in ("sig1.root", "sig[1].root")
    ]


def test_anything_but_a_regular_file_is_refused(trees, tmp_path):
    """A FIFO named like a ROOT file would block the reader for ever."""
    (tmp_path / "s").mkdir()
    shutil.copy(trees / "sig" / "events.root", tmp_path / "s" / "a.root")
    os.mkfifo(tmp_path / "s" / "x.root")
    for given in (tmp_path / "s", tmp_path / "s" / "x.root"):
        with pytest.raises(CatalogError, match=r"x.root \(sample 'signal'\) is not a regular"):
            task_from_paths([str(given)], [str(trees / "bkg")])


def test_upper_case_suffix_and_unsafe_names(trees, tmp_path):
    path = trees / "Upper.YAML"
    path.write_text(yaml.safe_dump(TASK))
    assert is_task_file(str(path)) and is_task_file("a.Yml")
    assert resolve_task(str(path)).name == "ana"
    unnamed = {k: v for k, v in TASK.items() if k != "name"}
    path = tmp_path / "é.yaml"
    path.write_text(yaml.safe_dump(unnamed))
    with pytest.raises(CatalogError, match="no field 'name', so the name is the file's stem: task "
                       "name 'é' .*ASCII letters only.*give the task a 'name:'"):  # fmt: skip
        load_task_file(path)


def test_cache_folders_are_keyed_by_what_is_staged(trees, tmp_path, monkeypatch):
    """Two --signal/--background analyses get two cache folders: the second does not remove the
    first's shards; the same analysis finds its folder again."""
    monkeypatch.setenv("EVENTGNN_CACHE", str(tmp_path / "cache"))
    first = task_from_paths([str(trees / "sig")], [str(trees / "bkg" / "events.root")])
    second = task_from_paths([str(trees / "sig")], [str(trees / "bkg" / "delphes.root")])
    assert first.name == second.name and first.cache_name() != second.cache_name()
    shards = task_file_data(first, None, lambda s: None)
    task_file_data(second, None, lambda s: None)
    assert all(os.path.exists(p) for p in shards)
    assert task_file_data(first, None, lambda s: None) == shards
    again = task_from_paths([str(trees / "sig")], [str(trees / "bkg" / "events.root")])
    assert again.cache_name() == first.cache_name()
    scaled = load_task_file(write_task(trees, TASK))
    bkg = TASK["background"]
    rescaled = {**TASK, "background": [bkg[0], {**bkg[1], "scale": 2}]}
    assert load_task_file(write_task(trees, rescaled)).cache_name() == scaled.cache_name()


def test_a_current_cache_is_shared_and_a_conversion_waited_for(trees, tmp_path, monkeypatch):
    """Two finetunes of one task at once: one that finds the cache current converts nothing and
    needs only a shared lock; one that finds it being converted waits, saying for whom."""
    task = load_task_file(write_task(trees, TASK))
    folder = tmp_path / "cache"
    shards = stage(task, folder, lambda s: None)

    def no_convert(*args, **kwargs):
        raise AssertionError("converted a current cache")

    monkeypatch.setattr(taskfile, "convert", no_convert)
    other = os.open(folder / LOCK_NAME, os.O_RDWR)
    try:
        fcntl.flock(other, fcntl.LOCK_SH)  # another finetune checking the cache
        assert stage(task, folder, lambda s: None) == shards
        fcntl.flock(other, fcntl.LOCK_EX)  # another finetune converting
        os.pwrite(other, b"pid 12345 on host h, converting its samples\n", 0)
        threading.Timer(0.5, fcntl.flock, (other, fcntl.LOCK_UN)).start()
        logs = []
        assert stage(task, folder, logs.append) == shards
        assert logs == [f"task cache {folder}: waiting for pid 12345 on host h, converting its "
                        "samples to finish"]  # fmt: skip
    finally:
        os.close(other)
    # a job outside the task's finetunes (eventgnn convert --out into the cache) holds a sample's
    # folder while a conversion is needed: named, without advice about --out
    (folder / "sig" / shards[0].name).unlink()
    monkeypatch.undo()
    with provenance.lock(folder / "sig", "convert"):
        with pytest.raises(LockedError, match=r"sample 'sig': its cache folder is in use by a job "
                           r"outside this task's finetunes \(.*pid \d+.*\); wait for that job "
                           r"to end$"):  # fmt: skip
            stage(task, folder, lambda s: None)


def test_normalized_weights_sum_to_events_or_to_xsec_times_lumi(trees, tmp_path):
    """``normalize: events``: a sample's weights sum to its events (signs and ratios kept);
    ``normalize: xsec``: to xsec [pb] x 1000 x lumi [fb^-1]; ``weight: none``: unit weights."""
    import uproot

    task = load_task_file(write_task(trees, {
        "name": "norm",
        "signal": [{"files": ["sig/events.root"], "process": "sig", "normalize": "events",
                    "scale": 2.0}],
        "background": [
            {"files": ["bkg/events.root"], "process": "bkg_nano", "normalize": "xsec",
             "xsec": 0.5, "lumi": 138},
            {"files": ["bkg/delphes.root"], "process": "bkg_delphes", "weight": "none"},
        ],
    }))  # fmt: skip
    said = []
    inputs = task_file_data(task, None, said.append)
    factors = weight_factors(task, inputs, said.append)
    w_sig = uproot.open(trees / "sig/events.root")["Events"]["genWeight"].array(library="np")
    w_bkg = uproot.open(trees / "bkg/events.root")["Events"]["genWeight"].array(library="np")
    assert factors["sig"] == pytest.approx(2.0 * 240 / w_sig.astype(np.float64).sum(), rel=1e-6)
    assert factors["bkg_nano"] == pytest.approx(0.5 * 1000 * 138 / w_bkg.sum(), rel=1e-6)
    assert "bkg_delphes" not in factors
    assert any(line.startswith("sample bkg_nano: weights normalised to xsec x lumi = 0.5 pb x "
                               "138 fb^-1 = 69,000 events") for line in said)  # fmt: skip
    events = read_events(inputs)
    delphes = events[events.process == "bkg_delphes"]
    assert len(delphes) == 160 and set(delphes.weight.to_list()) == {1.0}


def test_normalizing_unit_weights_to_their_events_changes_nothing(trees, tmp_path):
    task = load_task_file(write_task(trees, {
        "name": "zero",
        "signal": [{"files": ["sig/events.root"], "process": "sig"}],
        "background": [{"files": ["bkg/delphes.root"], "process": "b", "weight": "none",
                        "scale": 1.0, "normalize": "events"}],
    }))  # fmt: skip
    inputs = task_file_data(task, None, lambda s: None)
    assert weight_factors(task, inputs, lambda s: None)["b"] == pytest.approx(1.0)
