"""Finetuning: parameter groups, learning-rate decay, freezing, schema checks."""

from __future__ import annotations

import csv

import pytest
import torch

from eventgnn._core.errors import CatalogError, ConfigError, DatasetError, StaleOutputError
from eventgnn.catalog.resolve import resolve_task
from eventgnn.config import ModelConfig
from eventgnn.model import EventGNN
from eventgnn.train.checkpoint import load_model
from eventgnn.train.finetune import (
    classes_hint,
    finetune,
    finetune_groups,
    head_from_classes,
)

QUIET = lambda s: None  # noqa: E731


def _ft(tiny_cfg, data, out, pretrained, *overrides):
    config = tiny_cfg(
        data,
        out,
        *overrides,
        command="finetune",
        task="wh_vs_zh",
        pretrained=str(pretrained) if pretrained else None,
    )
    return finetune(config, resolve_task(config.task), log=QUIET)


def _state(run):
    return torch.load(run / "model.pt", weights_only=True)["state_dict"]


def test_tasks_from_the_catalog_or_signal_vs_background():
    task = resolve_task("wh_vs_zh").task
    assert (task.signal, task.background, task.builtin) == (("wh",), ("zh",), True)
    # a catalog name with "_vs_" inside a process name is never split
    assert resolve_task("tth_cp_even_vs_odd").task.background == ("tth_cp_odd",)
    custom = resolve_task("foo_vs_bar").task
    assert (custom.signal, custom.background, custom.builtin) == (("foo",), ("bar",), False)
    with pytest.raises(CatalogError, match="unknown task 'nonsense'; known: wh_vs_zh, "):
        resolve_task("nonsense")


def test_custom_task_missing_process_says_how_the_name_was_read(tiny_cfg, tiny_data, tmp_path):
    config = tiny_cfg(tiny_data, tmp_path / "r", command="finetune", task="wh_vs_odd")
    with pytest.raises(DatasetError, match="no events of process.*odd.*read as signal process"):
        finetune(config, resolve_task(config.task), log=QUIET)


def test_full_mode_has_two_groups_at_head_and_backbone_rates():
    model = EventGNN(ModelConfig(hidden=8, latent=8, mlp_layers=2, iterations=1), 3)
    model.replace_head(1)
    groups = finetune_groups(model, "full", 1e-4, 1e-5)
    assert [g["name"] for g in groups] == ["head", "backbone"]
    assert [g["lr"] for g in groups] == [1e-4, 1e-5]
    assert {id(p) for p in groups[0]["params"]} == {id(p) for p in model.head.parameters()}
    every = {id(p) for p in model.parameters()}
    ids = [id(p) for g in groups for p in g["params"]]
    assert len(ids) == len(set(ids)) and set(ids) == every


def test_finetune_lr_groups_decay_by_099_per_epoch(tiny_cfg, tiny_data, pretrained_run, tmp_path):
    run = _ft(tiny_cfg, tiny_data, tmp_path / "ft", pretrained_run, "train.epochs=3")
    with open(run / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3
    for k, r in enumerate(rows):  # the rate used during epoch k+1
        assert float(r["lr_head"]) == pytest.approx(1e-4 * 0.99**k, rel=1e-12)
        assert float(r["lr_backbone"]) == pytest.approx(1e-5 * 0.99**k, rel=1e-12)
    opt = torch.load(run / "last.pt", weights_only=True)["optimizer"]
    assert len(opt["param_groups"]) == 2
    assert opt["param_groups"][0]["lr"] == pytest.approx(1e-4 * 0.99**3, rel=1e-12)
    assert opt["param_groups"][1]["lr"] == pytest.approx(1e-5 * 0.99**3, rel=1e-12)
    # the pretrained weights moved (full finetune), the normalisation did not
    pre, ft = _state(pretrained_run), _state(run)
    assert not torch.equal(
        pre["processor.0.edge_mlp.linears.0.weight"], ft["processor.0.edge_mlp.linears.0.weight"]
    )
    assert torch.equal(pre["norm.node_mean"], ft["norm.node_mean"])
    assert ft["head.weight"].shape == (1, 16)


@pytest.mark.parametrize("mode", ["frozen", "frozen-decoder"])
def test_frozen_modes_leave_frozen_weights_bit_identical(
    tiny_cfg, tiny_data, pretrained_run, tmp_path, mode
):
    run = _ft(tiny_cfg, tiny_data, tmp_path / mode, pretrained_run, f"finetune.mode={mode}")
    pre, ft = _state(pretrained_run), _state(run)
    frozen = ("norm.", "node_encoder.", "edge_encoder.", "global_encoder.", "processor.")
    if mode == "frozen":
        frozen += ("decoder.",)
    changed = {k for k in ft if not k.startswith("head.") and not torch.equal(pre[k], ft[k])}
    assert not {k for k in changed if k.startswith(frozen)}
    if mode == "frozen-decoder":
        assert any(k.startswith("decoder.") for k in changed)  # a new decoder was trained
    opt = torch.load(run / "last.pt", weights_only=True)["optimizer"]
    assert [g["lr"] for g in opt["param_groups"]] == [pytest.approx(1e-4 * 0.99**2)]


def test_from_scratch_uses_one_group_at_train_lr(tiny_cfg, tiny_data, tmp_path):
    run = _ft(tiny_cfg, tiny_data, tmp_path / "scratch", None)
    with open(run / "history.csv") as f:
        row = next(csv.DictReader(f))
    assert float(row["lr_all"]) == 1e-4 and "lr_head" not in row
    model, ckpt = load_model(run)
    assert ckpt["pretrained_from"] is None and ckpt["task"]["signal"] == ["wh"]


def test_feature_schema_mismatch_is_refused(tiny_cfg, tiny_data, pretrained_run, tmp_path):
    ckpt = torch.load(pretrained_run / "model.pt", weights_only=True)
    ckpt["features"]["node"] = ckpt["features"]["node"][:-1] + ["isolation"]
    bad = tmp_path / "bad"
    bad.mkdir()
    torch.save(ckpt, bad / "model.pt")
    with pytest.raises(ValueError, match=r"node features: checkpoint \[.*'isolation'\] vs data"):
        _ft(tiny_cfg, tiny_data, tmp_path / "ft", bad)


def test_model_from_before_type_became_kind_loads(pretrained_run, tmp_path):
    """A model.pt saved while the object field was called ``type`` lists that node feature:
    the same column, so it loads, with the current name."""
    ckpt = torch.load(pretrained_run / "model.pt", weights_only=True)
    node = ckpt["features"]["node"]
    ckpt["features"]["node"] = ["type" if n == "kind" else n for n in node]
    old = tmp_path / "old"
    old.mkdir()
    torch.save(ckpt, old / "model.pt")
    model, loaded = load_model(old)
    assert loaded["features"]["node"] == node and "kind" in node
    reference = load_model(pretrained_run)[0].state_dict()
    assert all(torch.equal(v, reference[k]) for k, v in model.state_dict().items())


def test_an_architecture_asked_for_is_not_ignored_silently(
    tiny_cfg, tiny_data, pretrained_run, tmp_path
):
    """A finetune keeps the pretrained architecture; ``model.*`` settings that ask for another
    one are named in a line (a tiny run's own settings, which match it, are not)."""
    hidden = load_model(pretrained_run)[1]["model_config"]["hidden"]
    lines = []
    config = tiny_cfg(tiny_data, tmp_path / "ft", f"model.hidden={2 * hidden}", command="finetune",
                      task="wh_vs_zh", pretrained=str(pretrained_run))  # fmt: skip
    run = finetune(config, resolve_task(config.task), log=lines.append)
    assert load_model(run)[1]["model_config"]["hidden"] == hidden
    note = [line for line in lines if "not used" in line]
    assert note == [
        f"model.hidden={2 * hidden} not used: a finetune keeps the architecture of "
        f"{pretrained_run} (model.hidden={hidden}); --from scratch trains the architecture you "
        "ask for"
    ]
    lines.clear()
    finetune(tiny_cfg(tiny_data, tmp_path / "same", command="finetune", task="wh_vs_zh",
                      pretrained=str(pretrained_run)), resolve_task("wh_vs_zh"),
             log=lines.append)  # fmt: skip
    assert not [line for line in lines if "not used" in line]


def test_head_from_classes_starts_at_the_pretrained_log_odds(
    tiny_cfg, tiny_data, pretrained_run, tmp_path
):
    """``finetune.head=classes``: the new head is the signal's row minus the background's of
    the pretrained multiclass head (wh_vs_zh: wh - zh); with the head all but frozen (a learning
    rate of 1e-30) the finetuned head is still exactly that."""
    pre = torch.load(pretrained_run / "model.pt", weights_only=True)
    names, state = pre["task"]["names"], pre["state_dict"]
    i, j = names.index("wh"), names.index("zh")
    run = _ft(tiny_cfg, tiny_data, tmp_path / "cls", pretrained_run, "finetune.head=classes",
              "finetune.mode=frozen", "finetune.head_lr=1e-30")  # fmt: skip
    head, w, b = _state(run), state["head.weight"], state["head.bias"]
    torch.testing.assert_close(head["head.weight"], (w[i] - w[j])[None])
    torch.testing.assert_close(head["head.bias"], (b[i] - b[j])[None])
    new = _state(_ft(tiny_cfg, tiny_data, tmp_path / "new", pretrained_run, "finetune.mode=frozen",
                     "finetune.head_lr=1e-30"))  # fmt: skip
    assert not torch.allclose(new["head.weight"], head["head.weight"])  # the default: a new head


def test_a_new_head_on_pretraining_classes_names_head_classes(
    tiny_cfg, tiny_data, pretrained_run, tmp_path
):
    """wh and zh are classes of the multiclass pretraining: a finetune with a new head says that
    ``finetune.head=classes`` would start from the pretrained classifier; with it, it does not."""
    hints = {}
    for head in ("new", "classes"):
        lines = []
        config = tiny_cfg(tiny_data, tmp_path / head, f"finetune.head={head}", command="finetune",
                          task="wh_vs_zh", pretrained=str(pretrained_run))  # fmt: skip
        finetune(config, resolve_task(config.task), log=lines.append)
        hints[head] = [line for line in lines if "finetune.head=classes would" in line]
    assert hints["classes"] == []
    assert hints["new"] == [
        "head: new, as in the reference study; wh, zh are classes of the pretraining, so "
        "finetune.head=classes would start from its classifier instead (docs/training.md)"
    ]
    assert (
        classes_hint({"kind": "multilabel", "names": ["wh", "zh"]}, resolve_task("wh_vs_zh").task)
        is None
    )
    assert (
        classes_hint({"kind": "multiclass", "names": ["wh", "tt"]}, resolve_task("wh_vs_zh").task)
        is None
    )


def test_head_from_classes_refusals(tiny_cfg, tiny_data, pretrained_run, tmp_path):
    w, b = torch.zeros(3, 4), torch.zeros(3)
    multiclass = {"kind": "multiclass", "names": ["wh", "zh", "tt"]}
    task = resolve_task("wh_vs_zh").task
    weight, bias = head_from_classes(torch.arange(12.0).view(3, 4), b, multiclass, task, "R")
    assert weight.tolist() == [[-4.0, -4.0, -4.0, -4.0]] and bias.shape == (1,)
    with pytest.raises(ConfigError, match="R is a multilabel pretraining"):
        head_from_classes(w, b, {"kind": "multilabel", "names": ["n_jet"]}, task, "R")
    with pytest.raises(ConfigError, match="process 'zh' of task wh_vs_zh is not a class of R"):
        head_from_classes(w, b, {"kind": "multiclass", "names": ["wh", "tt"]}, task, "R")
    with pytest.raises(ConfigError, match="needs a pretrained run"):
        _ft(tiny_cfg, tiny_data, tmp_path / "s", None, "finetune.head=classes")
    with pytest.raises(ConfigError, match="frozen-decoder"):
        _ft(tiny_cfg, tiny_data, tmp_path / "d", pretrained_run, "finetune.head=classes",
            "finetune.mode=frozen-decoder")  # fmt: skip


@pytest.mark.parametrize(
    "change, needle",
    [
        ("finetune.head_lr=0.001", r"finetune\.head_lr: 0\.0001 -> 0\.001"),
        ("finetune.head=classes", r"finetune\.head: 'new' -> 'classes'"),
    ],
)
def test_a_finetune_resumes_only_with_its_finetune_settings(
    change, needle, tiny_cfg, tiny_data, pretrained_run, tmp_path
):
    out = tmp_path / "ft"
    _ft(tiny_cfg, tiny_data, out, pretrained_run, "train.epochs=1")
    (out / "model.pt").unlink()  # interrupted after its first epoch
    with pytest.raises(StaleOutputError, match=needle):
        _ft(tiny_cfg, tiny_data, out, pretrained_run, change)
