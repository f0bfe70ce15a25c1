"""Multilabel truth on hand-built generator records, against hand-computed targets."""

from __future__ import annotations

import awkward as ak
import numpy as np

from eventgnn.events.truth import last_copy_from_daughters, targets_from_particles


def _targets(records):
    cols = list(zip(*[p for r in records for p in r], strict=True))
    counts = [len(r) for r in records]
    arr = [ak.unflatten(np.array(c), counts) for c in cols]
    pid, mother, d1, d2, pt, eta, phi = arr
    last = last_copy_from_daughters(pid, d1, d2)
    return last, targets_from_particles(pid, mother, last, pt, eta, phi)


def test_last_copy_from_daughters(tth_record, zbb_record):
    last, _ = _targets([tth_record, zbb_record])
    assert last[0].to_list()[2] is False and last[0].to_list()[5] is True
    assert last[1].to_list() == [False, True, True, True]


def test_tth_targets_by_hand(tth_record, zbb_record, tth_targets, zbb_targets):
    _, t = _targets([tth_record, zbb_record, []])
    assert t.shape == (3, 41) and t.dtype == np.float32
    np.testing.assert_array_equal(t[0], tth_targets)
    np.testing.assert_array_equal(t[1], zbb_targets)
    np.testing.assert_array_equal(t[2], np.zeros(41, np.float32))
