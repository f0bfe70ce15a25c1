"""A wheel built from the repository carries its recipes and finds them installed anywhere."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # no build isolation: the build backend (setuptools) comes from this environment, so the
    # test needs no network
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(ROOT)],
        check=True, capture_output=True, cwd=out,
    )  # fmt: skip
    (path,) = out.glob("eventgnn-*.whl")
    return path


def test_wheel_holds_every_recipe(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    recipes = ROOT / "eventgnn" / "recipes"
    shipped = sorted(p.relative_to(ROOT).as_posix() for p in recipes.rglob("*") if p.is_file())
    assert shipped and all(name in names for name in shipped), set(shipped) - names


def test_installed_wheel_finds_its_recipes_outside_the_source_tree(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
         str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    code = (
        "import eventgnn, eventgnn.catalog as c; "
        "t = c.get_task('tth_cp_even_vs_odd'); p = c.get_process('stop2'); "
        "print(eventgnn.__file__, t.signal, t.background, p.slha.is_file())"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    env.pop("EVENTGNN_RECIPES", None)
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env,
        check=True,
    )  # fmt: skip
    where, rest = run.stdout.split(" ", 1)
    assert Path(where).is_relative_to(target)  # the installed copy, not the repository
    assert rest.strip() == "('tth_cp_even',) ('tth_cp_odd',) True"
