"""The training engine: resume (and what it refuses), one writer per run, checkpoints, history,
early stopping."""

from __future__ import annotations

import json
import os
import shutil

import pytest
import torch
from hand_events import random_events
from runtools import assert_same_run, history

from eventgnn._core.errors import LockedError, StaleOutputError
from eventgnn._core.provenance import lock
from eventgnn.events.parquet import write_events
from eventgnn.train.checkpoint import load_checkpoint, load_model
from eventgnn.train.runs import pretrain

QUIET = lambda s: None  # noqa: E731


def test_resumed_run_continues_the_same_history(tiny_cfg, tiny_data, tmp_path):
    quiet = lambda s: None  # noqa: E731
    full = pretrain(tiny_cfg(tiny_data, tmp_path / "full", "train.epochs=4"), log=quiet)
    part = tmp_path / "part"
    pretrain(tiny_cfg(tiny_data, part, "train.epochs=2"), log=quiet)  # "killed" after epoch 2
    assert len(history(part)) == 2
    lines = []
    pretrain(tiny_cfg(tiny_data, part, "train.epochs=4"), log=lines.append)
    assert any("resuming" in s for s in lines)
    assert len(history(part)) == 4
    assert_same_run(full, part)


def _interrupted_run(tiny_cfg, data, out):
    """A run stopped after 1 of 2 epochs: ``last.pt`` and ``config.yaml``, no ``model.pt``."""
    pretrain(tiny_cfg(data, out, "train.epochs=1"), log=QUIET)
    (out / "model.pt").unlink()
    (out / "metrics.json").unlink()
    return (out / "config.yaml").read_text()


@pytest.mark.parametrize(
    "change, needle",
    [
        (("train.lr=0.001",), r"train\.lr: 0\.0001 -> 0\.001"),
        (("model.hidden=8",), r"model\.hidden: 16 -> 8"),  # the architecture
        (("train.split_seed=7",), r"split_seed: 2024 -> 7"),
    ],
)
def test_resume_refuses_other_settings_naming_them(change, needle, tiny_cfg, tiny_data, tmp_path):
    config_text = _interrupted_run(tiny_cfg, tiny_data, tmp_path / "r")
    with pytest.raises(StaleOutputError, match=needle):
        pretrain(tiny_cfg(tiny_data, tmp_path / "r", *change), log=QUIET)
    # the refused run leaves the interrupted run's record as it was
    assert (tmp_path / "r" / "config.yaml").read_text() == config_text


def test_resume_refuses_changed_data(tiny_cfg, tiny_data, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    _interrupted_run(tiny_cfg, data, tmp_path / "r")
    # the same number of events of each process, other events: only the files' identity differs
    write_events(random_events(60, "tt", seed=99, shift=80.0), data / "tt.parquet")
    with pytest.raises(StaleOutputError, match=r"provenance\.files: "):
        pretrain(tiny_cfg(data, tmp_path / "r"), log=QUIET)


def test_an_unfinished_run_is_no_model_and_says_so(tiny_cfg, tiny_data, tmp_path):
    """``--from RUN`` on a run still training (or interrupted) says so, not just "no model"."""
    run = tmp_path / "r"
    _interrupted_run(tiny_cfg, tiny_data, run)
    with pytest.raises(FileNotFoundError, match="holds last.pt, so its training has not finished"):
        load_checkpoint(run)
    (run / "last.pt").unlink()
    with pytest.raises(FileNotFoundError, match="a finished run directory"):
        load_checkpoint(run)


def test_two_runs_into_one_folder_at_once_the_second_fails(tiny_cfg, tiny_data, tmp_path):
    out = tmp_path / "r"
    with lock(out, "training run"):  # as if another pretrain were running there
        with pytest.raises(LockedError, match=rf"another training run is writing here \(pid "
                           rf"{os.getpid()}"):  # fmt: skip
            pretrain(tiny_cfg(tiny_data, out), log=QUIET)
    assert not (out / "model.pt").exists()


def test_model_file_loads_with_weights_only_and_reproduces_outputs(pretrained_run, tiny_data):
    ckpt = torch.load(pretrained_run / "model.pt", weights_only=True)
    for key in (
        "state_dict",
        "model_config",
        "features",
        "normalization",
        "task",
        "provenance",
        "config",
        "version",
    ):
        assert key in ckpt, key
    assert ckpt["task"]["processes"] == ["tt", "wh", "zh"]
    assert ckpt["features"]["node"][:4] == ["pt", "eta", "phi", "energy"]
    torch.testing.assert_close(
        ckpt["normalization"]["node_mean"], ckpt["state_dict"]["norm.node_mean"]
    )
    model, _ = load_model(pretrained_run)
    assert load_checkpoint(pretrained_run)["n_outputs"] == 3
    assert (pretrained_run / "last.pt").exists()
    torch.load(pretrained_run / "last.pt", weights_only=True)


def test_history_and_learning_rate_decay(pretrained_run):
    rows = history(pretrained_run)
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    for r in rows:
        k = int(r["epoch"]) - 1
        assert float(r["lr_all"]) == pytest.approx(1e-4 * 0.99**k, rel=1e-12)
        assert float(r["wall_s"]) > 0
    import json

    metrics = json.loads((pretrained_run / "metrics.json").read_text())
    assert 0 <= metrics["accuracy"] <= 1 and 0 <= metrics["auc"] <= 1
    assert set(metrics["per_class"]) == {"tt", "wh", "zh"}


def test_early_stopping_restores_best_weights(tiny_cfg, tiny_data, tmp_path):
    # lr 1e-30: the weights cannot change in float32, so the validation loss never improves after
    # epoch 1, and patience 2 stops after epoch 3
    run = pretrain(
        tiny_cfg(
            tiny_data,
            tmp_path / "es",
            "train.lr=1e-30",
            "train.patience=2",
            "train.min_epochs=0",
            "train.epochs=10",
        ),
        log=lambda s: None,
    )
    rows = history(run)
    assert len(rows) == 3
    import json

    m = json.loads((run / "metrics.json").read_text())
    assert m["stopped_early"] and m["best_epoch"] == 1


def test_multilabel_pretraining_runs(tiny_cfg, tiny_data, tmp_path):
    run = pretrain(
        tiny_cfg(tiny_data, tmp_path / "ml", "train.epochs=1", task="multilabel"),
        log=lambda s: None,
    )
    ckpt = load_checkpoint(run)
    assert ckpt["n_outputs"] == 41 and ckpt["task"]["kind"] == "multilabel"


def test_no_early_stop_before_min_epochs(tiny_cfg, tiny_data, tmp_path):
    run = pretrain(
        tiny_cfg(
            tiny_data,
            tmp_path / "me",
            "train.lr=1e-30",
            "train.patience=1",
            "train.min_epochs=4",
            "train.epochs=10",
        ),
        log=lambda s: None,
    )
    assert len(history(run)) == 4


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_run_with_amp_learns_and_reloads_on_cpu(tiny_cfg, tiny_data, tmp_path):
    """A run on the GPU (bf16 autocast) learns the separable tiny task, and its model.pt loads
    and scores on the CPU."""
    run = tmp_path / "gpu"
    pretrain(
        tiny_cfg(tiny_data, run, "train.device=cuda", "train.amp=true", "train.epochs=30",
                 "train.lr=0.003", "train.min_epochs=30"),
        log=lambda s: None,
    )  # fmt: skip
    rows = history(run)
    assert float(rows[-1]["train_loss"]) < 0.7 * float(rows[0]["train_loss"])
    model, _ = load_model(run)
    assert next(model.parameters()).device.type == "cpu"
    assert json.loads((run / "metrics.json").read_text())["accuracy"] > 0.5  # chance: 1/3


def test_run_plots_hold_a_training_sample_and_evaluate_plots_what_it_scores(
    tiny_cfg, tiny_data, tmp_path, monkeypatch
):
    from eventgnn.train import scoring
    from eventgnn.train.evaluate import evaluate_run

    calls, real = [], scoring.plot_run

    def spy(folder, kind, names, scores, y, history, **kwargs):
        calls.append({"scores": scores, **kwargs})
        return real(folder, kind, names, scores, y, history, **kwargs)

    monkeypatch.setattr(scoring, "plot_run", spy)
    config = tiny_cfg(tiny_data, tmp_path / "run", "train.plots=true", "train.epochs=3")
    run = pretrain(config, log=QUIET)
    assert sorted(p.name for p in (run / "plots").iterdir()) == [
        "loss.png",
        "roc.png",
        "scores.png",
    ]
    metrics = json.loads((run / "metrics.json").read_text())
    sizes = metrics["split_sizes"]
    fit = calls[0]
    # the training sample is capped at the test split's size, scored with the best weights
    assert len(fit["train_scores"]) == min(sizes["train"], sizes["test"]) == len(fit["scores"])
    assert fit["best_epoch"] == metrics["best_epoch"] and fit["split"] == "test"

    evaluate_run(run, log=QUIET)
    assert sorted(p.name for p in (run / "evaluate" / "plots").iterdir()) == [
        "roc.png",
        "scores.png",
    ]
    assert calls[1]["train_scores"] is None and calls[1]["best_epoch"] is None


def test_a_run_killed_within_an_epoch_resumes_there_bit_for_bit(tiny_cfg, tiny_data, tmp_path,
                                                                  monkeypatch):  # fmt: skip
    """``train.checkpoint_steps``: last.pt within an epoch; a run stopped right after its third
    step checkpoint (mid epoch 2) resumes from that step and ends as the uninterrupted run."""
    from eventgnn.train import engine

    steps = ("train.checkpoint_steps=1", "train.batch_size=16", "train.epochs=3")
    full = pretrain(tiny_cfg(tiny_data, tmp_path / "full", *steps), log=QUIET)
    real, saves = engine._save_resume, []

    def stop_after_a_few(path, progress, *args):
        real(path, progress, *args)
        saves.append(progress.mid_epoch)
        if (
            progress.mid_epoch is not None
            and progress.epoch == 1
            and progress.mid_epoch["step"] == 3
        ):
            raise KeyboardInterrupt  # killed right after the checkpoint of step 3 of epoch 2

    monkeypatch.setattr(engine, "_save_resume", stop_after_a_few)
    part = tmp_path / "part"
    with pytest.raises(KeyboardInterrupt):
        pretrain(tiny_cfg(tiny_data, part, *steps), log=QUIET)
    monkeypatch.setattr(engine, "_save_resume", real)
    lines = []
    pretrain(tiny_cfg(tiny_data, part, *steps), log=lines.append)
    assert any("resuming" in s and "step 3 of epoch 2" in s for s in lines)
    assert_same_run(full, part)


def test_validation_shares_cover_the_split_once_in_order():
    """Under torchrun each rank validates a contiguous share; in rank order they are the split."""
    from eventgnn.train.engine import _share

    for n, world in ((10, 3), (7, 2), (1, 4), (0, 2)):
        shares = [_share(n, r, world) for r in range(world)]
        assert torch.equal(torch.cat(shares), torch.arange(n))
        assert max(map(len, shares)) - min(map(len, shares)) <= 1


def test_warmup_ramps_the_learning_rate_then_decays(tiny_cfg, tiny_data, tmp_path):
    """``train.warmup_epochs=3``: lr x 1/3, 2/3, 1 in the first three epochs, times lr_decay**e."""
    run = pretrain(tiny_cfg(tiny_data, tmp_path / "w", "train.warmup_epochs=3", "train.epochs=5",
                            "train.lr=0.01", "train.lr_decay=0.5"), log=QUIET)  # fmt: skip
    lrs = [float(row["lr_all"]) for row in history(run)]
    expected = [0.01 * 0.5**e * min(1, (e + 1) / 3) for e in range(5)]
    assert lrs == pytest.approx(expected, rel=1e-12)
