"""Bad input through the real command line: every case gives exit code 1 and one line on stderr
naming the file, the field and what was expected, with no traceback (``--debug`` shows it).

The table of cases and outcomes is in docs/reliability.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import torch
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rel_helpers import TINY, cli, error_of, random_events
from rootfiles import write_delphes, write_nanoaod

from eventgnn._core.errors import EmptyEventsWarning, SchemaError
from eventgnn.cli import main
from eventgnn.events.parquet import write_events
from eventgnn.events.schema import validate

# three events: jets (PT, Eta, Phi, BTag), leptons (PT, Eta, Phi, Charge), photons, MET
JETS = [[(60.0, 0.5, 0.1, 1), (40.0, -1.0, 2.0, 0)], [(30.0, 0.2, -2.0, 0)], [(80.0, 1.0, 1.0, 0)]]
ELECTRONS = [[(35.0, 0.1, 1.1, -1)], [], []]
MUONS = [[], [(20.0, -0.5, 2.5, 1)], []]
PHOTONS = [[], [], [(25.0, 0.3, 0.5)]]
MET = [(40.0, -1.5), (5.0, 0.3), (7.0, -3.0)]


def delphes(path: Path, **change) -> Path:
    kw = dict(jets=JETS, electrons=ELECTRONS, muons=MUONS, photons=PHOTONS, met=MET)
    kw.update(change)
    return write_delphes(path, **kw)


def nanoaod(path: Path, **change) -> Path:
    kw = dict(jets=JETS, electrons=ELECTRONS, muons=MUONS, photons=PHOTONS, met=MET)
    kw.update(change)
    return write_nanoaod(path, **kw)


def raw_parquet(events: ak.Array, path: Path) -> Path:
    """Write a shard without validation (what another tool, or a bug, might leave)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ak.to_parquet(events, path)
    return path


# ----------------------------------------------------------------------------- missing paths


@pytest.mark.parametrize(
    "argv",
    [
        ["convert", "{x}/nope.root", "--out", "{x}/out"],
        ["pretrain", "--data", "{x}/nope", "--out", "{x}/run", *TINY],
        ["finetune", "--task", "sig_vs_bkg", "--data", "{x}/nope", "--out", "{x}/run", *TINY],
        ["finetune", "--task", "sig_vs_bkg", "--from", "{x}/nope", "--data", "{down}", *TINY],
        ["evaluate", "--model", "{x}/nope"],
        ["info", "{x}/nope"],
        ["cka", "{x}/nope", "--vs", "{x}/nope"],
        ["pretrain", "--config", "{x}/nope.yaml", "--data", "{pre}"],
        [
            "convert",
            "{down}",
            "--out",
            "{x}/o",
            "--branch-map",
            "{x}/nope.yaml",
            "--format",
            "ntuple",
        ],
        ["generate", "--lhe", "{x}/nope.lhe", "--process", "wh", "--out", "{x}/gen"],
    ],  # fmt: skip
    ids=lambda a: a[0] + ":" + next(s for s in a if "nope" in s).split("/")[-1],
)
def test_missing_path_names_it(argv, tmp_path, datasets, capsys):
    argv = [a.format(x=tmp_path, down=datasets["down"], pre=datasets["pre"]) for a in argv]
    line = error_of(argv, capsys)
    assert "nope" in line


# ----------------------------------------------------------------------------- ROOT files


def test_truncated_root_file(tmp_path, capsys):
    src = delphes(tmp_path / "full.root")
    data = src.read_bytes()
    for frac in (0.1, 0.5, 0.9):
        cut = tmp_path / f"cut{int(frac * 100)}.root"
        cut.write_bytes(data[: int(len(data) * frac)])
        line = error_of(["convert", cut, "--out", tmp_path / "out"], capsys)
        assert str(cut) in line and ("not a readable ROOT file" in line or "corrupt" in line)


def test_not_a_root_file(tmp_path, capsys):
    fake = tmp_path / "fake.root"
    fake.write_text("this is not ROOT\n")
    line = error_of(["convert", fake, "--out", tmp_path / "out"], capsys)
    assert str(fake) in line and "not a readable ROOT file" in line
    other = tmp_path / "data.csv"
    other.write_text("a,b\n")
    line = error_of(["convert", other, "--out", tmp_path / "out"], capsys)
    assert "unknown file type" in line and ".parquet or .root" in line


@pytest.mark.parametrize("writer, branch", [(delphes, "Jet.PT"), (nanoaod, "Jet_pt")])
def test_missing_branch(writer, branch, tmp_path, capsys):
    src = writer(tmp_path / "f.root", drop=(branch.replace("_", "."),))
    fmt = "delphes" if writer is delphes else "nanoaod"
    line = error_of(["convert", src, "--out", tmp_path / "o", "--format", fmt], capsys)
    assert str(src) in line and f"'{branch}'" in line and "jet pT" in line


def test_wrong_multiplicity_of_a_per_event_branch(tmp_path, capsys):
    # MissingET must hold exactly one entry per event
    src = write_delphes(
        tmp_path / "f.root", jets=JETS, electrons=ELECTRONS, muons=MUONS, photons=PHOTONS,
        met=MET,
    )  # fmt: skip
    from rootfiles import F4, coll, write_tree

    data = {
        "Jet": coll(JETS, ["PT", "Eta", "Phi", "BTag"], [F4, F4, F4, np.uint32]),
        "Electron": coll(ELECTRONS, ["PT", "Eta", "Phi", "Charge"], [F4, F4, F4, np.int32]),
        "Muon": coll(MUONS, ["PT", "Eta", "Phi", "Charge"], [F4, F4, F4, np.int32]),
        "Photon": coll(PHOTONS, ["PT", "Eta", "Phi"], [F4, F4, F4]),
        "MissingET": coll([[m, m] for m in MET], ["MET", "Phi"], [F4, F4]),
    }
    write_tree(src, "Delphes", data, lambda o, i: f"{o}.{i}", lambda c: f"{c}_size")
    line = error_of(["convert", src, "--out", tmp_path / "o"], capsys)
    assert "'MissingET.MET'" in line and "entry 0" in line and "exactly one" in line


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize(
    "writer, change, branch",
    [
        (delphes, "jets", "Jet.PT"),
        (delphes, "photons", "Photon.Eta"),
        (delphes, "met", "MissingET.Phi"),
        (nanoaod, "electrons", "Electron_phi"),
        (nanoaod, "met", "MET_pt"),
    ],
)
def test_non_finite_kinematics_in_root_are_an_error(writer, change, branch, bad, tmp_path,
                                                    capsys):  # fmt: skip
    """NaN or inf in a kinematic branch: an error naming the branch and the entry, never a
    silent pass into graphs (NaN pT would also fail every cut and vanish silently)."""
    col = {"jets": JETS, "photons": PHOTONS, "met": MET, "electrons": ELECTRONS}[change]
    col = [list(map(list, ev)) if change != "met" else list(ev) for ev in col]
    if change == "jets":
        col[2][0][0] = bad  # entry 2, pT
    elif change == "photons":
        col[2][0][1] = bad  # entry 2, eta
    elif change == "electrons":
        col[0][0][2] = bad  # entry 0, phi
    elif branch == "MET_pt":
        col[1][0] = bad  # entry 1
    else:
        col[1][1] = bad
    entry = {"jets": 2, "photons": 2, "electrons": 0, "met": 1}[change]
    src = writer(tmp_path / "f.root", **{change: col})
    line = error_of(["convert", src, "--out", tmp_path / "o"], capsys)
    assert str(src) in line and f"'{branch}'" in line and f"entry {entry}" in line
    assert "finite" in line
    assert not list((tmp_path / "o").glob("*.parquet"))  # nothing half-written


def test_events_with_no_objects_are_a_counted_skip(tmp_path, capsys):
    """Events left with no selected object (possible only without MET) are excluded and counted
    in a warning on stderr; the command succeeds."""
    from events.rootfiles import MAP, write_ntuple

    path = write_ntuple(tmp_path / "nomet.root", with_met=False)
    bm = tmp_path / "map.yaml"
    bm.write_text(yaml.safe_dump({k: v for k, v in MAP.items() if k != "met"}))
    with pytest.warns(EmptyEventsWarning, match=r"nomet\.root: 1 of 3 events have no selected"):
        code = main(["convert", str(path), "--out", str(tmp_path / "o"), "--branch-map", str(bm)])
    assert code == 0
    (shard,) = (tmp_path / "o").glob("*.parquet")
    from eventgnn.events.parquet import read_shard

    assert len(read_shard(shard)) == 2


# ----------------------------------------------------------------------------- Parquet files


def test_truncated_and_corrupt_parquet(datasets, tmp_path, capsys):
    good = next(datasets["pre"].glob("*.parquet")).read_bytes()
    for name, data in (
        ("cut.parquet", good[: len(good) // 2]),
        ("empty.parquet", b""),
        ("junk.parquet", b"PAR1" + b"\x00" * 100 + b"PAR1"),
    ):
        bad = tmp_path / "d" / name
        bad.parent.mkdir(exist_ok=True)
        bad.write_bytes(data)
        line = error_of(["convert", bad, "--out", tmp_path / "o"], capsys)
        assert str(bad) in line and "not a readable Parquet file" in line
        bad.unlink()


def _with_field(events: ak.Array, name: str, value) -> ak.Array:
    if name.startswith("objects."):
        objects = ak.with_field(events.objects, value, name.split(".")[1])
        return ak.with_field(events, objects, "objects")
    return ak.with_field(events, value, name)


@pytest.mark.parametrize(
    "field, make, expected",
    [
        ("objects.pt", lambda e: ak.values_astype(e.objects.pt, np.float64), "expected float32"),
        (
            "objects.kind",
            lambda e: ak.values_astype(e.objects.kind, np.float32),
            "expected int8",
        ),
        ("weight", lambda e: ak.values_astype(e.weight, np.int64), "expected float32"),
        ("process", lambda e: ak.local_index(e.weight), "expected string"),
        ("targets", lambda e: e.targets[:, :40], "expected 41 values"),
    ],
)
def test_wrong_types_in_a_shard(field, make, expected, tmp_path, capsys):
    events = random_events(20, "pa", 0)
    bad = raw_parquet(_with_field(events, field, make(events)), tmp_path / "d" / "bad.parquet")
    line = error_of(["pretrain", "--data", bad.parent, "--out", tmp_path / "r", *TINY], capsys)
    assert str(bad) in line and f"'{field}'" in line and expected in line


def test_missing_field_in_a_shard(tmp_path, capsys):
    events = random_events(20, "pa", 0)
    bad = raw_parquet(events[["objects", "process", "label", "weight", "source"]],
                      tmp_path / "d" / "bad.parquet")  # fmt: skip
    line = error_of(["convert", bad, "--out", tmp_path / "o"], capsys)
    assert "'targets'" in line and "missing" in line


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("field", ["objects.pt", "objects.phi", "objects.energy", "weight"])
def test_non_finite_values_in_a_shard(field, bad, tmp_path, capsys):
    events = random_events(30, "pa", 0)
    if field == "weight":
        w = np.ones(30, np.float32)
        w[17] = bad
        events = ak.with_field(events, w, "weight")
    else:
        flat = ak.to_numpy(ak.flatten(events.objects[field.split(".")[1]])).copy()
        start = int(ak.sum(ak.num(events.objects[:17])))
        flat[start] = bad  # first object of event 17
        values = ak.unflatten(flat, ak.num(events.objects))
        events = _with_field(events, field, values)
    shard = raw_parquet(events, tmp_path / "d" / "nan.parquet")
    line = error_of(["pretrain", "--data", shard.parent, "--out", tmp_path / "r", *TINY], capsys)
    assert str(shard) in line and f"'{field}'" in line and "entry 17" in line
    assert "finite" in line
    with pytest.raises(SchemaError, match="entry 17"):
        validate(events, "x")


def test_nan_targets_are_allowed_where_the_source_has_no_truth(tmp_path):
    """NaN targets mean 'no generator record' (schema); multiclass training ignores them."""
    events = random_events(30, "pa", 0)
    t = np.full((30, 41), np.nan, np.float32)
    events = ak.with_field(events, ak.to_regular(ak.from_numpy(t), axis=1), "targets")
    assert len(validate(events, "x")) == 30


def test_event_with_no_objects_in_a_shard_trains(tmp_path, capsys):
    """A Parquet event with zero objects (readers drop them; other tools might not): it is a
    graph with no nodes and N = 0, which the model handles (sums over nothing are 0)."""
    ev = random_events(40, "pa", 0)
    empty = ak.with_field(ev[:5], ev.objects[:5][:, :0], "objects")
    write_events(ak.concatenate([ev, empty]), tmp_path / "d" / "pa.parquet")
    write_events(random_events(40, "pb", 1, shift=40.0), tmp_path / "d" / "pb.parquet")
    code, out, err = cli(["pretrain", "--data", tmp_path / "d", "--epochs", "1", "--out",
                          tmp_path / "r", *TINY], capsys)  # fmt: skip
    assert code == 0, err
    import json

    m = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert np.isfinite(m["loss"])


def test_thousand_objects_in_one_event():
    """1,000 objects: 999,000 directed edges, built and run (memory is measured in
    docs/reliability.md); outputs stay finite."""
    from eventgnn.config import ModelConfig
    from eventgnn.events.schema import make_events
    from eventgnn.graphs.batch import GraphTensors
    from eventgnn.model.eventgnn import EventGNN

    n = 1000
    rng = np.random.default_rng(0)
    cols = dict(pt=rng.uniform(20, 100, n), eta=rng.uniform(-2, 2, n),
                phi=rng.uniform(-3, 3, n), energy=np.full(n, 50.0), kind=np.zeros(n, np.int8),
                btag=np.zeros(n, np.int8), charge=np.zeros(n, np.int8))  # fmt: skip
    big = make_events({k: ak.unflatten(v, [n]) for k, v in cols.items()}, process="p",
                      source="x")  # fmt: skip
    g = GraphTensors.from_events(ak.concatenate([big, random_events(3, "p", 0)]))
    b = g.batch(torch.arange(4), target=None)
    assert b.edge_index.shape[1] == n * (n - 1) + int(
        (ak.num(random_events(3, "p", 0).objects) * (ak.num(random_events(3, "p", 0).objects)
                                                    - 1)).to_numpy().sum()
    )  # fmt: skip
    model = EventGNN(ModelConfig(hidden=8, latent=8, mlp_layers=1, iterations=1), 2)
    with torch.no_grad():
        assert torch.isfinite(model(b)).all()


# ----------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["generate", "--process", "nosuch", "--events", "1", "--out", "{x}/g"], "nosuch"),
        (["generate", "--catalog", "nosuch", "--out", "{x}/g"], "nosuch"),
        (["finetune", "--task", "nosuch", "--data", "{down}", "--out", "{x}/r", *TINY], "nosuch"),
        (
            ["finetune", "--task", "sig_vs_nosuch", "--data", "{down}", "--out", "{x}/r", *TINY],
            "nosuch",
        ),
        (
            [
                "scan",
                "--task",
                "nosuch",
                "--sizes",
                "10",
                "--seeds",
                "1",
                "--setups",
                "scratch",
                "--data",
                "{down}",
                "--out",
                "{x}/s",
            ],
            "nosuch",
        ),
        (
            [
                "scan",
                "--task",
                "sig_vs_bkg",
                "--sizes",
                "10",
                "--seeds",
                "1",
                "--setups",
                "weird",
                "--data",
                "{down}",
                "--out",
                "{x}/s",
            ],
            "weird",
        ),
        (["scan", "--task", "sig_vs_bkg", "--sizes", "ten", "--out", "{x}/s"], "ten"),
        (["generate", "--process", "wh", "--shard", "3/2", "--out", "{x}/g"], "3/2"),
    ],  # fmt: skip
    ids=lambda a: " ".join(a[:3]) if isinstance(a, list) else "",
)
def test_unknown_names(argv, needle, tmp_path, datasets, capsys):
    argv = [a.format(x=tmp_path, down=datasets["down"]) for a in argv]
    assert needle in error_of(argv, capsys)


# ----------------------------------------------------------------------------- configs


@pytest.mark.parametrize(
    "text, needles",
    [
        ("model: {hidden: 16\n", ["not valid YAML"]),
        ("model:\n  hiden: 16\n", ["unknown config key 'model.hiden'"]),
        ("modle:\n  hidden: 16\n", ["unknown config key 'modle'"]),
        ("model:\n  hidden: sixteen\n", ["model.hidden", "expected int", "sixteen"]),
        ("train:\n  lr: [1, 2]\n", ["train.lr", "expected float"]),
        ("train:\n  amp: maybe\n", ["train.amp", "expected bool"]),
        ("- 1\n- 2\n", ["expected a mapping"]),
        ("model: 3\n", ["model", "expected ModelConfig"]),
        ("train:\n  epochs: 0\n", ["train.epochs: expected at least 1, got 0"]),
        ("!!python/object/apply:os.system ['echo pwned']\n", ["not valid YAML"]),
        ("model: !!python/object:eventgnn.config.ModelConfig {hidden: 3}\n", ["not valid YAML"]),
    ],
)
def test_malformed_yaml_config(text, needles, tmp_path, datasets, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    line = error_of(["pretrain", "--config", cfg, "--data", datasets["pre"], "--out",
                     tmp_path / "r"], capsys)  # fmt: skip
    for needle in needles:
        assert needle in line
    if "python" in text:
        assert str(cfg) in line
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "override, needle",
    [
        ("model.hidden=abc", "model.hidden: expected int"),
        ("model.nosuch=1", "unknown config key 'model.nosuch'"),
        ("train", "not of the form key.sub=value"),
        ("train=1", "is a section"),
        ("finetune.mode=half", "finetune.mode"),
    ],
)
def test_malformed_overrides(override, needle, tmp_path, datasets, capsys):
    line = error_of(["pretrain", "--data", datasets["pre"], "--out", tmp_path / "r", override],
                    capsys)  # fmt: skip
    assert needle in line


# ----------------------------------------------------------------------------- fuzzing


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=200))
def test_random_yaml_never_crashes_the_config_loader(tmp_path, text):
    """Junk YAML: either a valid config or a ConfigError naming the file, nothing else."""
    from eventgnn._core.errors import ConfigError
    from eventgnn.config import RunConfig, load_yaml

    cfg = tmp_path / "junk.yaml"
    try:
        cfg.write_bytes(text.encode("utf-8", errors="replace"))
    except OSError:
        return
    try:
        assert isinstance(load_yaml(cfg), RunConfig)
    except ConfigError as err:
        assert str(cfg) in str(err)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_random_byte_corruption_of_a_parquet_shard(tmp_path, data):
    """Flip random bytes of a valid shard: reading gives valid events or a SchemaError naming
    the file, never another exception and never non-finite kinematics."""
    from eventgnn.events.parquet import read_shard

    src = tmp_path / "good.parquet"
    if not src.exists():
        write_events(random_events(50, "pa", 0), src)
    raw = bytearray(src.read_bytes())
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(bytes(raw))
    try:
        events = read_shard(bad)
    except SchemaError as err:
        assert str(bad) in str(err)
        return
    for f in ("pt", "eta", "phi", "energy"):
        assert np.isfinite(ak.to_numpy(ak.flatten(events.objects[f]))).all()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_random_byte_corruption_of_a_root_file(tmp_path, data):
    """The same for a Delphes file through ``read_file``: events or an InputError naming it."""
    from eventgnn._core.errors import InputError
    from eventgnn.events.io import read_file

    src = tmp_path / "good.root"
    if not src.exists():
        delphes(src)
    raw = bytearray(src.read_bytes())
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    bad = tmp_path / "bad.root"
    bad.write_bytes(bytes(raw))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", EmptyEventsWarning)
            events = read_file(bad)
    except (InputError, SchemaError) as err:
        assert str(bad) in str(err)
        return
    validate(events, "corrupted but readable")
    for f in ("pt", "eta", "phi", "energy"):
        assert np.isfinite(ak.to_numpy(ak.flatten(events.objects[f]))).all()


# ----------------------------------------------------------------------------- checkpoints


def _edit_checkpoint(run: Path, tmp_path: Path, edit) -> Path:
    import shutil

    copy = tmp_path / "edited"
    shutil.copytree(run, copy)
    ckpt = torch.load(copy / "model.pt", weights_only=True)
    edit(ckpt)
    torch.save(ckpt, copy / "model.pt")
    return copy


def test_checkpoint_with_a_different_feature_schema(trained_run, datasets, tmp_path, capsys):
    def edit(c):
        c["features"]["node"] = c["features"]["node"][:-1] + ["mass"]

    run = _edit_checkpoint(trained_run, tmp_path, edit)
    for argv in (
        ["finetune", "--task", "sig_vs_bkg", "--from", run, "--data", datasets["down"],
         "--out", tmp_path / "ft", *TINY],
        ["evaluate", "--model", run, "--data", datasets["pre"], "--out", tmp_path / "ev"],
    ):  # fmt: skip
        line = error_of(argv, capsys)
        assert str(run) in line and "feature schema" in line and "mass" in line


@pytest.mark.parametrize(
    "edit, needles",
    [
        (lambda c: c.update(format="eventgnn-model/2"), ["eventgnn-model/2", "eventgnn-model/1"]),
        (lambda c: c.pop("format"), ["not an eventgnn model file"]),
        (lambda c: c["model_config"].update(attention=True), ["model_config", "attention"]),
        (lambda c: c["state_dict"].pop(next(iter(c["state_dict"]))), ["state_dict", "Missing"]),
        (lambda c: c.pop("task"), ["task"]),
    ],
    ids=["newer-format", "no-format", "unknown-arch-key", "missing-weight", "no-task"],
)
def test_checkpoint_from_an_incompatible_version(edit, needles, trained_run, tmp_path, capsys):
    run = _edit_checkpoint(trained_run, tmp_path, edit)
    line = error_of(["info", run], capsys)
    assert str(run) in line
    for needle in needles:
        assert needle in line


def test_truncated_checkpoint(trained_run, tmp_path, capsys):
    import shutil

    run = tmp_path / "cut"
    shutil.copytree(trained_run, run)
    data = (run / "model.pt").read_bytes()
    (run / "model.pt").write_bytes(data[: len(data) // 2])
    line = error_of(["evaluate", "--model", run], capsys)
    assert str(run / "model.pt") in line and "cannot read" in line


def test_data_without_the_runs_processes(trained_run, datasets, tmp_path, capsys):
    line = error_of(["evaluate", "--model", trained_run, "--data", datasets["down"], "--out",
                     tmp_path / "e"], capsys)  # fmt: skip
    assert "no events of process(es) pa, pb, pc" in line and "bkg, sig" in line


# ----------------------------------------------------------------------------- LHE files


LHE_HEAD = """<LesHouchesEvents version="3.0">
<init>
2212 2212 6.500000e+03 6.500000e+03 0 0 247000 247000 -4 1
1.0e+00 1.0e-02 1.0e+00 1
</init>
"""
LHE_EVENT = """<event>
4 1 +1.0e+00 9.1e+01 7.5e-03 1.2e-01
 2 -1 0 0 501 0 0.0 0.0 +5.0e+02 5.0e+02 0.0 0.0 9.0
-2 -1 0 0 0 501 0.0 0.0 -5.0e+02 5.0e+02 0.0 0.0 9.0
 2 1 1 2 502 0 +1.0e+02 +4.0e+01 +2.0e+02 2.27e+02 0.0 0.0 9.0
-2 1 1 2 0 502 -1.0e+02 -4.0e+01 -2.0e+02 2.27e+02 0.0 0.0 9.0
</event>
"""


@pytest.mark.parametrize(
    "text, needle",
    [
        ("", "no <init> block"),
        ("hello world\n", "no <init> block"),
        (LHE_HEAD + "</LesHouchesEvents>\n", "no <event>"),
        (LHE_HEAD.replace("<init>", "<init>\nnot numbers"), "<init>"),
        (LHE_HEAD + LHE_EVENT.replace("4 1 +1.0e+00", "4 1 +1.0e+00 junk"), "event 1"),
        (LHE_HEAD + LHE_EVENT.replace(" 2 1 1 2 502", " 2 1 1 2"), "event 1"),
        (LHE_HEAD + LHE_EVENT.replace("+1.0e+02 +4.0e+01", "nan +4.0e+01"), "event 1"),
        (LHE_HEAD + LHE_EVENT + "".join(LHE_EVENT.splitlines(True)[:4]), "ends inside event 2"),
    ],
    ids=[
        "empty",
        "text",
        "no-events",
        "bad-init",
        "bad-event-header",
        "short-particle-line",
        "nan-momentum",
        "truncated",
    ],
)
def test_malformed_lhe(text, needle, tmp_path, capsys):
    lhe = tmp_path / "bad.lhe"
    lhe.write_text(text)
    line = error_of(["generate", "--lhe", lhe, "--process", "ttw", "--events", "2", "--out",
                     tmp_path / "g"], capsys)  # fmt: skip
    assert str(lhe) in line and needle in line


# ----------------------------------------------------------------------------- the real process


def test_subprocess_exit_code_and_no_traceback(tmp_path):
    """The console entry point as a user runs it: exit code 1, one line, no traceback; with
    ``--debug`` the traceback is shown."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  hiden: 16\n")
    cmd = [sys.executable, "-m", "eventgnn.cli", "pretrain", "--config", str(bad), "--data",
           str(tmp_path)]  # fmt: skip
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"eventgnn pretrain: error: {bad}: unknown config key 'model.hiden' (known under "
        "'model.': hidden, latent, mlp_layers, iterations, shared_weights, layer_norm)"
    ]
    # --debug (here after the subcommand) re-raises, so the traceback shows
    from eventgnn._core.errors import ConfigError

    with pytest.raises(ConfigError, match="model.hiden"):
        main(cmd[3:] + ["--debug"])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_random_corruption_of_an_lhe_file(tmp_path, data):
    """Random characters overwritten in a valid LHE text: ``check_lhe`` counts the events or
    raises an InputError naming the file, never anything else."""
    from eventgnn._core.errors import InputError
    from eventgnn.events.lhe import check_lhe

    text = list(LHE_HEAD + LHE_EVENT * 3 + "</LesHouchesEvents>\n")
    for _ in range(data.draw(st.integers(1, 6))):
        pos = data.draw(st.integers(0, len(text) - 1))
        text[pos] = data.draw(st.sampled_from(list("0123456789.-+eE <>/\nxnaINF")))
    lhe = tmp_path / "fuzz.lhe"
    lhe.write_text("".join(text))
    try:
        assert 1 <= check_lhe(lhe) <= 4
    except InputError as err:
        assert str(lhe) in str(err)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=150))
def test_random_branch_map_yaml(tmp_path, text):
    """Junk branch-map YAML: a checked map or an InputError naming the file."""
    from eventgnn._core.errors import InputError
    from eventgnn.events.ntuple import load_branch_map

    bm = tmp_path / "map.yaml"
    bm.write_bytes(text.encode("utf-8", errors="replace"))
    try:
        assert "tree" in load_branch_map(bm)
    except InputError as err:
        assert str(bm) in str(err)


def test_error_line_for_user_and_internal_errors():
    from eventgnn.cli import error_line

    assert (
        error_line("info", ValueError("a.pt: bad\n  value"))
        == "eventgnn info: error: a.pt: bad value"
    )
    assert error_line("scan", KeyError("task")) == (
        "eventgnn scan: error: KeyError: 'task' (--debug shows the traceback)"
    )
    assert error_line("cka", RuntimeError()) == (
        "eventgnn cka: error: RuntimeError: no message (--debug shows the traceback)"
    )
