"""The NanoAOD reader on a small file written with uproot in the NanoAOD branch layout."""

from __future__ import annotations

import numpy as np
import pytest
from rootfiles import write_nanoaod
from test_delphes import check_objects

from eventgnn._core.errors import EmptyEventsWarning, InputError
from eventgnn.events.io import convert, count_entries, detect_format, read_events
from eventgnn.events.nanoaod import DEFAULT_BTAG_THRESHOLD, read_nanoaod
from eventgnn.events.schema import validate
from eventgnn.events.selection import SelectionCuts

WP = DEFAULT_BTAG_THRESHOLD
JETS = [
    [
        (30.0, -1.0, -0.5, WP),  # exactly at the working point: not tagged (cut is ">")
        (120.0, 0.5, 3.0, 0.9),  # tagged
        (60.0, 0.0, 1.0, 0.95),  # Delta R 0.14 to the electron: removed
        (26.0, 2.6, 0.0, 0.99),  # |eta| > 2.5
    ],
    [(20.0, 0.0, 0.0, 0.9)],
]
ELECTRONS = [[(35.0, 0.1, 1.1, 1)], []]
MUONS = [[(12.0, -2.6, 2.0, -1), (9.9, 0.0, 0.0, 1)], []]
PHOTONS = [[(21.0, -2.0, -2.0), (50.0, 1.45, 0.0)], []]
MET = [(40.0, -1.5), (5.0, 0.3)]
EXPECTED = [
    [
        (120.0, 0.5, 3.0, 0, 1, 0),
        (30.0, -1.0, -0.5, 0, 0, 0),
        (35.0, 0.1, 1.1, 1, 0, 1),
        (12.0, -2.6, 2.0, 2, 0, -1),
        (21.0, -2.0, -2.0, 3, 0, 0),
        (40.0, 0.0, -1.5, 4, 0, 0),
    ],
    [(5.0, 0.0, 0.3, 4, 0, 0)],
]
LAST = 1 << 13  # statusFlags bit 13: isLastCopy


def genpart(record):
    """Delphes-style (pid, M1, D1, D2, ...) rows -> NanoAOD GenPart rows with statusFlags."""
    pids = [r[0] for r in record]
    out = []
    for pid, m1, d1, d2, pt, eta, phi in record:
        daughters = [d for d in (d1, d2) if d >= 0]
        last = not any(pids[d] == pid for d in daughters)
        out.append((pid, m1, LAST if last else 1, pt, eta, phi))
    return out


@pytest.fixture
def nano_file(tmp_path, tth_record):
    return write_nanoaod(
        tmp_path / "nano_tth.root", jets=JETS, electrons=ELECTRONS, muons=MUONS, photons=PHOTONS,
        met=MET, weight=[0.25, -0.25], genpart=[genpart(tth_record), []],
    )  # fmt: skip


def test_reads_hand_computed_objects(nano_file, tth_targets):
    events = read_nanoaod(nano_file)
    validate(events)
    check_objects(events, EXPECTED)
    assert events.weight.to_list() == [0.25, -0.25]
    assert events.process.to_list() == ["nano_tth"] * 2
    assert events.source.to_list() == [f"{nano_file}:0", f"{nano_file}:1"]
    t = events.targets.to_numpy()
    np.testing.assert_array_equal(t[0], tth_targets)
    np.testing.assert_array_equal(t[1], np.zeros(41, np.float32))


def test_auto_detects_nanoaod(nano_file):
    assert detect_format(nano_file) == "nanoaod"
    check_objects(read_events(nano_file), EXPECTED)


def test_btag_branch_and_threshold_are_configurable(tmp_path):
    path = write_nanoaod(
        tmp_path / "pnet.root", jets=JETS, electrons=ELECTRONS, muons=MUONS, photons=PHOTONS,
        met=MET, btag_branch="btagPNetB",
    )  # fmt: skip
    with pytest.raises(InputError, match=r"pnet\.root: branch 'Jet_btagDeepFlavB' not found"):
        read_nanoaod(path)
    events = read_nanoaod(path, btag_branch="Jet_btagPNetB", btag_threshold=0.1)
    assert events.objects.btag.to_list()[0][:2] == [1, 1]
    events = read_nanoaod(path, btag_branch="Jet_btagPNetB", btag_threshold=0.95)
    assert events.objects.btag.to_list()[0][:2] == [0, 0]


def test_data_without_genpart_has_nan_targets(tmp_path):
    path = write_nanoaod(
        tmp_path / "data.root", jets=JETS, electrons=ELECTRONS, muons=MUONS, photons=PHOTONS,
        met=MET,
    )  # fmt: skip
    events = read_nanoaod(path)
    assert np.isnan(events.targets.to_numpy()).all()
    assert events.weight.to_list() == [1.0, 1.0]


def test_missing_met_branch_is_named(tmp_path):
    path = write_nanoaod(
        tmp_path / "nomet.root", jets=JETS, electrons=ELECTRONS, muons=MUONS, photons=PHOTONS,
        met=MET, drop=("MET_phi",),
    )  # fmt: skip
    with pytest.raises(InputError, match=r"nomet\.root: branch 'MET_phi' not found.*missing ET"):
        read_nanoaod(path)


def test_no_warning_when_every_event_has_met(nano_file):
    # MET is an object, so no NanoAOD event is ever empty; the reader must not warn
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", EmptyEventsWarning)
        assert len(read_nanoaod(nano_file)) == 2


def test_the_tree_option_reads_a_nanoaod_tree_of_another_name(tmp_path):
    """A NanoAOD tree not called ``Events`` is recognised by its branches once named with
    ``tree``, by read_events, convert and count_entries; a tree the file lacks is named."""
    path = write_nanoaod(
        tmp_path / "skim.root", jets=JETS, electrons=ELECTRONS, muons=MUONS, photons=PHOTONS,
        met=MET, tree="Skimmed",
    )  # fmt: skip
    assert detect_format(path, "Skimmed") == "nanoaod"
    events = read_events(path, tree="Skimmed")
    check_objects(events, EXPECTED)
    assert count_entries(path, tree="Skimmed") == 2
    shards = convert([path], tmp_path / "out", progress=False, tree="Skimmed")
    assert len(read_events(shards)) == 2
    with pytest.raises(InputError, match=r"skim\.root: no tree 'Events' \(option 'tree'; the "
                       "file holds Skimmed\\)"):  # fmt: skip
        read_events(path, tree="Events")


@pytest.mark.parametrize(
    "option, message",
    [
        ({"btag_threshold": "high"},
         r"option 'btag_threshold': expected a number in \[0, 1\].*, got 'high'"),
        ({"btag_threshold": float("nan")}, "option 'btag_threshold': expected a number"),
        ({"btag_branch": ""}, "option 'btag_branch': expected a non-empty name, got ''"),
        ({"cuts": SelectionCuts(crack=(1.52, 1.37))},
         r"'cuts': cut 'crack': expected \[low, high\] with low <= high, got \[1.52, 1.37\]"),
        ({"cuts": SelectionCuts(jet_pt=-1.0)},
         "option 'cuts': cut 'jet_pt': expected a threshold of at least 0, got -1.0"),
    ],
)  # fmt: skip
def test_reader_option_values_are_checked(nano_file, option, message):
    """A wrong value is named as such, not reported as a corrupt file."""
    with pytest.raises(InputError, match=f"nano_tth.root: .*{message}"):
        read_events(nano_file, **option)
