"""docs/analysis.md runs as written: its task file, its commands (with a tiny model and one
epoch added to the training ones) and its Python example, on small files in its layouts."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import awkward as ak
import pytest
import uproot
from events.rootfiles import random_delphes, random_nanoaod
from hand_events import TINY

from eventgnn.cli import main

DOC = Path(__file__).resolve().parents[1] / "docs" / "analysis.md"


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(), flags=re.S)


@pytest.mark.slow  # ~13 s: the whole walkthrough of docs/analysis.md
def test_the_analysis_walkthrough_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EVENTGNN_CACHE", str(tmp_path / "cache"))
    for d in ("sig", "bkg"):
        (tmp_path / d).mkdir()
    random_nanoaod("sig/a.root", 120, 1, signal=True)
    random_nanoaod("sig/b.root", 120, 2, signal=True)
    random_nanoaod("bkg/nano.root", 160, 3, signal=False)
    random_delphes("bkg/delphes.root", 160, 4, signal=False)
    (tmp_path / "task.yaml").write_text(blocks("yaml")[0])

    commands = [line for b in blocks("bash") for line in b.splitlines() if line.strip()]
    assert commands[0].startswith("eventgnn finetune --task task.yaml")
    for line in commands:
        argv = shlex.split(line)[1:]
        if argv[0] == "finetune":
            argv += ["--epochs", "1", *TINY]
        assert main(argv) == 0, line

    scores = uproot.open("sig_a_scores.root")["eventgnn"].arrays(library="np")
    assert len(scores["entry"]) == 120 and set(scores) >= {"run", "luminosityBlock", "event"}
    assert len(ak.from_parquet("all.parquet")) == 120 + 160 + 160
    scored = uproot.open("nano_scored.root")["Events"]
    assert scored.num_entries == 160 and {"nJet", "Jet_pt", "eventgnn_score"} <= set(scored.keys())
    assert Path("mine.onnx").is_file()
    kfold = ak.from_parquet("kfold_scores.parquet")
    assert len(kfold) == 120 + 160 and set(kfold.fold.to_list()) == {0, 1, 2}

    # the Python example, which finetunes the shipped model
    python = [b for b in blocks("python") if "import ROOT" not in b]
    assert len(python) == 1
    exec(compile(python[0].replace("epochs=20", "epochs=1"), str(DOC), "exec"), {})
    assert Path("my_model.pt").is_file()
