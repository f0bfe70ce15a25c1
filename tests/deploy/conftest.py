"""Fixtures of the ``predict`` tests: one tiny trained run, shared by its test files."""

from __future__ import annotations

import pytest
import yaml
from events.rootfiles import random_delphes, random_nanoaod
from hand_events import TINY

from eventgnn.cli import main


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """A tiny model finetuned from scratch on NanoAOD signal against Delphes background, with a
    non-default b-tag threshold (stored in the model, used by predict)."""
    root = tmp_path_factory.mktemp("predict")
    sig = random_nanoaod(root / "sig.root", 200, 11, signal=True)
    bkg = random_delphes(root / "bkg.root", 200, 12, signal=False)
    task = {
        "name": "p",
        "signal": [{"files": [str(sig)], "options": {"btag_threshold": 0.7}}],
        "background": [{"files": [str(bkg)]}],
    }
    (root / "task.yaml").write_text(yaml.safe_dump(task))
    mp = pytest.MonkeyPatch()
    mp.setenv("EVENTGNN_CACHE", str(root / "cache"))
    run = root / "run"
    args = ["finetune", "--task", str(root / "task.yaml"), "--epochs", "2", "--out", str(run)]
    assert main([*args, *TINY]) == 0
    mp.undo()
    return root, run
