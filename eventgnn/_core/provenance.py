"""What made an output: records, fingerprints, and one writer per output folder.

Every output eventgnn reuses on a rerun (a converted or generated shard, a run directory, a scan
folder) carries a *record* of what made it: its input files (path, size, modification time), the
reader, generator or training options, seeds and the code version. A rerun reuses the output only
when the record it would write equals the stored one; otherwise it stops with
:class:`~eventgnn._core.errors.StaleOutputError`, which names what differs and how to go on (another
``--out``, or ``--overwrite``). A job holds an exclusive :func:`lock` on its output folder for its
whole duration, so two jobs never write one folder at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .errors import LockedError, StaleOutputError
from .fileio import write_text_atomic

LOCK_NAME = ".eventgnn.lock"


def file_identity(path: str | os.PathLike) -> dict[str, Any]:
    """``{"path", "size", "mtime_ns"}`` of an input file (its resolved path): a file replaced,
    rewritten or grown since an output was made no longer matches."""
    p = Path(path).resolve()
    st = p.stat()
    return {"path": str(p), "size": int(st.st_size), "mtime_ns": int(st.st_mtime_ns)}


def fingerprint(record: Any, length: int = 12) -> str:
    """A short stable hash of a plain-value record (canonical JSON), for file names."""
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def differences(stored: Any, wanted: Any, prefix: str = "") -> list[str]:
    """Human-readable ``key: stored -> wanted`` lines where two records differ (values cut)."""
    if isinstance(stored, Mapping) and isinstance(wanted, Mapping):
        out = []
        for key in sorted(set(stored) | set(wanted), key=str):
            name = f"{prefix}{key}"
            if key not in stored:
                out.append(f"{name}: (absent) -> {_short(wanted[key])}")
            elif key not in wanted:
                out.append(f"{name}: {_short(stored[key])} -> (absent)")
            else:
                out += differences(stored[key], wanted[key], f"{name}.")
        return out
    if stored != wanted:
        return [f"{prefix.rstrip('.') or 'value'}: {_short(stored)} -> {_short(wanted)}"]
    return []


def _short(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def listed(diffs: list[str], limit: int = 3) -> str:
    """The first ``limit`` differences joined by ``; `` and how many more there are, for a
    message that names what differs without listing hundreds of files."""
    more = f" (and {len(diffs) - limit} more)" if len(diffs) > limit else ""
    return "; ".join(diffs[:limit]) + more


def check_record(path: str | os.PathLike, wanted: Mapping, what: str, remedy: str) -> bool:
    """``True`` when the record at ``path`` exists and equals ``wanted`` (the output may be
    reused); ``False`` when there is none. A different record raises
    :class:`~eventgnn._core.errors.StaleOutputError` naming up to three differences and
    ``remedy``."""
    path = Path(path)
    if not path.exists():
        return False
    try:
        stored = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise StaleOutputError(f"{path}: unreadable record of {what} ({err}); {remedy}") from err
    diffs = differences(stored, json.loads(json.dumps(wanted, default=str)))
    if not diffs:
        return True
    raise StaleOutputError(
        f"{what} was made from other inputs or options: {listed(diffs)}; {remedy}"
    )


def write_record(path: str | os.PathLike, record: Mapping) -> None:
    """Write a record (atomically) as JSON."""
    write_text_atomic(path, json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")


@contextlib.contextmanager
def lock(folder: str | os.PathLike, what: str = "job") -> Iterator[Path]:
    """Hold an exclusive lock on ``folder`` (created if missing) while the block runs. A second
    job asking for it fails at once with :class:`~eventgnn._core.errors.LockedError` naming the
    holder's PID and host. The lock is the kernel's (``flock``): it ends with the holding process,
    even when that is killed, so a stale lock file never blocks a rerun."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with lock_file(folder / LOCK_NAME, f"{folder}: another {what} is writing here"):
        yield folder


@contextlib.contextmanager
def lock_file(path: str | os.PathLike, busy: str) -> Iterator[Path]:
    """Hold the kernel's exclusive ``flock`` on the file ``path`` (created if missing; it records
    the holder's PID and host) while the block runs; a second holder fails at once with
    :class:`~eventgnn._core.errors.LockedError`: ``busy``, the holder, and what to do."""
    path = Path(path)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            raise LockedError(
                f"{busy} ({holder}); wait for it to end, or use another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on host {socket.gethostname()}\n".encode(), 0)
        yield path
    finally:
        os.close(fd)  # releases the lock
