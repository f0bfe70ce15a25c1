"""Task files: parsing and its refusals, staging (reuse, re-conversion, removal), weights and
scales, and a finetune from a task file and from --signal/--background on real file layouts."""

from __future__ import annotations

import json
import os

import awkward as ak
import numpy as np
import pytest
import torch
import yaml
from events.rootfiles import MAP, random_delphes, random_nanoaod, write_ntuple
from hand_events import TINY

from eventgnn import read_events
from eventgnn._core.errors import CatalogError
from eventgnn.catalog.taskfile import load_task_file, stage, task_from_paths
from eventgnn.cli import main
from eventgnn.events.schema import ObjectType


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
