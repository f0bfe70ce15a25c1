"""Security: checkpoints cannot run code, YAML cannot build objects, names cannot escape the
output folder, and the code has no unsafe loader left (checked by reading the source)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import torch
from rel_helpers import TINY, error_of

from eventgnn._core.fileio import inside, safe_name

PACKAGE = Path(__file__).resolve().parents[2] / "eventgnn"


class Payload:
    """An object whose unpickling would run code (``__reduce__`` calls a function)."""

    def __reduce__(self):
        return (_mark, ("unpickled!",))


MARK: list[str] = []


def _mark(text: str) -> str:
    MARK.append(text)
    return text


@pytest.mark.parametrize("command", ["info", "evaluate", "finetune"])
def test_checkpoint_with_a_pickled_object_is_refused(command, trained_run, datasets, tmp_path,
                                                     capsys):  # fmt: skip
    run = tmp_path / "evil"
    shutil.copytree(trained_run, run)
    ckpt = torch.load(run / "model.pt", weights_only=True)
    ckpt["provenance"]["note"] = Payload()
    torch.save(ckpt, run / "model.pt")
    argv = {
        "info": ["info", run],
        "evaluate": ["evaluate", "--model", run, "--out", tmp_path / "e"],
        "finetune": ["finetune", "--task", "sig_vs_bkg", "--from", run, "--data",
                     datasets["down"], "--out", tmp_path / "f", *TINY],
    }[command]  # fmt: skip
    line = error_of(argv, capsys)
    assert str(run / "model.pt") in line and "refused" in line and "pickled" in line
    assert MARK == []  # the payload never ran


def test_resume_file_with_a_pickled_object_is_refused(datasets, tmp_path, capsys):
    """``last.pt`` (the resume state) goes through the same weights-only loader."""
    from eventgnn.cli import main

    out = tmp_path / "run"
    assert main(["pretrain", "--data", str(datasets["pre"]), "--epochs", "1", "--out", str(out),
                 *TINY]) == 0  # fmt: skip
    # the run finished; forge a resume file as if it had been interrupted
    torch.save({"fingerprint": Payload()}, out / "last.pt")
    line = error_of(["pretrain", "--data", datasets["pre"], "--epochs", "2", "--out", out, *TINY],
                    capsys)  # fmt: skip
    assert str(out / "last.pt") in line and "refused" in line
    assert MARK == []


def test_yaml_python_tags_are_refused_everywhere(tmp_path, datasets, capsys):
    evil = "!!python/object/apply:os.system ['touch {}']\n".format(tmp_path / "pwned")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(evil)
    line = error_of(["pretrain", "--config", cfg, "--data", datasets["pre"]], capsys)
    assert "could not determine a constructor" in line
    bm = tmp_path / "map.yaml"
    bm.write_text("tree: !!python/object/apply:os.system ['touch {}']\n".format(tmp_path / "pwned"))
    line = error_of(["convert", datasets["down"], "--out", tmp_path / "o", "--format", "ntuple",
                     "--branch-map", bm], capsys)  # fmt: skip
    assert str(bm) in line
    over = error_of(["pretrain", "--data", datasets["pre"], "--out", tmp_path / "r",
                     f"model.hidden=!!python/object/apply:os.system ['touch {tmp_path}/pwned']"],
                    capsys)  # fmt: skip
    assert "model.hidden" in over
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("name", ["../../etc/x", "/etc/passwd", "a/b", "..", ".hidden", "", "a\nb"])
def test_names_that_would_escape_the_output_folder(name, tmp_path, datasets, capsys):
    with pytest.raises(ValueError, match="cannot be used as a file name"):
        safe_name(name, "process")
    line = error_of(["generate", "--process", name or ",", "--lhe", tmp_path / "x.lhe",
                     "--out", tmp_path / "g"], capsys) if name else None  # fmt: skip
    if line is not None:
        assert "cannot be used as a file name" in line
    line = error_of(["scan", "--task", "sig_vs_bkg", "--sizes", "10", "--seeds", "1", "--setups",
                     f"scratch,{name or '.x'}", "--data", datasets["down"], "--out",
                     tmp_path / "s"], capsys)  # fmt: skip
    assert "cannot be used as a file name" in line
    assert not (tmp_path / "s").exists() and not (tmp_path / "g").exists()
    assert not Path("/etc/x").exists()


def test_inside_refuses_paths_outside_the_base(tmp_path):
    assert inside(tmp_path, "a", "b.csv") == tmp_path / "a" / "b.csv"
    for bad in (("..", "x"), ("/etc/passwd",), ("a", "..", "..", "x")):
        with pytest.raises(ValueError, match="outside the output folder"):
            inside(tmp_path, *bad)


def _source_lines(pattern: str) -> list[str]:
    hits = []
    for path in PACKAGE.rglob("*.py"):
        for k, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(pattern, line):
                hits.append(f"{path.relative_to(PACKAGE)}:{k}: {line.strip()}")
    return hits


def test_no_unsafe_loaders_in_the_package():
    """Every torch.load is weights-only, every YAML load is a SafeLoader (``safe_load``, or the
    one strict ``SafeLoader`` subclass of ``fileio``), nothing unpickles."""
    import yaml

    from eventgnn._core import fileio

    loads = _source_lines(r"torch\.load\(")
    assert loads, "expected the checkpoint loader"
    assert all("weights_only=True" in h for h in loads), loads
    yaml_loads = _source_lines(r"yaml\.(load|unsafe_load|full_load)\(|Loader=")
    assert all("Loader=_StrictLoader" in h for h in yaml_loads), yaml_loads
    assert issubclass(fileio._StrictLoader, yaml.SafeLoader)
    assert _source_lines(r"pickle\.loads?\(|dill|cloudpickle|allow_pickle=True") == []
    assert _source_lines(r"(?<![\w.])(eval|exec)\(") == []
