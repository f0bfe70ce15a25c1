"""Helpers of the reliability tests: tiny events, a tiny model, and a driver of the real command
line that checks its error contract. (A plain module with a unique name, not ``conftest``: other
test folders have their own ``conftest`` modules, so ``from conftest import`` is ambiguous.)

The error contract (docs/reliability.md): a bad input gives exit code 1 and exactly one line on
stderr, ``eventgnn COMMAND: error: ...``, naming the file and the field; no traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch
from hand_events import TINY
from hand_events import separable_events as random_events

from eventgnn.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "events"))

torch.set_num_threads(1)  # tiny models: one thread is fastest and the CI machine is shared

__all__ = ["TINY", "cli", "error_of", "random_events"]


def cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """Run ``eventgnn ARGV`` in this process; returns ``(exit code, stdout, stderr)``."""
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def error_of(argv: list[str], capsys) -> str:
    """Run a command that must fail; check the contract and return its one error line."""
    code, _, err = cli(argv, capsys)
    assert code == 1, f"expected exit code 1, got {code}; stderr: {err!r}"
    assert "Traceback" not in err
    # progress bars (tqdm: "%|", or "0ev [00:00, ?ev/s]" without a total) and warnings share
    # stderr; the error is the one other line
    lines = [ln for ln in err.replace("\r", "\n").splitlines()
             if ln.strip() and "Warning" not in ln and "%|" not in ln
             and not ln.rstrip().endswith("/s]")]  # fmt: skip
    assert len(lines) == 1, f"expected one error line, got {lines!r}"
    assert lines[0].startswith(f"eventgnn {argv[0]}: error: "), lines[0]
    log = os.environ.get("RELIABILITY_ERROR_LOG")  # collects the messages for the docs table
    if log:
        test = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0]
        with open(log, "a") as f:
            f.write(f"{test}\t{lines[0]}\n")
    return lines[0]
