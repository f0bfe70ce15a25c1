"""Timing from hand-written history.csv files."""

from __future__ import annotations

import math

import pytest

from eventgnn.analysis.timing import break_even_tasks, read_history, time_to_fraction, time_to_reach

BASELINE = """epoch,train_loss,val_accuracy,lr_0,wall_time
0,0.69,0.60,1e-4,10
1,0.60,0.70,9.9e-5,20
2,0.55,0.78,9.8e-5,30
3,0.50,0.80,9.7e-5,40
"""
# per-epoch durations (not cumulative) under a per-epoch name
FINETUNED = """epoch,train_loss,val_accuracy,epoch_time
0,0.60,0.70,5
1,0.55,0.77,5
2,0.50,0.79,5
3,0.49,0.81,5
"""


@pytest.fixture
def runs(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "history.csv").write_text(BASELINE)
    (tmp_path / "ft.csv").write_text(FINETUNED)
    return tmp_path / "base", tmp_path / "ft.csv"


def test_read_history_and_elapsed(runs):
    base, ft = runs
    hb, hf = read_history(base), read_history(ft)
    assert len(hb) == 4
    assert hb.total_time == 40
    assert list(hf.elapsed()) == [5, 10, 15, 20]  # accumulated
    assert hf.total_time == 20


def test_time_to_reach(runs):
    _, ft = runs
    assert time_to_reach(ft, 0.78) == 15  # first epoch at or above: epoch 2, ends at 15 s
    assert time_to_reach(ft, 0.77) == 10  # reaching exactly counts
    # linear interpolation between (10 s, 0.77) and (15 s, 0.79)
    assert time_to_reach(ft, 0.78, interpolate=True) == pytest.approx(12.5)
    assert time_to_reach(ft, 0.5, interpolate=True) == 5
    assert time_to_reach(ft, 0.9) is None


def test_engine_history_columns(tmp_path):
    # the layout eventgnn.train.engine writes: per-epoch wall_s and cumulative elapsed_s
    (tmp_path / "history.csv").write_text(
        "epoch,train_loss,val_loss,val_acc,lr_all,wall_s,elapsed_s\n"
        "1,0.7,0.69,0.55,1e-4,3.0,3.0\n2,0.6,0.6,0.65,9.9e-5,2.0,5.0\n3,0.5,0.5,0.7,9.8e-5,2.5,7.5\n"
    )
    h = read_history(tmp_path)
    assert list(h.elapsed()) == [3.0, 5.0, 7.5]
    assert list(h.elapsed("wall_s")) == [3.0, 5.0, 7.5]
    assert time_to_reach(h, 0.6) == 5.0


def test_time_to_fraction(runs):
    base, ft = runs
    r = time_to_fraction(ft, base, fraction=0.99)
    assert r.baseline_final == pytest.approx(0.80)
    assert r.target == pytest.approx(0.792)
    assert r.time == 20  # 0.79 at 15 s is just below 0.792
    assert r.baseline_time == 40
    assert r.ratio == pytest.approx(0.5)
    assert time_to_fraction(ft, base, fraction=0.98).ratio == pytest.approx(15 / 40)
    r = time_to_fraction(ft, base, fraction=1.02)  # 0.816 never reached
    assert r.time is None and math.isinf(r.ratio)


def test_baseline_final_max(tmp_path):
    (tmp_path / "b.csv").write_text("val_accuracy,wall_time\n0.5,1\n0.9,2\n0.8,3\n")
    (tmp_path / "f.csv").write_text("val_accuracy,wall_time\n0.85,1\n0.89,2\n")
    assert time_to_fraction(tmp_path / "f.csv", tmp_path / "b.csv").time == 1  # 0.99*0.8
    r = time_to_fraction(tmp_path / "f.csv", tmp_path / "b.csv", baseline_final="max")
    assert r.target == pytest.approx(0.891) and r.time is None


def test_errors_name_file_and_column(tmp_path):
    (tmp_path / "h.csv").write_text("loss,wall_time\n1,1\n")
    with pytest.raises(KeyError, match="h.csv.*accuracy"):
        time_to_reach(tmp_path / "h.csv", 0.5)
    with pytest.raises(FileNotFoundError, match="history.csv"):
        read_history(tmp_path)


def test_break_even():
    # 100 + n*2 < n*12  <=>  n > 10  -> 11 (n = 10 is equal, not cheaper)
    assert break_even_tasks(100, 2, 12) == 11
    assert break_even_tasks(100, 3, 12) == 12  # n > 11.1
    assert break_even_tasks(0, 1, 2) == 1
    assert break_even_tasks(100, 12, 12) is None
    assert break_even_tasks(100, 15, 12) is None
    with pytest.raises(ValueError):
        break_even_tasks(-1, 1, 2)


def test_time_to_fraction_in_epochs(tmp_path):
    """Cost counted in epochs (the engine's 1-based ``epoch`` column), not wall time: the
    finetuned run was slowed by a busier machine, which wall time would count against it."""
    (tmp_path / "b.csv").write_text("epoch,val_acc,elapsed_s\n1,0.5,1\n2,0.6,2\n3,0.7,3\n4,0.8,4\n")
    (tmp_path / "f.csv").write_text("epoch,val_acc,elapsed_s\n1,0.75,10\n2,0.8,20\n")
    r = time_to_fraction(tmp_path / "f.csv", tmp_path / "b.csv", 0.99, time_column="epoch")
    assert (r.time, r.baseline_time, r.finetune_total) == (2, 4, 2)
    assert r.ratio == pytest.approx(0.5)
    assert time_to_fraction(tmp_path / "f.csv", tmp_path / "b.csv", 0.99).ratio == 5.0  # wall
