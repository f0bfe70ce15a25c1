"""Config dataclasses: YAML round trip and type-checked dotted overrides."""

from __future__ import annotations

import re

import pytest

from eventgnn.config import (
    ConfigError,
    RunConfig,
    apply_overrides,
    dump_yaml,
    load_yaml,
    validate,
)


def test_defaults_follow_the_paper():
    c = RunConfig()
    assert (c.model.hidden, c.model.mlp_layers, c.model.iterations) == (64, 4, 4)
    assert c.model.shared_weights and c.train.lr == 1e-4 and c.train.lr_decay == 0.99
    assert (c.finetune.head_lr, c.finetune.backbone_lr) == (1e-4, 1e-5)


def test_overrides_are_type_checked():
    c = apply_overrides(
        RunConfig(),
        [
            "model.hidden=128",
            "train.lr=3e-4",
            "train.amp=true",
            "finetune.train_size=500",
            "train.max_per_class=null",
        ],
    )
    assert c.model.hidden == 128 and c.train.lr == 3e-4 and c.train.amp is True
    assert c.finetune.train_size == 500 and c.train.max_per_class is None
    assert apply_overrides(c, ["train.lr=1"]).train.lr == 1.0  # an int is a fine float
    with pytest.raises(ConfigError, match="unknown config key 'model.hiden'"):
        apply_overrides(c, ["model.hiden=3"])
    with pytest.raises(ConfigError, match="model.hidden: expected int, got 'big'"):
        apply_overrides(c, ["model.hidden=big"])
    with pytest.raises(ConfigError, match="expected int"):
        apply_overrides(c, ["model.hidden=1.5"])
    with pytest.raises(ConfigError, match="expected bool"):
        apply_overrides(c, ["model.shared_weights=3"])
    with pytest.raises(ConfigError, match="is a section"):
        apply_overrides(c, ["model=3"])
    with pytest.raises(ConfigError, match="key.sub=value"):
        apply_overrides(c, ["model.hidden"])


def test_yaml_round_trip_and_partial_files(tmp_path):
    c = apply_overrides(RunConfig(), ["model.iterations=2", "train.seed=7"])
    dump_yaml(c, tmp_path / "c.yaml")
    assert load_yaml(tmp_path / "c.yaml") == c
    (tmp_path / "p.yaml").write_text("train:\n  epochs: 5\n")
    p = load_yaml(tmp_path / "p.yaml")
    assert p.train.epochs == 5 and p.model == RunConfig().model
    (tmp_path / "bad.yaml").write_text("train:\n  epoch: 5\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: unknown config key 'train.epoch'"):
        load_yaml(tmp_path / "bad.yaml")


def test_validate_ranges():
    with pytest.raises(ConfigError, match="finetune.mode"):
        validate(apply_overrides(RunConfig(), ["finetune.mode=half"]))
    with pytest.raises(ConfigError, match="below 1"):
        validate(
            apply_overrides(RunConfig(), ["train.val_fraction=0.6", "train.test_fraction=0.5"])
        )


@pytest.mark.parametrize(
    "override, needle",
    [
        ("train.lr=-1e-4", "train.lr: expected a finite number > 0, got -0.0001"),
        ("train.lr=.nan", "train.lr: expected a finite number > 0, got nan"),
        ("train.lr=.inf", "train.lr: expected a finite number > 0, got inf"),
        ("finetune.backbone_lr=0", "finetune.backbone_lr: expected a finite number > 0"),
        ("train.lr_decay=-0.5", "train.lr_decay: expected in (0, 1]"),
        ("train.patience=-1", "train.patience: expected at least 0, got -1"),
        ("train.max_per_class=-1", "train.max_per_class: expected at least 1 (or null"),
        ("train.min_delta=-1", "train.min_delta: expected a finite number >= 0"),
    ],
)
def test_values_out_of_range_are_refused_by_name(override, needle):
    with pytest.raises(ConfigError, match=re.escape(needle)):
        validate(apply_overrides(RunConfig(), [override]))


def test_duplicate_yaml_keys_are_refused(tmp_path):
    (tmp_path / "dup.yaml").write_text("train:\n  lr: 0.001\ntrain:\n  epochs: 3\n")
    with pytest.raises(ConfigError, match=r"dup\.yaml: .*duplicate key 'train' \(first at line 1"):
        load_yaml(tmp_path / "dup.yaml")


def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]")
    # 10^9 values once expanded: refused from the node graph, before any expansion
    (tmp_path / "bomb.yaml").write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match="expands to more than 100,000 values"):
        load_yaml(tmp_path / "bomb.yaml")
    # an ordinary alias still works
    (tmp_path / "ok.yaml").write_text("model: &m {hidden: 8}\n")
    assert load_yaml(tmp_path / "ok.yaml").model.hidden == 8
