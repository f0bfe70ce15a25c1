"""Nothing silently lost, duplicated or stale on the data side (issue 13): shards named and
recorded by what made them, one writer per output folder, dataset folders read exactly once,
event values checked at the edges, errors that name the cause. Each test failed on the code
before this change (docs/reliability.md lists them with what a user gets).
"""

from __future__ import annotations

import errno
import gzip
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
from rel_helpers import cli, error_of, random_events
from rootfiles import write_delphes, write_nanoaod

from eventgnn.events.io import read_events
from eventgnn.events.parquet import read_shard, write_events

LHE_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "lhe"
WBJ, JJ = LHE_DIR / "madgraph-2.0.0-wbj.lhe", LHE_DIR / "madgraph5-3.5.8-pp_to_jj.lhe.gz"
needs_lhe = pytest.mark.skipif(
    not (WBJ.is_file() and JJ.is_file()), reason=f"no MadGraph LHE files in {LHE_DIR}"
)


def delphes(path: Path, n: int = 4, pt: float = 40.0, phi: float = 0.5) -> Path:
    """A small Delphes-layout file: ``n`` events, one jet of ``pt`` each, and MET."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_delphes(
        path,
        jets=[[(pt + k, 0.5, phi, 0)] for k in range(n)],
        electrons=[[]] * n, muons=[[]] * n, photons=[[]] * n,
        met=[(10.0 + k, 0.1) for k in range(n)],
    )  # fmt: skip


def shards(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.parquet"))


# --- 1. provenance-keyed shards: convert --------------------------------------------------------


def test_two_inputs_of_one_name_into_one_out_are_both_converted(tmp_path, capsys):
    a = delphes(tmp_path / "a" / "events.root", n=3)
    b = delphes(tmp_path / "b" / "events.root", n=5, pt=60.0)
    out = tmp_path / "D"
    assert cli(["convert", a, "--out", out, "--process", "bkg"], capsys)[0] == 0
    assert cli(["convert", b, "--out", out, "--process", "sig"], capsys)[0] == 0
    assert len(shards(out)) == 2
    events = read_events(out)
    assert sorted(events.process.to_list()) == ["bkg"] * 3 + ["sig"] * 5


def test_adding_a_file_to_a_converted_folder_duplicates_nothing(tmp_path, capsys):
    data, out = tmp_path / "data", tmp_path / "out"
    delphes(data / "x.root", n=4)
    delphes(data / "z.root", n=6)
    assert cli(["convert", data, "--out", out], capsys)[0] == 0
    before = {p.name: p.stat().st_mtime_ns for p in shards(out)}
    delphes(data / "y.root", n=5)  # sorts between the two: positions shift
    assert cli(["convert", data, "--out", out], capsys)[0] == 0
    assert len(read_events(out)) == 15
    after = {p.name: p.stat().st_mtime_ns for p in shards(out)}
    assert len(after) == 3 and all(after[k] == v for k, v in before.items())


def test_converting_a_folder_into_its_own_subfolder_reads_no_output(tmp_path, capsys):
    data = tmp_path / "data"
    delphes(data / "x.root", n=50)
    for _ in range(3):
        assert cli(["convert", data, "--out", data / "shards"], capsys)[0] == 0
    assert len(read_events(data / "shards")) == 50


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (["--process", "sig"], "reader_options.process: 'bkg' -> 'sig'"),
        (["--process", "bkg", "--chunk-size", "2"], "cut into other chunks"),
    ],
)
def test_rerun_with_other_options_is_refused_then_overwritten(change, message, tmp_path, capsys):
    src = delphes(tmp_path / "x.root", n=4)
    out = tmp_path / "out"
    assert cli(["convert", src, "--out", out, "--process", "bkg"], capsys)[0] == 0
    line = error_of(["convert", src, "--out", out, *change], capsys)
    assert message in line and "--overwrite" in line
    assert cli(["convert", src, "--out", out, *change, "--overwrite"], capsys)[0] == 0
    assert len(read_events(out)) == 4  # remade, not added
    assert cli(["convert", src, "--out", out, *change], capsys)[0] == 0  # now it matches


def test_whole_file_after_chunks_is_refused(tmp_path, capsys):
    src = delphes(tmp_path / "x.root", n=5)
    out = tmp_path / "out"
    assert cli(["convert", src, "--out", out, "--chunk-size", "2"], capsys)[0] == 0
    assert len(shards(out)) == 3
    line = error_of(["convert", src, "--out", out], capsys)
    assert "cut into other chunks" in line and "and 2 more" in line
    assert cli(["convert", src, "--out", out, "--overwrite"], capsys)[0] == 0
    assert len(shards(out)) == 1 and len(read_events(out)) == 5


def test_changed_input_file_is_refused(tmp_path, capsys):
    src = delphes(tmp_path / "x.root", n=4)
    out = tmp_path / "out"
    assert cli(["convert", src, "--out", out], capsys)[0] == 0
    delphes(src, n=7)  # the file rewritten: other size and modification time
    line = error_of(["convert", src, "--out", out], capsys)
    assert "input.size" in line and "--overwrite" in line
    assert cli(["convert", src, "--out", out, "--overwrite"], capsys)[0] == 0
    assert len(read_events(out)) == 7


def test_shard_records_hold_the_reader_options(tmp_path, capsys):
    import json

    src = write_nanoaod(
        tmp_path / "nano.root", jets=[[(40.0, 0.1, 0.2, 0.9)]], electrons=[[]], muons=[[]],
        photons=[[]], met=[(20.0, 0.3)],
    )  # fmt: skip
    out = tmp_path / "out"
    assert cli(["convert", src, "--out", out, "--btag-threshold", "0.5"], capsys)[0] == 0
    (record,) = out.glob("*.record.json")
    rec = json.loads(record.read_text())
    assert rec["reader_options"] == {
        "btag_branch": "Jet_btagDeepFlavB", "btag_threshold": 0.5, "process": "nano"
    }  # fmt: skip
    assert rec["format"] == "nanoaod" and rec["input"]["path"] == str(src.resolve())


# --- 1. provenance-keyed shards: generate -------------------------------------------------------


@needs_lhe
def test_lhe_files_of_one_name_are_never_mixed_up(tmp_path, capsys):
    a, b = tmp_path / "A" / "unweighted_events.lhe.gz", tmp_path / "B" / "unweighted_events.lhe.gz"
    a.parent.mkdir()
    b.parent.mkdir()
    a.write_bytes(gzip.compress(WBJ.read_bytes()))
    shutil.copy(JJ, b)
    out = tmp_path / "out"
    common = ["--process", "sig", "--no-mpi", "--out", out]
    code, said, _ = cli(["generate", "--lhe", a, "--events", "4", *common], capsys)
    assert code == 0 and "did not make" not in said
    (first,) = (out / "sig").glob("*.parquet")
    code, said, _ = cli(["generate", "--lhe", b, "--events", "4", *common], capsys)
    found = sorted((out / "sig").glob("*.parquet"))
    assert len(found) == 2  # one shard per file, not the first file's shard twice
    # the second file's shard joins the first one's in the dataset, and the command says so
    assert code == 0 and f"also holds 1 shard(s) this command did not make (first: {first})" in said
    events = read_events(out)
    assert len({s.rsplit(":", 1)[0] for s in events.source.to_list()}) == 2
    line = error_of(["generate", "--lhe", a, "--events", "6", *common], capsys)
    assert "events: 4 -> 6" in line and "--overwrite" in line
    assert cli(["generate", "--lhe", a, "--events", "6", *common, "--overwrite"], capsys)[0] == 0
    assert len(read_events(out)) <= 10 and len(sorted((out / "sig").glob("*.parquet"))) == 2


def test_generate_rerun_with_other_settings_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    base = ["generate", "--process", "ggf_h", "--events", "3", "--out", out]
    assert cli([*base, "--no-mpi"], capsys)[0] == 0
    line = error_of(base, capsys)  # multiparton interactions on: other events
    assert "mpi: false -> true" in line and "--overwrite" in line
    line = error_of(["generate", "--process", "ggf_h", "--events", "5", "--no-mpi", "--out", out],
                    capsys)  # fmt: skip
    assert "ggf_h_seed1_n3.parquet holds the same events" in line
    assert cli([*base, "--no-mpi"], capsys)[0] == 0  # unchanged request: reused


# --- 2. one writer per output -------------------------------------------------------------------


@pytest.mark.parametrize("command", ["convert", "generate"])
def test_a_second_writer_fails_at_once_naming_the_holder(command, tmp_path, capsys):
    from eventgnn._core.provenance import lock

    src = delphes(tmp_path / "x.root")
    out = tmp_path / "out"
    argv = (
        ["convert", src, "--out", out]
        if command == "convert"
        else ["generate", "--process", "ggf_h", "--events", "2", "--no-mpi", "--out", out]
    )
    with lock(out, "test job"):
        line = error_of(argv, capsys)
    assert f"pid {os.getpid()}" in line and "--out" in line
    assert not shards(out) and not list(out.rglob("*.parquet"))


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def _maps(pid: int, library: bytes) -> bool:
    """Has process ``pid`` loaded ``library``?"""
    try:
        return library in Path(f"/proc/{pid}/maps").read_bytes()
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _kill_parent_then_check_workers(args: list[str], library: bytes) -> None:
    """Start ``eventgnn ARGS`` with two workers (child processes that load ``library``), kill
    the parent with SIGKILL once both run, and assert the workers end. A worker is seen as soon
    as it maps ``library``, which can be before its pool initializer (``die_with_parent``) has
    run: a worker killed mid-import ends when it gets there, which takes seconds on an idle
    machine and took over 10 on a loaded one; so the wait is long (120 s), and still far
    shorter than the work the workers were given (which never ends, or writes a shard)."""
    code = f"import sys; from eventgnn.cli import main; sys.exit(main({args!r}))"
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.DEVNULL)
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 300  # spawned workers import eventgnn (and Pythia) first
        while len(workers) < 2:  # two workers, not the resource tracker
            assert proc.poll() is None and time.monotonic() < deadline, "no workers started"
            workers = {c for c in _children(proc.pid) if _maps(c, library)}
            time.sleep(0.2)
        time.sleep(1)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    deadline = time.monotonic() + 120
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    alive = [w for w in workers if _alive(w)]
    for w in alive:
        os.kill(w, signal.SIGKILL)
    assert not alive, "workers outlived their killed parent"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_generate_workers_die_with_their_parent(tmp_path):
    """kill -9 of ``generate --jobs 2``: its workers end and write nothing more
    (before: they finished their shards, writing into a folder nobody held)."""
    out = tmp_path / "out"
    args = ["generate", "--process", "wh", "--events", "8000", "--shard-events", "4000",
            "--no-mpi", "--jobs", "2", "--out", str(out)]  # fmt: skip
    _kill_parent_then_check_workers(args, b"pythia8")
    time.sleep(2)
    assert not list(out.rglob("*.parquet"))  # 4000-event shards: none finished before the kill


@pytest.mark.slow  # ~35 s: a scan in a subprocess, killed mid-run
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_scan_workers_die_with_their_parent(tmp_path):
    """kill -9 of ``scan --jobs 2``: its training workers end (before: they went
    on training into a scan folder whose lock was gone)."""
    data = tmp_path / "data"
    events = ak.concatenate([random_events(400, "wh", seed=1), random_events(400, "zh", seed=2)])
    write_events(events, data / "x.parquet")
    args = ["scan", "--task", "wh_vs_zh", "--sizes", "100", "--seeds", "2", "--setups",
            "scratch", "--data", str(data), "--epochs", "100000", "--jobs", "2",
            "--out", str(tmp_path / "scan"), "train.patience=100000", "train.plots=false",
            "train.num_threads=1"]  # fmt: skip
    _kill_parent_then_check_workers(args, b"libtorch")


# --- 3. dataset folders read exactly once ------------------------------------------------------


def test_symlinked_subfolder_is_read_once_and_a_loop_is_harmless(tmp_path):
    real = tmp_path / "elsewhere"
    write_events(random_events(7, "pa", seed=1), real / "a.parquet")
    data = tmp_path / "data"
    write_events(random_events(5, "pb", seed=2), data / "b.parquet")
    (data / "linked").symlink_to(real, target_is_directory=True)
    (real / "loop").symlink_to(data, target_is_directory=True)  # data -> real -> data
    assert len(read_events(data)) == 12
    assert len(read_events([data, real / "a.parquet"])) == 12  # a file reached twice: once


def test_parquet_dataset_folder_is_read_as_one_dataset(tmp_path):
    data = tmp_path / "data"
    ds = data / "x.parquet"  # the pyarrow/Spark layout: a folder of part files
    write_events(random_events(4, "pa", seed=1), ds / "part-0.parquet")
    write_events(random_events(6, "pa", seed=2), ds / "part-1.parquet")
    (ds / "_SUCCESS").write_text("")
    write_events(random_events(3, "pb", seed=3), data / "y.parquet")
    assert len(read_events(data)) == 13
    assert len(read_events(ds)) == 10


def test_a_copied_shard_is_refused(tmp_path, capsys):
    src = delphes(tmp_path / "x.root", n=5)
    out = tmp_path / "out"
    assert cli(["convert", src, "--out", out], capsys)[0] == 0
    (shard,) = shards(out)
    shutil.copy(shard, out / "copy.parquet")
    with pytest.raises(ValueError, match="duplicate events: .* both hold the event"):
        read_events(out)
    from eventgnn.events.io import iter_event_chunks

    with pytest.raises(ValueError, match="duplicate events"):
        list(iter_event_chunks(out, 2))


def test_a_generated_shard_copied_is_refused(tmp_path, capsys):
    out = tmp_path / "gen"
    assert cli(["generate", "--process", "ggf_h", "--events", "3", "--no-mpi", "--out", out],
               capsys)[0] == 0  # fmt: skip
    (shard,) = (out / "ggf_h").glob("*.parquet")
    shutil.copy(shard, out / "copy.parquet")
    with pytest.raises(ValueError, match="duplicate events"):
        read_events(out)


def test_a_root_file_beside_its_shards_is_refused(tmp_path, capsys):
    data = tmp_path / "data"
    delphes(data / "x.root", n=5)
    assert cli(["convert", data / "x.root", "--out", data / "shards"], capsys)[0] == 0
    with pytest.raises(ValueError, match=r"x\.root and .*converted from it.* are both inputs"):
        read_events(data)


# --- 4. event values checked at the edges -------------------------------------------------------


def _shard_with(tmp_path, field: str, value, entry: int = 2) -> Path:
    events = random_events(5, "pa", seed=1)
    obj = events.objects
    flat = ak.to_numpy(ak.flatten(obj[field])).copy()
    start = int(ak.sum(ak.num(obj, axis=1)[:entry]))
    flat[start] = value
    new = ak.unflatten(flat, ak.num(obj, axis=1))
    path = tmp_path / "bad.parquet"
    ak.to_parquet(ak.with_field(events, ak.with_field(obj, new, field), "objects"), path)
    return path


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("pt", -5.0, "field 'objects.pt': value -5 in entry 2 (1 in all); expected pT >= 0"),
        ("eta", 1e30, "field 'objects.eta': value 1e+30 in entry 2"),
        ("phi", 7.0, "field 'objects.phi': value 7 in entry 2 (1 in all); expected phi in"),
        ("kind", 99, "field 'objects.kind': value 99 in entry 2"),
    ],
)
def test_unphysical_values_in_a_shard_are_refused(field, value, message, tmp_path, capsys):
    path = _shard_with(tmp_path, field, value)
    line = error_of(["convert", path, "--out", tmp_path / "out"], capsys)
    assert f"bad.parquet: {message}" in line
    with pytest.raises(ValueError, match="bad.parquet"):
        read_events(path)


def test_met_with_an_eta_is_refused(tmp_path):
    path = _shard_with(tmp_path, "kind", 4)  # an object with eta != 0 marked as MET
    with pytest.raises(
        ValueError, match="field 'objects.eta': value .* in entry 2 .*eta = 0 for MET"
    ):
        read_events(path)


def test_too_many_objects_in_an_event_names_file_event_and_limit(tmp_path, monkeypatch, capsys):
    path = write_events(random_events(6, "pa", seed=1), tmp_path / "many.parquet")
    n = ak.to_numpy(ak.num(read_shard(path).objects, axis=1))
    monkeypatch.setenv("EVENTGNN_MAX_OBJECTS", str(int(n.max()) - 1))
    entry = int(np.argmax(n))
    line = error_of(["convert", path, "--out", tmp_path / "out"], capsys)
    assert f"many.parquet: field 'objects': entry {entry} has {n.max()} objects" in line
    assert "EVENTGNN_MAX_OBJECTS" in line


def test_input_file_size_is_bounded(tmp_path, monkeypatch, capsys):
    src = delphes(tmp_path / "x.root")
    monkeypatch.setenv("EVENTGNN_MAX_FILE_GB", "1e-6")
    line = error_of(["convert", src, "--out", tmp_path / "out"], capsys)
    assert "x.root:" in line and "EVENTGNN_MAX_FILE_GB" in line


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(pt=-40.0), "branch 'Jet.PT' (Delphes jet pT) holds -40 in entry 0"),
        (dict(phi=7.0), "branch 'Jet.Phi' (Delphes jet phi) holds 7 in entry 0"),
    ],
)
def test_unphysical_root_branches_are_refused(kwargs, message, tmp_path, capsys):
    src = delphes(tmp_path / "x.root", n=3, **kwargs)
    line = error_of(["convert", src, "--out", tmp_path / "out"], capsys)
    assert message in line


def test_btag_discriminant_that_is_a_placeholder_everywhere_is_an_error(tmp_path, capsys):
    src = write_nanoaod(
        tmp_path / "od2015.root", jets=[[(40.0, 0.1, 0.2, -3000.0)], [(50.0, 0.3, 0.1, -3000.0)]],
        electrons=[[], []], muons=[[], []], photons=[[], []], met=[(20.0, 0.3), (10.0, 1.0)],
    )  # fmt: skip
    line = error_of(["convert", src, "--out", tmp_path / "out"], capsys)
    assert "b-tag branch 'Jet_btagDeepFlavB' holds no value in [0, 1]" in line
    assert "--btag-branch" in line


# --- 5. errors that name the cause --------------------------------------------------------------


def test_full_disk_is_named(tmp_path, monkeypatch, capsys):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ak, "to_parquet", full)
    out = tmp_path / "out"
    line = error_of(["convert", delphes(tmp_path / "x.root"), "--out", out], capsys)
    assert "disk full writing" in line and str(out) in line
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


@needs_lhe
def test_truncated_gzipped_lhe_is_found_before_any_generation(tmp_path, monkeypatch, capsys):
    import eventgnn.generate.pythia as pythia

    def no_pythia(*args, **kwargs):
        raise AssertionError("Pythia started on a truncated file")

    monkeypatch.setattr(pythia, "make_pythia", no_pythia)  # what ProcessRun starts
    data = JJ.read_bytes()
    cut = tmp_path / "cut.lhe.gz"
    cut.write_bytes(data[: len(data) // 2])
    line = error_of(["generate", "--lhe", cut, "--process", "x", "--events", "5",
                     "--out", tmp_path / "out"], capsys)  # fmt: skip
    assert f"LHE file {cut}: cannot read it to the end; truncated or corrupt?" in line


def test_folder_of_empty_shards_is_a_clear_error(tmp_path):
    for k in range(2):
        write_events(random_events(3, "pa", seed=k)[:0], tmp_path / "d" / f"s{k}.parquet")
    with pytest.raises(ValueError, match=r"d: no events in its 2 file\(s\)"):
        read_events(tmp_path / "d")


def test_long_names_are_cut_in_messages(tmp_path, capsys):
    name = "x" * 100_000
    line = error_of(["generate", "--process", name, "--out", tmp_path], capsys)
    assert len(line) < 500 and "100,002 characters" in line
    line = error_of(["convert", tmp_path / f"{name}.root", "--out", tmp_path / "o"], capsys)
    assert len(line) < 500


# --- 6. permissions and leftovers ---------------------------------------------------------------


def test_outputs_honour_the_umask(tmp_path, capsys):
    old = os.umask(0o022)
    try:
        assert (
            cli(["convert", delphes(tmp_path / "x.root"), "--out", tmp_path / "o"], capsys)[0] == 0
        )
    finally:
        os.umask(old)
    for p in (tmp_path / "o").iterdir():
        if not p.name.startswith("."):
            assert stat.S_IMODE(p.stat().st_mode) == 0o644, p.name


def test_failed_or_killed_convert_leaves_no_folder_or_temporary_file(tmp_path, capsys):
    bad = tmp_path / "bad.root"
    bad.write_bytes(b"junk" * 50)
    error_of(["convert", bad, "--out", tmp_path / "new"], capsys)
    assert not (tmp_path / "new").exists()
    out = tmp_path / "out"
    out.mkdir()
    (out / ".x-0123456789.parquet.1a2b3c4d.tmp").write_bytes(b"half a shard")  # killed writer
    assert cli(["convert", delphes(tmp_path / "x.root"), "--out", out], capsys)[0] == 0
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*.tmp"))


def test_a_model_keeps_the_reader_options_of_its_data(tmp_path, capsys):
    """The reader options that made the training shards travel in ``model.pt``'s provenance."""
    from rel_helpers import TINY

    from eventgnn.train.checkpoint import load_checkpoint

    for name, process in (("a", "sig"), ("b", "bkg")):
        src = delphes(tmp_path / name / "events.root", n=40, pt=40.0 + 30 * (process == "sig"))
        assert (
            cli(["convert", src, "--out", tmp_path / "data", "--process", process], capsys)[0] == 0
        )
    code, _, err = cli(["finetune", "--task", "sig_vs_bkg", "--data", tmp_path / "data",
                        "--epochs", "1", "--out", tmp_path / "run", *TINY], capsys)  # fmt: skip
    assert code == 0, err
    settings = load_checkpoint(tmp_path / "run")["provenance"]["reader_settings"]
    assert sorted(s["reader_options"]["process"] for s in settings) == ["bkg", "sig"]
    assert {s["format"] for s in settings} == {"delphes"}
