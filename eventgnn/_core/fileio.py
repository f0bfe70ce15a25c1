"""Atomic file writes: write to a temporary file beside the target, then rename over it.

A job killed mid-write leaves either the old file or the new one, never a truncated file, so
"does the output exist?" is a safe test for "is this piece of work finished?".
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import yaml

TMP_SUFFIX = ".tmp"
"""Temporary files are ``.<target name>.<random>.tmp`` beside their target."""


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success rename it to ``path``.

    The temporary file is created with mode 0666 less the umask, as ``open`` would create the
    target (``tempfile.mkstemp`` makes every file ``-rw-------``, which group members on a
    cluster cannot read). A full disk while writing is an ``OSError`` naming the target
    ("disk full writing FILE"), whatever the writer's own message was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}{TMP_SUFFIX}"
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:  # pragma: no cover - 32 random bits
            continue
    try:
        try:
            yield tmp
        except Exception as err:
            if _disk_full(err, path.parent):
                raise OSError(errno.ENOSPC, f"disk full writing {path}") from err
            raise
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _disk_full(err: BaseException, folder: Path) -> bool:
    """Did a write fail because the disk (or the quota) is full? Writers often hide the cause
    (pyarrow: "file metadata is only available after writer close"; torch: "enforce fail at
    inline_container.cc"), so the free space is looked at too."""
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    try:
        st = os.statvfs(folder)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 1 << 20


def remove_stale_temporaries(folder: str | os.PathLike, stems=None) -> int:
    """Remove the temporary files a killed job left in ``folder`` (not recursive); only call
    this while holding the folder's lock (:func:`eventgnn._core.provenance.lock`), so that no other
    job is writing them. ``stems``: only the temporaries of targets whose names begin with one of
    these and a dot (a job's own files, in a folder that other jobs write at the same time).
    Returns the number removed."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    patterns = [f".*{TMP_SUFFIX}"] if stems is None else [f".{s}.*{TMP_SUFFIX}" for s in stems]
    stale = [p for pattern in patterns for p in folder.glob(pattern) if p.is_file()]
    for p in stale:
        p.unlink(missing_ok=True)
    return len(stale)


def clip(value, limit: int = 200) -> str:
    """``str(value)`` cut to ``limit`` characters (with the total length), for error messages:
    a 100 kB name or a huge value must not be echoed whole."""
    text = str(value)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 30]}... ({len(text):,} characters)"


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


NAME_MAX = 200
"""Longest name that becomes a file or folder name (file systems allow 255 bytes; shard names
add a suffix)."""

_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+=-]*")


def safe_name(name: str, what: str) -> str:
    """Return ``name`` if it can be used as one path component under an output folder.

    Names from the command line or a config (process names, setup names, task names) become
    folder and file names; one such as ``../../etc/x`` or ``/abs/path`` would write outside the
    output folder the user chose. Letters, digits and ``_ . + = -`` are allowed, not starting
    with a dot, and ``..`` is refused.
    """
    if isinstance(name, str) and len(name) > NAME_MAX:
        raise ValueError(
            f"{what} {clip(repr(name), 120)} is too long for a file name (at most {NAME_MAX} "
            "characters)"
        )
    if not isinstance(name, str) or not _SAFE_NAME.fullmatch(name) or ".." in name:
        raise ValueError(
            f"{what} {clip(repr(name), 120)} cannot be used as a file name: expected letters, "
            "digits and '_ . + = -' (no '/', no '..', not starting with '.')"
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
