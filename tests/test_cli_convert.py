"""``eventgnn convert`` end to end through the real entry point, in ``tmp_path``."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent / "events"))

from rootfiles import MAP, write_delphes, write_ntuple  # noqa: E402  (tests/events/rootfiles.py)
from test_delphes import (  # noqa: E402
    ELECTRONS,
    EXPECTED,
    JETS,
    MET,
    MUONS,
    PHOTONS,
    check_objects,  # noqa: E402
)

from eventgnn._core.errors import EmptyEventsWarning  # noqa: E402
from eventgnn.cli import main  # noqa: E402
from eventgnn.events.delphes import read_delphes  # noqa: E402
from eventgnn.events.parquet import read_shard  # noqa: E402


def _delphes(tmp_path, name="sig.root"):
    return write_delphes(
        tmp_path / name, jets=JETS, electrons=ELECTRONS, muons=MUONS, photons=PHOTONS, met=MET
    )


def test_convert_delphes(tmp_path, capsys):
    src = _delphes(tmp_path)
    out = tmp_path / "shards"
    assert main(["convert", str(src), "--out", str(out), "--process", "tth"]) == 0
    captured = capsys.readouterr()
    assert "wrote 1 shard(s)" in captured.out
    assert "convert" in captured.err  # the tqdm progress bar
    shards = sorted(out.glob("*.parquet"))
    assert len(shards) == 1
    events = read_shard(shards[0])
    check_objects(events, EXPECTED)
    assert set(events.process.to_list()) == {"tth"}
    assert events.objects.to_list() == read_delphes(src).objects.to_list()
    # a rerun with the same options skips the finished shard (another --process is refused:
    # tests/reliability/test_provenance_data.py); convert again from an existing Parquet input
    mtime = shards[0].stat().st_mtime_ns
    assert main(["convert", str(src), "--out", str(out), "--process", "tth"]) == 0
    assert shards[0].stat().st_mtime_ns == mtime
    assert main(["convert", str(shards[0]), "--out", str(tmp_path / "again")]) == 0
    again = read_shard(next((tmp_path / "again").glob("*.parquet")))
    for field in ("objects", "process", "label", "weight", "source"):
        assert again[field].to_list() == events[field].to_list()
    assert np.isnan(again.targets.to_numpy()).all()  # no Particle branch: NaN targets


def test_convert_folder_and_ntuple_with_branch_map(tmp_path):
    src = write_ntuple(tmp_path / "flat.root", with_met=False)
    bm = tmp_path / "map.yaml"
    bm.write_text(yaml.safe_dump({k: v for k, v in MAP.items() if k != "met"}))
    out = tmp_path / "out"
    with pytest.warns(EmptyEventsWarning, match="1 of 3 events"):
        rc = main(["convert", str(src), "--out", str(out), "--branch-map", str(bm)])
    assert rc == 0
    (shard,) = out.glob("*.parquet")
    assert len(read_shard(shard)) == 2


@pytest.mark.parametrize(
    ("make", "args", "message"),
    [
        (lambda p: p / "absent.root", [], "absent.root: no such file"),
        (lambda p: _delphes(p, "d.root"), ["--format", "nanoaod"], "d.root: no tree 'Events'"),
        (lambda p: _delphes(p, "d.root"), ["--branch-map", "x.yaml"], "option 'branch_map'"),
        (
            lambda p: (p / "junk.root").write_bytes(b"junk" * 100) and p / "junk.root",
            [],
            "junk.root: not a readable ROOT file",
        ),
        (
            lambda p: write_ntuple(p / "flat.root"),
            [],
            "flat.root: not a Delphes or NanoAOD file",
        ),
    ],
)
def test_bad_input_exits_nonzero_with_one_line(tmp_path, capsys, make, args, message):
    src = make(tmp_path)
    rc = main(["convert", str(src), "--out", str(tmp_path / "out"), *args])
    err = capsys.readouterr().err
    assert rc != 0
    lines = [line for line in err.splitlines() if line.startswith("eventgnn")]
    assert len(lines) == 1 and message in lines[0], err
    assert lines[0].startswith("eventgnn convert: error:")
    assert not list((tmp_path / "out").glob("*.parquet")) if (tmp_path / "out").exists() else True


def test_convert_names_the_other_shards_of_its_folder(tmp_path, capsys):
    """Converting into a folder that holds shards of other inputs says so (they are read as
    data with the new ones), and names those whose input file is gone."""
    a, b = _delphes(tmp_path, "a.root"), _delphes(tmp_path, "b.root")
    out = tmp_path / "shards"
    assert main(["convert", str(a), str(b), "--out", str(out)]) == 0
    assert "note" not in capsys.readouterr().out
    b.unlink()
    assert main(["convert", str(a), "--out", str(out)]) == 0
    note = capsys.readouterr().out.splitlines()[-1]
    assert note.startswith(f"note: {out} also holds 1 shard(s) of other inputs (b-")
    assert "the input of b-" in note and "no longer exists" in note
