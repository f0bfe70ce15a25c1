"""Structural check of Les Houches Event files before they are handed to Pythia.

Pythia reads LHE files itself (``Beams:frameType = 4``), but on a malformed file it prints warnings
and either fails to initialise with a generic message or silently produces no events. This module
streams the file once (plain or gzip) and reports the first problem with the file, the line, the
event number and what was expected, so ``eventgnn generate --lhe`` can refuse the file up front.

Checked (Les Houches accord, hep-ph/0609017): the ``<init>`` block opens with 10 numbers (beam ids
and energies, PDF sets, weighting strategy, number of processes NPRUP) followed by NPRUP lines of 4
numbers; every ``<event>`` block opens with 6 numbers (NUP, process id, weight, scale, alpha_QED,
alpha_QCD) followed by NUP particle lines of 13 numbers (id, status, 2 mothers, 2 colours,
px py pz E m, lifetime, spin), with finite momenta, mothers within the event; at least one event.
Lines after the particle lines (``#`` comments, ``<mgrwt>``, ``<rwgt>``...) are ignored.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

from .._core.errors import InputError

__all__ = ["check_lhe", "count_lhe"]


def _open(path: Path):
    with open(path, "rb") as f:
        magic = f.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def _tag(line: str, name: str) -> bool:
    """``line`` opens the tag ``<name>`` or ``<name attr=...>`` (not ``<initrwgt>``)."""
    return line.startswith(f"<{name}") and line[len(name) + 1 : len(name) + 2] in (">", " ", "\t")


def _numbers(line: str) -> list[float] | None:
    try:
        return [float(x.replace("d", "e").replace("D", "e")) for x in line.split()]
    except ValueError:
        return None


def check_lhe(path: str | os.PathLike, max_events: int | None = None) -> int:
    """Check ``path`` (plain or gzipped LHE) and return its number of events.

    ``max_events``: stop checking after that many events (and return it). Raises
    ``FileNotFoundError`` for a missing file and :class:`~eventgnn.events.io.InputError` naming the
    file, the line, the event and what was expected otherwise.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: LHE file not found")

    def fail(lineno: int, what: str) -> InputError:
        return InputError(f"LHE file {path}: line {lineno}: {what}")

    n_events = 0
    state = "start"  # start -> init -> (events)
    need = 0  # lines still expected in the current block
    nup = 0
    try:
        with _open(path) as f:
            for lineno, raw in enumerate(f, 1):
                line = raw.strip()
                if state == "start":
                    if _tag(line, "init"):
                        state, need = "init-head", 1
                    elif _tag(line, "event"):
                        raise fail(lineno, "<event> before the <init> block")
                    continue
                if state == "init-head":
                    nums = _numbers(line)
                    if nums is None or len(nums) != 10:
                        raise fail(
                            lineno,
                            "<init> block: expected 10 numbers (beam ids, energies, PDF groups "
                            f"and sets, weight strategy, number of processes), got {line[:80]!r}",
                        )
                    need = int(nums[9])
                    state = "init-procs" if need > 0 else "between"
                    continue
                if state == "init-procs":
                    nums = _numbers(line)
                    if nums is None or len(nums) != 4:
                        raise fail(
                            lineno,
                            "<init> block: expected 4 numbers per process (cross section, "
                            f"error, maximum weight, process id), got {line[:80]!r}",
                        )
                    need -= 1
                    if need == 0:
                        state = "between"
                    continue
                if state == "between":
                    if _tag(line, "event"):
                        n_events += 1
                        state = "event-head"
                    continue
                if state == "event-head":
                    nums = _numbers(line)
                    if nums is None or len(nums) != 6 or nums[0] < 1 or nums[0] != int(nums[0]):
                        raise fail(
                            lineno,
                            f"event {n_events}: expected 6 numbers (number of particles, "
                            "process id, weight, scale, alpha_QED, alpha_QCD), got "
                            f"{line[:80]!r}",
                        )
                    if not all(math.isfinite(x) for x in nums):
                        raise fail(lineno, f"event {n_events}: non-finite weight or scale")
                    nup = need = int(nums[0])
                    state = "particles"
                    continue
                if state == "particles":
                    nums = _numbers(line)
                    if nums is None or len(nums) != 13:
                        raise fail(
                            lineno,
                            f"event {n_events}: expected 13 numbers per particle (id, status, "
                            "2 mothers, 2 colours, px, py, pz, E, m, lifetime, spin), got "
                            f"{line[:80]!r}",
                        )
                    if not all(math.isfinite(x) for x in nums[6:11]):
                        raise fail(lineno, f"event {n_events}: non-finite momentum or mass")
                    if not (0 <= nums[2] <= nup and 0 <= nums[3] <= nup):
                        raise fail(
                            lineno,
                            f"event {n_events}: mother index outside 0..{nup} "
                            f"({int(nums[2])}, {int(nums[3])})",
                        )
                    need -= 1
                    if need == 0:
                        state = "event-tail"
                    continue
                if state == "event-tail":
                    if _tag(line, "event"):
                        raise fail(lineno, f"event {n_events}: no </event> before the next event")
                    if line.startswith("</event>"):
                        state = "between"
                        if max_events is not None and n_events >= max_events:
                            return n_events
                    continue
    except (OSError, EOFError, UnicodeError) as err:  # a truncated gzip stream
        raise InputError(f"LHE file {path}: cannot read it ({type(err).__name__}: {err})") from err
    if state == "start":
        raise InputError(f"LHE file {path}: no <init> block; not a Les Houches Event file?")
    if state in ("init-head", "init-procs"):
        raise InputError(f"LHE file {path}: the file ends inside the <init> block")
    if state in ("event-head", "particles", "event-tail"):
        raise InputError(
            f"LHE file {path}: the file ends inside event {n_events} (truncated file?)"
        )
    if n_events == 0:
        raise InputError(f"LHE file {path}: no <event> blocks after <init>")
    return n_events


def count_lhe(path: str | os.PathLike) -> int:
    """The number of events of a plain or gzipped LHE file, reading it whole but not parsing it
    (fast: a byte scan for ``<event``), and checking that it is complete: a gzip stream that
    breaks off, or a file that does not end with ``</LesHouchesEvents>``, is an
    :class:`~eventgnn._core.errors.InputError` naming the file. ``generate --lhe`` calls it before
    any work starts (:func:`check_lhe` checks the structure of the events it will read)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: LHE file not found")
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    n, last = 0, b""
    try:
        with gzip.open(path, "rb") if gz else open(path, "rb") as f:
            for line in f:
                text = line.strip()
                if text:
                    last = text
                    if text.startswith(b"<event") and text[6:7] in (b">", b" ", b"\t"):
                        n += 1
    except (OSError, EOFError, zlib.error) as err:  # gzip.BadGzipFile is an OSError
        raise InputError(
            f"LHE file {path}: cannot read it to the end; truncated or corrupt? "
            f"({type(err).__name__}: {err})"
        ) from err
    if not last.startswith(b"</LesHouchesEvents>"):
        raise InputError(
            f"LHE file {path}: does not end with </LesHouchesEvents> (truncated file?)"
        )
    return n
