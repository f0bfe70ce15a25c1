"""The flat-ntuple reader and its branch map."""

from __future__ import annotations

import warnings

import awkward as ak
import numpy as np
import pytest
import yaml
from rootfiles import MAP, write_ntuple
from test_delphes import check_objects

from eventgnn._core.errors import EmptyEventsWarning, InputError
from eventgnn.events.io import read_events
from eventgnn.events.ntuple import load_branch_map, read_ntuple

EXPECTED = [
    [
        (100.0, -1.0, -3.1, 0, 0, 0),
        (40.0, 0.0, 0.5, 0, 1, 0),
        (15.0, -2.47, 2.0, 1, 0, 1),
        (50.0, 0.0, 0.1, 4, 0, 0),
    ],
    [(30.0, 2.0, 1.0, 0, 1, 0), (20.0, 2.37, -1.0, 3, 0, 0), (20.0, 0.0, 0.2, 4, 0, 0)],
    [(10.0, 0.0, 0.3, 4, 0, 0)],
]


def test_reads_with_dict_map(tmp_path):
    path = write_ntuple(tmp_path / "flat.root")
    events = read_ntuple(path, branch_map=MAP)
    check_objects(events, EXPECTED)
    assert events.weight.to_list() == [1.5, 2.5, 3.5]
    assert events.process.to_list() == ["flat"] * 3
    assert np.isnan(events.targets.to_numpy()).all()


def test_reads_with_yaml_map_and_process(tmp_path):
    path = write_ntuple(tmp_path / "flat.root")
    bm = tmp_path / "map.yaml"
    bm.write_text(yaml.safe_dump({**MAP, "process": "wh"}))
    events = read_events(path, branch_map=bm)  # auto: not Delphes/NanoAOD -> ntuple
    assert set(events.process.to_list()) == {"wh"}
    assert set(read_ntuple(path, branch_map=bm, process="zh").process.to_list()) == {"zh"}


def test_example_branch_map_is_valid():
    from pathlib import Path

    example = Path(__file__).parents[2] / "data_recipes" / "branch_maps" / "example.yaml"
    bm = load_branch_map(example)
    assert bm["tree"] and set(bm) >= {"jets", "electrons", "muons", "photons", "met"}


def test_empty_events_are_excluded_and_counted(tmp_path):
    path = write_ntuple(tmp_path / "nomet.root", with_met=False)
    bm = {k: v for k, v in MAP.items() if k != "met"}
    with pytest.warns(EmptyEventsWarning, match=r"nomet\.root: 1 of 3 events have no selected"):
        events = read_ntuple(path, branch_map=bm)
    check_objects(events, [e[:-1] for e in EXPECTED[:2]])
    # the source still points at the right entries
    assert events.source.to_list() == [f"{path}:0", f"{path}:1"]


def test_omitted_collections_are_empty(tmp_path):
    path = write_ntuple(tmp_path / "flat.root")
    events = read_ntuple(path, branch_map={"tree": "mytree", "met": MAP["met"]})
    assert events.objects.kind.to_list() == [[4], [4], [4]]
    assert events.weight.to_list() == [1.0, 1.0, 1.0]


def test_unknown_key_is_an_error(tmp_path):
    path = write_ntuple(tmp_path / "flat.root")
    with pytest.raises(InputError, match=r"flat\.root: branch map: unknown key 'taus'"):
        read_ntuple(path, branch_map={**MAP, "taus": {"pt": "tau_pt"}})
    with pytest.raises(InputError, match=r"unknown key 'jets\.mass'"):
        read_ntuple(path, branch_map={**MAP, "jets": {**MAP["jets"], "mass": "jet_m"}})
    with pytest.raises(InputError, match=r"key 'photons\.phi' is missing"):
        read_ntuple(path, branch_map={**MAP, "photons": {"pt": "ph_pt", "eta": "ph_eta"}})


def test_absent_branch_is_named_with_its_key(tmp_path):
    path = write_ntuple(tmp_path / "flat.root")
    bad = {**MAP, "electrons": {**MAP["electrons"], "charge": "el_charge"}}
    with pytest.raises(
        InputError, match=r"flat\.root: branch map key 'electrons\.charge' names branch 'el_charge'"
    ):
        read_ntuple(path, branch_map=bad)


def test_wrong_tree_and_missing_map(tmp_path):
    path = write_ntuple(tmp_path / "flat.root")
    with pytest.raises(InputError, match=r"flat\.root: no tree 'other'"):
        read_ntuple(path, branch_map={**MAP, "tree": "other"})
    with pytest.raises(InputError, match=r"flat\.root.*needs a branch map"):
        read_events(path)


def test_scalar_branch_for_a_collection_is_an_error(tmp_path):
    path = write_ntuple(tmp_path / "flat.root")
    bad = {**MAP, "photons": {"pt": "w", "eta": "ph_eta", "phi": "ph_phi"}}
    with pytest.raises(InputError, match=r"key 'photons\.pt' names branch 'w'.*not a jagged"):
        read_ntuple(path, branch_map=bad)


def test_btag_threshold_turns_a_discriminant_into_a_tag(tmp_path):
    path = write_ntuple(tmp_path / "flat.root")
    bm = {**MAP, "jets": {**MAP["jets"], "btag": "jet_pt", "btag_threshold": 50.0}}
    events = read_ntuple(path, branch_map=bm)
    # jets (100, 40) in event 0 and (30,) in event 1: tagged when "discriminant" pT > 50
    assert events.objects.btag.to_list()[0][:2] == [1, 0]
    assert events.objects.btag.to_list()[1][0] == 0


def test_keep_empty_gives_one_row_per_entry(tmp_path):
    """``read_events(..., keep_empty=True)``: every entry, in order, the empty one without
    objects and without a warning, so the rows align with the file's other branches."""
    path = write_ntuple(tmp_path / "nomet.root", with_met=False)
    bm = {k: v for k, v in MAP.items() if k != "met"}
    with warnings.catch_warnings():
        warnings.simplefilter("error", EmptyEventsWarning)
        events = read_events(path, branch_map=bm, keep_empty=True)
    assert events.source.to_list() == [f"{path}:{k}" for k in range(3)]
    assert ak.num(events.objects, axis=1).to_list()[2] == 0
    check_objects(events[:2], [e[:-1] for e in EXPECTED[:2]])
    with pytest.warns(EmptyEventsWarning):
        assert len(read_events(path, branch_map=bm)) == 2
