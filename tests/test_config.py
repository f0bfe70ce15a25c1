"""Config dataclasses: YAML round trip and type-checked dotted overrides."""

from __future__ import annotations

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
