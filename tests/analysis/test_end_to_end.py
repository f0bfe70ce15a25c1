"""The real entry points end to end on a small dataset: scan, then CKA between the runs."""

from __future__ import annotations

import csv
import json

import pytest

from eventgnn.analysis.compare import compare_runs, layerwise_runs
from eventgnn.analysis.scan import run_dir
from eventgnn.cli import main


@pytest.fixture(scope="module")
def scan_out(toy_data, tiny, tmp_path_factory):
    pre, down = toy_data
    out = tmp_path_factory.mktemp("scan") / "scan"
    argv = ["scan", "--task", "sig_vs_bkg", "--sizes", "20,60", "--seeds", "2",
            "--setups", "scratch,multiclass", "--data", str(down), "--epochs", "2",
            "--pretrain-data", str(pre), "--pretrain-epochs", "2", "--out", str(out),
            "--pretrain-set", *tiny, "--", *tiny]  # fmt: skip
    assert main(argv) == 0
    return out


def test_scan_cli(scan_out, toy_data, tiny, capsys):
    assert (scan_out / "pretrained" / "multiclass" / "model.pt").exists()
    with open(scan_out / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * 2 * 2
    # every run is scored on the same test events; training sizes differ
    test_sizes = set()
    for r in rows:
        m = json.loads((run_dir(scan_out, r["setup"], int(r["size"]), int(r["seed"]))
                        / "metrics.json").read_text())  # fmt: skip
        assert m["split_sizes"]["train"] == 2 * int(r["size"])
        test_sizes.add(m["split_sizes"]["test"])
        assert 0.0 <= float(r["accuracy"]) <= 1.0
    assert test_sizes == {60}
    md = (scan_out / "summary.md").read_text()
    assert "multiclass gain" in md and "| 60 | 2 |" in md
    # resuming trains nothing new
    mtime = (scan_out / "runs/scratch/n20/seed0/model.pt").stat().st_mtime
    argv = ["scan", "--task", "sig_vs_bkg", "--sizes", "20", "--seeds", "2", "--setups",
            "scratch", "--data", str(toy_data[1]), "--epochs", "2", "--out", str(scan_out),
            "--", *tiny]  # fmt: skip
    assert main(argv) == 0
    assert "done already" in capsys.readouterr().out
    # the same scan with other settings (here: the default epochs) is refused, naming them
    assert main(argv[: argv.index("--epochs")] + argv[argv.index("--out") :]) == 1
    assert "epochs: 2 -> null" in capsys.readouterr().err
    assert (scan_out / "runs/scratch/n20/seed0/model.pt").stat().st_mtime == mtime


def test_cka_between_runs(scan_out, tmp_path, capsys):
    scratch = [str(run_dir(scan_out, "scratch", 60, s)) for s in (0, 1)]
    pre = [str(run_dir(scan_out, "multiclass", 60, s)) for s in (0, 1)]
    res = compare_runs(scratch, scratch)
    assert res.matrix.shape == (2, 2)
    assert res.matrix[0, 0] == pytest.approx(1.0, abs=1e-6)  # a model against itself
    assert res.mean == pytest.approx(res.matrix[0, 1], rel=1e-6)  # self-pairs excluded
    assert res.std == 0.0 and res.n_events == 60
    cross = compare_runs(scratch, pre, kernel="rbf", n_events=40)
    assert cross.n_events == 40 and 0 < cross.mean < 1
    m, rows, cols = layerwise_runs(scratch[0], pre[0], n_events=40)
    assert rows == ["encoder", "step1", "latent"] and m.shape == (3, 3)
    argv = ["cka", *scratch, "--vs", *pre, "--out", str(tmp_path / "cka"), "--layers"]
    assert main(argv) == 0
    assert "linear CKA over 60 events, 2 x 2 runs" in capsys.readouterr().out
    for name in ("cka.json", "cka_pairs.csv", "cka.png", "cka_layers.csv", "cka_layers.png"):
        assert (tmp_path / "cka" / name).exists()
    assert main(["cka", scratch[0], "--vs", str(tmp_path / "nope")]) == 1
