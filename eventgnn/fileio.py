"""Atomic file writes: write to a temporary file beside the target, then rename over it.

A job killed mid-write leaves either the old file or the new one, never a truncated file, so
"does the output exist?" is a safe test for "is this piece of work finished?".
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import yaml


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success rename it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+=-]*")


def safe_name(name: str, what: str) -> str:
    """Return ``name`` if it can be used as one path component under an output folder.

    Names from the command line or a config (process names, setup names, task names) become
    folder and file names; one such as ``../../etc/x`` or ``/abs/path`` would write outside the
    output folder the user chose. Letters, digits and ``_ . + = -`` are allowed, not starting
    with a dot, and ``..`` is refused.
    """
    if not isinstance(name, str) or not _SAFE_NAME.fullmatch(name) or ".." in name:
        raise ValueError(
            f"{what} {name!r} cannot be used as a file name: expected letters, digits and "
            "'_ . + = -' (no '/', no '..', not starting with '.')"
        )
    return name


def inside(base: str | os.PathLike, *parts: str) -> Path:
    """``base/parts...``, refused (``ValueError``) if it resolves outside ``base``."""
    base = Path(base)
    path = base.joinpath(*parts)
    root = base.resolve()
    if not path.resolve().is_relative_to(root):
        raise ValueError(f"{path}: resolves outside the output folder {base}")
    return path


def read_yaml(path: str | os.PathLike, error: type[Exception], what: str):
    """``yaml.safe_load`` a file; a missing file or invalid YAML raises ``error`` naming the file.

    ``what`` names the kind of file in the message ("config file", "recipe file").
    """
    path = Path(path)
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise error(f"{path}: {what} not found") from None
    except yaml.YAMLError as err:
        raise error(f"{path}: not valid YAML ({err})") from err
