"""The real entry point end to end on a tiny Parquet dataset: pretrain, finetune, evaluate, info."""

from __future__ import annotations

import json

import torch

from eventgnn.cli import main

from_tiny = [
    "model.hidden=16",
    "model.latent=16",
    "model.mlp_layers=2",
    "model.iterations=2",
    "train.batch_size=32",
]


def test_pretrain_finetune_evaluate_info(tiny_data, tmp_path, capsys):
    pre, ft = tmp_path / "pre", tmp_path / "ft"
    assert (
        main(
            [
                "pretrain",
                "--data",
                str(tiny_data),
                "--epochs",
                "2",
                "--seed",
                "3",
                "--out",
                str(pre),
                *from_tiny,
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "parameters" in out and "epoch   2/2" in out and "test accuracy" in out
    for name in (
        "config.yaml",
        "model.pt",
        "metrics.json",
        "history.csv",
        "plots/loss.png",
        "plots/roc.png",
        "plots/scores.png",
    ):
        assert (pre / name).exists(), name
    assert "seed: 3" in (pre / "config.yaml").read_text()

    assert (
        main(
            [
                "finetune",
                "--task",
                "wh_vs_zh",
                "--from",
                str(pre),
                "--data",
                str(tiny_data),
                "--epochs",
                "2",
                "--train-size",
                "20",
                "--out",
                str(ft),
            ]
        )
        == 0
    )
    ckpt = torch.load(ft / "model.pt", weights_only=True)
    assert ckpt["provenance"]["split_sizes"]["train"] == 40
    assert ckpt["config"]["model"]["hidden"] == 16  # architecture from the pretrained run

    assert main(["evaluate", "--model", str(ft)]) == 0
    own = json.loads((ft / "evaluate" / "metrics.json").read_text())
    test = json.loads((ft / "metrics.json").read_text())
    assert abs(own["accuracy"] - test["accuracy"]) < 1e-12 and own["n_events"] == test["n_events"]
    assert (
        main(
            [
                "evaluate",
                "--model",
                str(ft),
                "--data",
                str(tiny_data),
                "--out",
                str(tmp_path / "ev"),
            ]
        )
        == 0
    )
    assert json.loads((tmp_path / "ev" / "metrics.json").read_text())["n_events"] == 120
    assert sorted(p.name for p in (tmp_path / "ev" / "plots").iterdir()) == [
        "roc.png",
        "scores.png",
    ]

    capsys.readouterr()
    assert main(["info", str(ft)]) == 0
    info = capsys.readouterr().out
    assert "wh_vs_zh" in info and "parameters:" in info and "finetuned from" in info


def test_bad_override_and_missing_data_fail_with_one_line(tmp_path, tiny_data, capsys):
    assert main(["pretrain", "--data", str(tiny_data), "model.hiden=3"]) == 1
    err = capsys.readouterr().err
    assert "unknown config key 'model.hiden'" in err and err.count("\n") == 1
    assert main(["pretrain", "--data", str(tiny_data), "train.lr=fast"]) == 1
    assert "train.lr: expected float" in capsys.readouterr().err
    assert main(["finetune", "--task", "wh_vs_zh", "--data", str(tmp_path / "nope")]) == 1
    assert "no such file" in capsys.readouterr().err
    assert main(["evaluate", "--model", str(tmp_path)]) == 1
    assert "model.pt" in capsys.readouterr().err
