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


MAX_YAML_NODES = 100_000
"""Nodes a YAML file may expand to (aliases counted at every use): a config or recipe has a few
hundred; a 434-byte "billion laughs" alias bomb would expand to 10^9."""


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses duplicate keys (YAML keeps the last one silently) and
    documents whose aliases expand to more than :data:`MAX_YAML_NODES` nodes."""

    def construct_document(self, node):
        sizes: dict[int, int] = {}

        def size(n) -> int:  # expanded size: a node used k times counts k times (memoised)
            if id(n) not in sizes:
                sizes[id(n)] = 0  # a recursive alias adds nothing more
                children = n.value if isinstance(n.value, list) else []
                flat = [c for pair in children for c in pair] if children and isinstance(
                    children[0], tuple) else children  # fmt: skip
                sizes[id(n)] = 1 + sum(size(c) for c in flat)
            return sizes[id(n)]

        if size(node) > MAX_YAML_NODES:
            raise yaml.YAMLError(
                f"the document expands to more than {MAX_YAML_NODES:,} values through aliases"
            )
        return super().construct_document(node)

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {str(key)[:80]!r} (first at line "
                        f"{seen[key] + 1})", key_node.start_mark,
                    )  # fmt: skip
                seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def load_yaml_text(text: str):
    """Parse YAML text safely (no Python objects), refusing duplicate keys and alias bombs."""
    return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass


def read_yaml(path: str | os.PathLike, error: type[Exception], what: str):
    """Load a YAML file with :func:`load_yaml_text`; a missing file or invalid YAML raises
    ``error`` naming the file (the message cut to a sane length).

    ``what`` names the kind of file in the message ("config file", "recipe file").
    """
    path = Path(path)
    try:
        return load_yaml_text(path.read_text())
    except FileNotFoundError:
        raise error(f"{path}: {what} not found") from None
    except yaml.YAMLError as err:
        why = " ".join(str(err).split())
        raise error(f"{path}: not valid YAML ({why[:300]})") from err
