"""The Delphes reader on a small file written with uproot in the Delphes branch layout."""

from __future__ import annotations

import math

import numpy as np
import pytest
from rootfiles import write_delphes

from eventgnn._core.errors import InputError
from eventgnn.events.delphes import read_delphes
from eventgnn.events.io import detect_format, read_events
from eventgnn.events.schema import validate

# event 0: every kind of object, some failing the selection; event 1: only MET survives;
# event 2: nothing but MET either, with a jet removed by overlap with a photon
JETS = [
    [
        (30.0, -1.0, -0.5, 2),  # BTag bit 1 only: not tagged at bit 0
        (120.0, 0.5, 3.0, 1),  # tagged
        (24.9, 0.0, 0.0, 1),  # below 25 GeV
        (60.0, 0.0, 1.0, 3),  # Delta R 0.14 to the electron: removed
    ],
    [(20.0, 0.0, 0.0, 1)],
    [(40.0, 0.3, 0.3, 0)],
]
ELECTRONS = [[(35.0, 0.1, 1.1, -1)], [(9.0, 0.0, 0.0, 1)], []]
MUONS = [[(12.0, -2.6, 2.0, 1)], [], []]
PHOTONS = [[(50.0, 1.45, 0.0), (21.0, -2.0, -2.0)], [], [(25.0, 0.3, 0.5)]]
MET = [(40.0, -1.5), (5.0, 0.3), (7.0, -3.0)]
WEIGHT = [2.0, 0.5, 1.0]

# (pt, eta, phi, kind, btag, charge), ordered jets, electrons, muons, photons, MET (each by pT)
EXPECTED = [
    [
        (120.0, 0.5, 3.0, 0, 1, 0),
        (30.0, -1.0, -0.5, 0, 0, 0),
        (35.0, 0.1, 1.1, 1, 0, -1),
        (12.0, -2.6, 2.0, 2, 0, 1),
        (21.0, -2.0, -2.0, 3, 0, 0),
        (40.0, 0.0, -1.5, 4, 0, 0),
    ],
    [(5.0, 0.0, 0.3, 4, 0, 0)],
    [(25.0, 0.3, 0.5, 3, 0, 0), (7.0, 0.0, -3.0, 4, 0, 0)],
]


def check_objects(events, expected):
    """Every field of every object equals the hand-computed value (float32 precision)."""
    assert len(events) == len(expected)
    for ev, exp in zip(events.objects.to_list(), expected, strict=True):
        assert len(ev) == len(exp)
        for obj, (pt, eta, phi, typ, btag, charge) in zip(ev, exp, strict=True):
            assert obj["pt"] == pytest.approx(pt, rel=1e-6)
            assert obj["eta"] == pytest.approx(eta, rel=1e-6)
            assert obj["phi"] == pytest.approx(phi, rel=1e-6)
            energy = pt if typ == 4 else pt * math.cosh(eta)
            assert obj["energy"] == pytest.approx(energy, rel=1e-6)
            assert (obj["kind"], obj["btag"], obj["charge"]) == (typ, btag, charge)


@pytest.fixture
def delphes_file(tmp_path, tth_record, zbb_record):
    return write_delphes(
        tmp_path / "tth_sample.root",
        jets=JETS, electrons=ELECTRONS, muons=MUONS, photons=PHOTONS, met=MET,
        weight=WEIGHT, particles=[tth_record, zbb_record, []],
    )  # fmt: skip


def test_reads_hand_computed_objects(delphes_file, tth_targets, zbb_targets):
    events = read_delphes(delphes_file)
    validate(events)
    check_objects(events, EXPECTED)
    assert events.process.to_list() == ["tth_sample"] * 3
    assert events.source.to_list() == [f"{delphes_file}:{i}" for i in range(3)]
    assert events.weight.to_list() == WEIGHT
    assert events.label.to_list() == [-1, -1, -1]
    t = events.targets.to_numpy()
    np.testing.assert_array_equal(t[0], tth_targets)
    np.testing.assert_array_equal(t[1], zbb_targets)
    np.testing.assert_array_equal(t[2], np.zeros(41, np.float32))


def test_auto_format_and_process_override(delphes_file):
    assert detect_format(delphes_file) == "delphes"
    events = read_events(delphes_file, process="ttH")
    assert set(events.process.to_list()) == {"ttH"}
    check_objects(events, EXPECTED)


def test_without_particles_or_weight(tmp_path):
    path = write_delphes(
        tmp_path / "reco.root", jets=JETS, electrons=ELECTRONS, muons=MUONS, photons=PHOTONS,
        met=MET,
    )  # fmt: skip
    events = read_delphes(path)
    check_objects(events, EXPECTED)
    assert np.isnan(events.targets.to_numpy()).all()
    assert events.weight.to_list() == [1.0, 1.0, 1.0]


def test_missing_branch_is_named(tmp_path):
    path = write_delphes(
        tmp_path / "nobtag.root", jets=JETS, electrons=ELECTRONS, muons=MUONS, photons=PHOTONS,
        met=MET, drop=("Jet.BTag",),
    )  # fmt: skip
    with pytest.raises(InputError, match=r"nobtag\.root: branch 'Jet\.BTag' not found.*b-tag"):
        read_delphes(path)


def test_wrong_tree_is_named(delphes_file):
    with pytest.raises(InputError, match=r"tth_sample\.root: no tree 'Events'.*Delphes"):
        read_delphes(delphes_file, tree="Events")


def test_corrupt_file(tmp_path):
    path = tmp_path / "broken.root"
    path.write_bytes(b"this is not a ROOT file\n" * 20)
    with pytest.raises(InputError, match=r"broken\.root: not a readable ROOT file"):
        read_delphes(path)
    # a truncated real file
    good = write_delphes(
        tmp_path / "good.root", jets=JETS, electrons=ELECTRONS, muons=MUONS, photons=PHOTONS,
        met=MET,
    )  # fmt: skip
    cut = tmp_path / "truncated.root"
    cut.write_bytes(good.read_bytes()[:2000])
    with pytest.raises(InputError, match=r"truncated\.root") as err:
        read_delphes(cut)
    assert "\n" not in str(err.value)  # one line for the command line


def test_file_without_entries(tmp_path):
    import uproot

    from eventgnn.events.delphes import BRANCHES

    path = tmp_path / "empty.root"
    with uproot.recreate(path) as f:
        types = {
            b: "var * uint32" if b.endswith("BTag") else
            "var * int32" if b.endswith("Charge") else "var * float32"
            for b in BRANCHES.values()
        }  # fmt: skip
        f.mktree("Delphes", types)
    events = read_delphes(path)
    assert len(events) == 0
    validate(events)
