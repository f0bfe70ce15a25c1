"""The command line's face: a description and an example for every command, the common overrides,
``--version``, and torch threads chosen from the cores that are free."""

from __future__ import annotations

import importlib

import pytest
import torch

from eventgnn import cli
from eventgnn._core import system
from eventgnn._core.version import __version__


def test_every_command_has_a_description_and_an_example(capsys):
    parser = cli.build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert set(commands) == set(cli.EXAMPLES)
    for name, sub in commands.items():
        text = sub.format_help()
        assert sub.description and sub.description in text, name
        assert f"example:\n  eventgnn {name} " in text, name
        assert ("train.lr=1e-4" in text) == (name in ("pretrain", "finetune", "scan")), name
        assert ("--threads N" in text) == (name in cli.THREADED), name


def test_the_listed_overrides_are_config_keys_with_their_defaults():
    from eventgnn.config import FinetuneConfig, ModelConfig, TrainConfig

    sections = {"train": TrainConfig(), "model": ModelConfig(), "finetune": FinetuneConfig()}
    for word in cli.OVERRIDES.split():
        key, eq, value = word.partition("=")
        if not eq or "." not in key or key == "key.sub":
            continue
        section, field = key.split(".")
        default = getattr(sections[section], field)  # an unknown key fails here
        if value.replace("-", "").replace(".", "").replace("e", "").isdigit():
            assert float(value) == default, word
        elif value in ("true", "false"):
            assert (value == "true") == default, word


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"eventgnn {__version__}"


def test_free_cores_counts_the_busy_ones(monkeypatch):
    ticks = iter([(0, 0), (100, 200)])  # half the machine's time busy: one of two cores
    monkeypatch.setattr(system, "_cpu_ticks", lambda: next(ticks))
    monkeypatch.setattr(system, "cpu_count", lambda: 2)
    monkeypatch.setattr(system.os, "cpu_count", lambda: 2)
    assert system.free_cores(window=0) == 1
    ticks = iter([(0, 0), (0, 200)])
    assert system.free_cores(window=0) == 2


def test_threads_default_to_the_free_cores_and_say_so(monkeypatch, capsys):
    before = torch.get_num_threads()
    monkeypatch.setattr(system, "cpu_count", lambda: 2)
    monkeypatch.setattr(system, "free_cores", lambda: 1)
    try:
        cli._set_threads(None)
        assert torch.get_num_threads() == 1
        assert "torch threads: 1 (1 of 2 cores busy with other jobs" in capsys.readouterr().out
        cli._set_threads(3)
        assert torch.get_num_threads() == 3
        with pytest.raises(ValueError, match="--threads: expected a positive number"):
            cli._set_threads(0)
    finally:
        torch.set_num_threads(before)


def test_a_configured_thread_count_is_not_overruled(monkeypatch, tmp_path, capsys):
    """``train.num_threads=2`` (or --threads) wins over the free-core default, which then says
    nothing: the command's first line never names a count the training does not use."""
    monkeypatch.setattr(system, "free_cores", lambda: 1)
    monkeypatch.setattr(system, "cpu_count", lambda: 2)
    calls = []
    monkeypatch.setattr(cli, "_set_threads", lambda given: calls.append(given))
    monkeypatch.setattr(cli, "_default_data", lambda *a, **k: str(tmp_path))
    module = importlib.import_module("eventgnn.train.finetune")  # the package re-exports a function
    monkeypatch.setattr(module, "finetune", lambda *a, **k: None)
    assert cli.main(["finetune", "--task", "wh_vs_zh", "train.num_threads=2"]) == 0
    assert calls == []
    assert cli.main(["finetune", "--task", "wh_vs_zh"]) == 0
    assert calls == [None]
