"""A wheel built from the repository carries its recipes and shipped models and finds them
installed anywhere."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _source_copy(dest: Path) -> Path:
    """The files a fresh clone holds (tracked, and untracked ones git does not ignore), copied to
    ``dest``: a wheel built in the checkout itself would reuse setuptools' ``build/`` folder,
    which keeps files since removed from the tree (a model deleted from ``eventgnn/catalog/models``
    would still ship)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        if (ROOT / name).is_file():  # a deleted but still tracked file is not in the tree
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    source = _source_copy(tmp_path_factory.mktemp("source"))
    # no build isolation: the build backend (setuptools) comes from this environment, so the
    # test needs no network
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(source)],
        check=True, capture_output=True, cwd=out,
    )  # fmt: skip
    (path,) = out.glob("eventgnn-*.whl")
    return path


def test_wheel_holds_every_recipe_and_model(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("catalog/recipes", "catalog/models"):  # models: README, every .pt and card
        files = (ROOT / "eventgnn" / folder).rglob("*")
        shipped = {p.relative_to(ROOT).as_posix() for p in files if p.is_file()}
        in_wheel = {name for name in names if name.startswith(f"eventgnn/{folder}/")}
        assert shipped and in_wheel == shipped, (shipped - in_wheel, in_wheel - shipped)


def test_installed_wheel_finds_its_recipes_outside_the_source_tree(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
         str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    code = (
        "import eventgnn, eventgnn.catalog.processes as c, eventgnn.catalog.registry; "
        "t = c.get_task('tth_cp_even_vs_odd'); p = c.get_process('stop2'); "
        "print(eventgnn.__file__, t.signal, t.background, p.slha.is_file(), "
        "(eventgnn.catalog.registry.model_dirs()[0] / 'README.md').is_file(), "
        "len(eventgnn.list_models()))"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    env.pop("EVENTGNN_RECIPES", None)
    env.pop("EVENTGNN_MODELS", None)
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env,
        check=True,
    )  # fmt: skip
    where, rest = run.stdout.split(" ", 1)
    assert Path(where).is_relative_to(target)  # the installed copy, not the repository
    n_models = len(list((ROOT / "eventgnn" / "catalog" / "models").glob("*.json")))
    assert rest.strip() == f"('tth_cp_even',) ('tth_cp_odd',) True True {n_models}"
