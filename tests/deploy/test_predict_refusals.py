"""``eventgnn predict`` refuses what it cannot do right, before scoring anything, with one line
naming the file and what was expected; and it never leaves a half-written output behind."""

from __future__ import annotations

import os
import shutil
import signal

import awkward as ak
import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
import uproot
from events.rootfiles import random_objects, write_nanoaod, write_ntuple
from hand_events import random_events

from eventgnn.cli import main
from eventgnn.events.parquet import write_events
from eventgnn.events.schema import N_TARGETS

SCORED = "with selected objects"
"""What predict logs for each input it scored."""


def run_predict(run, inputs, out, *args) -> list[str]:
    return ["predict", "--model", str(run), *map(str, inputs), "--out", str(out), *args]


def test_a_chunk_size_below_one_is_refused(trained, tmp_path, capsys):
    root, run = trained
    out = tmp_path / "s.parquet"
    assert main(run_predict(run, [root / "sig.root"], out, "--chunk-size", "-1")) == 1
    err = capsys.readouterr().err
    assert "--chunk-size -1: expected a number of entries of at least 1" in err
    assert not out.exists()
    # 0: each file at once, the same scores as in chunks
    assert main(run_predict(run, [root / "sig.root"], out, "--chunk-size", "0")) == 0
    whole = ak.from_parquet(out)
    assert main(run_predict(run, [root / "sig.root"], out, "--chunk-size", "33")) == 0
    chunked = ak.from_parquet(out)
    assert whole.selected.to_numpy().all()
    np.testing.assert_allclose(whole.score.to_numpy(), chunked.score.to_numpy(), rtol=1e-6)


def test_a_root_file_of_no_known_format_is_named(trained, tmp_path, capsys):
    _, run = trained
    flat = write_ntuple(tmp_path / "flat.root")
    assert main(run_predict(run, [flat], tmp_path / "s.parquet")) == 1
    err = capsys.readouterr().err
    assert f"{flat}: not a Delphes or NanoAOD file (looked for a tree 'Delphes', or a tree " in err
    assert "'Events' with a branch 'nJet'; the file holds mytree (" in err
    assert "needs a branch map (--branch-map YAML)" in err


def test_options_are_checked_for_every_input_before_scoring(trained, tmp_path, capsys):
    """NanoAOD first, Delphes second: the b-tag threshold does not apply to the Delphes file,
    which is said before the NanoAOD file is scored."""
    root, run = trained
    inputs = [root / "sig.root", root / "bkg.root"]
    out = tmp_path / "s.parquet"
    assert main(run_predict(run, inputs, out, "--btag-threshold", "0.5")) == 1
    captured = capsys.readouterr()
    assert f"{inputs[1]}: option 'btag_threshold' does not apply to delphes files" in captured.err
    assert SCORED not in captured.out
    assert not out.exists()


def _with_extra(path, extra: dict):
    return write_nanoaod(path, **random_objects(20, 3, True), extra=extra)


def test_kept_columns_are_checked_before_scoring(trained, tmp_path, capsys):
    """A kept branch holding a number per entry in one input and a list in another cannot be
    one column: refused before scoring (it failed in the writer, after scoring everything)."""
    _, run = trained
    flat = _with_extra(tmp_path / "flat.root", {"x": np.arange(20, dtype=np.float32)})
    jag = _with_extra(tmp_path / "jag.root", {"x": ak.unflatten(np.ones(20, np.float32), 1)})
    assert main(run_predict(run, [flat, jag], tmp_path / "s.parquet", "--keep", "x")) == 1
    captured = capsys.readouterr()
    assert (
        f"--keep x: {flat} holds a number per entry, {jag} a list of numbers; an output column "
        "holds one kind of value"
    ) in captured.err
    assert SCORED not in captured.out


def test_a_kept_column_never_replaces_the_file_column(trained, tmp_path, capsys):
    """With several inputs the output has a ``file`` column: a kept branch ``file`` silently
    replaced it (every row named the first input)."""
    _, run = trained
    inputs = [
        _with_extra(tmp_path / f"{k}.root", {"file": np.zeros(20, np.int32)}) for k in range(2)
    ]
    assert main(run_predict(run, inputs, tmp_path / "s.parquet", "--keep", "file")) == 1
    captured = capsys.readouterr()
    assert "--keep file: the output already has a column 'file'" in captured.err
    assert SCORED not in captured.out


def test_a_second_predict_into_the_same_file_is_refused(trained, tmp_path, capsys):
    from eventgnn.deploy.predict import output_lock

    root, run = trained
    out = tmp_path / "s.root"
    with output_lock(out):  # another predict writing it
        assert main(run_predict(run, [root / "sig.root"], out)) == 1
    err = capsys.readouterr().err
    assert f"{out}: another predict is writing this file (pid {os.getpid()} on host" in err
    assert not out.exists()
    assert main(run_predict(run, [root / "sig.root"], out)) == 0  # the lock ends with its holder


def _temporaries(folder):
    return sorted(p.name for p in folder.glob(".*.tmp"))


def test_sigterm_while_writing_leaves_no_temporary(trained, tmp_path, monkeypatch, capsys):
    """SIGTERM (a batch system's kill) while the output is written: exit as on Ctrl-C, with the
    temporary removed and no output; a temporary a SIGKILL left is removed by the next predict."""
    root, run = trained
    out = tmp_path / "s.parquet"
    write_table = pq.write_table

    def killed(table, where, **kwargs):
        write_table(table, where, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)

    terms = []
    previous = signal.signal(signal.SIGTERM, lambda *_: terms.append(1))  # never end pytest
    monkeypatch.setattr(pq, "write_table", killed)
    try:
        assert main(run_predict(run, [root / "sig.root"], out)) == 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert "interrupted" in capsys.readouterr().err
    assert not terms  # predict's own handler took it
    assert _temporaries(tmp_path) == [] and not out.exists()
    monkeypatch.undo()
    (tmp_path / ".s.parquet.0badc0de.tmp").write_bytes(b"left by kill -9")
    assert main(run_predict(run, [root / "sig.root"], out)) == 0
    assert _temporaries(tmp_path) == [] and out.exists()


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_a_model_with_non_finite_weights_is_refused(trained, tmp_path, capsys, value):
    _, run = trained
    bad = tmp_path / "bad"
    shutil.copytree(run, bad)
    ckpt = torch.load(bad / "model.pt", weights_only=True)
    name = [k for k, v in ckpt["state_dict"].items() if v.is_floating_point()][-1]
    ckpt["state_dict"][name].view(-1)[0] = value
    torch.save(ckpt, bad / "model.pt")
    out = tmp_path / "s.parquet"
    assert main(run_predict(bad, [run.parent / "sig.root"], out)) == 1
    err = capsys.readouterr().err
    assert f"{bad / 'model.pt'}: weight '{name}' holds 1 non-finite values (NaN or inf)" in err
    assert not out.exists()


def test_kept_fields_of_a_parquet_input_hold_numbers_strings_or_lists(trained, tmp_path, capsys):
    """From a Parquet shard: a string field and a fixed-size list are kept (the list as a
    jagged branch in the TTree); the event record ``objects`` (records) is refused before
    scoring, whatever the output."""
    _, run = trained
    shard = tmp_path / "ev.parquet"
    write_events(random_events(25, "mine", seed=4), shard)
    out = tmp_path / "s.root"
    assert main(run_predict(run, [shard], out, "--keep", "process,targets")) == 0
    cols = uproot.open(out)["eventgnn"].arrays()
    assert cols["process"].to_list() == ["mine"] * 25
    assert ak.num(cols["targets"]).to_list() == [N_TARGETS] * 25
    capsys.readouterr()
    assert main(run_predict(run, [shard], tmp_path / "s.parquet", "--keep", "objects")) == 1
    captured = capsys.readouterr()
    assert f"{shard}: --keep objects: holds var * {{pt: float32" in captured.err
    assert "per entry; expected a number, a string or a list of numbers" in captured.err
    assert SCORED not in captured.out
