"""Scoring a finished run: the errors a user meets, and where the results go."""

from __future__ import annotations

import json
import shutil

import pytest
from hand_events import random_events

from eventgnn._core.errors import DatasetError
from eventgnn.cli import error_line
from eventgnn.events.parquet import write_events
from eventgnn.train.checkpoint import load_checkpoint
from eventgnn.train.evaluate import evaluate_run, evaluation_graphs
from eventgnn.train.runs import pretrain

QUIET = lambda s: None  # noqa: E731


def test_model_path_given_as_the_file_writes_beside_it(pretrained_run, tmp_path):
    """Was: every event scored, then a failure to write ``RUN/model.pt/evaluate``."""
    metrics = evaluate_run(pretrained_run / "model.pt", log=QUIET)
    written = json.loads((pretrained_run / "evaluate" / "metrics.json").read_text())
    assert written["accuracy"] == metrics["accuracy"]


def test_multilabel_run_on_data_without_truth_is_an_error(tiny_cfg, tiny_data, tmp_path):
    """Was: "accuracy nan, loss 0.0000" and exit code 0."""
    run = pretrain(tiny_cfg(tiny_data, tmp_path / "ml", "train.epochs=1", task="multilabel"),
                   log=QUIET)  # fmt: skip
    no_truth = tmp_path / "no_truth"
    for k, p in enumerate(["wh", "zh", "tt"]):
        write_events(random_events(20, p, seed=k, targets=False), no_truth / f"{p}.parquet")
    with pytest.raises(DatasetError, match="no event has generator truth"):
        evaluate_run(run, data=no_truth, out=tmp_path / "e", log=QUIET)


def test_error_lines_are_cut_to_a_sane_length():
    line = error_line("convert", ValueError("/data/" + "x" * 100_000 + ".root: no such file"))
    assert len(line) < 1100
    assert line.startswith("eventgnn convert: error: /data/xxx") and line.endswith("no such file")
    assert "characters cut" in line


def test_a_run_whose_data_changed_since_training_is_not_scored_as_its_own(
    tiny_cfg, tiny_data, tmp_path
):
    """Was: after the data's files were rewritten (a task cache reconverted by a later
    finetune), ``evaluate`` rebuilt the run's test split from the new events and scored them as
    its own (other accuracy and AUC, exit 0)."""
    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    run = pretrain(tiny_cfg(data, tmp_path / "run", "train.epochs=1"), log=QUIET)
    evaluate_run(run, log=QUIET)  # unchanged data: scored
    write_events(random_events(60, "zh", seed=99, shift=40.0), data / "zh.parquet")
    stale = r"data .*changed since \(files fingerprint \w+ then, \w+ now: "
    named = r"written since the model: .*zh\.parquet\).*pass --data"
    with pytest.raises(DatasetError, match=stale + named):
        evaluate_run(run, log=QUIET)
    with pytest.raises(DatasetError, match=stale):
        evaluation_graphs(load_checkpoint(run))  # the same split, rebuilt for comparisons
    evaluate_run(run, data=data, out=tmp_path / "e", log=QUIET)  # other events: as asked
