"""The manifest of a dataset generated as array jobs: every shard of the request, by name.

``eventgnn generate --shard I/N`` makes part ``I`` of ``N`` of a request; ``N`` independent jobs
(a cluster's array job) together make the whole dataset. Each job writes ``OUT/manifest.json``
naming every shard of the full request (the same file from every job; a job of another request
into the same folder is refused). Reading a folder that holds a manifest
(:func:`eventgnn.events.io.input_files`) checks it against the shards present and refuses, naming
them, a set with shards missing (a job that failed or has not run) or doubled (a shard of another
request with the same process and seed, or any shard the manifest does not name: the same events
could be read twice).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from .._core.errors import DatasetError, StaleOutputError
from .._core.fileio import clip
from .._core.provenance import differences, listed, write_record

MANIFEST = "manifest.json"

_SEEDED = re.compile(r"(?P<process>.+)_seed(?P<seed>\d+)_n\d+\.parquet")


def write_manifest(folder: str | os.PathLike, request: Mapping, shards: Iterable[Mapping],
                   overwrite: bool = False) -> Path:  # fmt: skip
    """Write ``folder/manifest.json``: the ``request`` (plain values) and its ``shards``
    (``{"path" relative to folder, "process", "seed", "events"}``, all of them). An existing
    manifest of another request is an error (:class:`StaleOutputError` naming what differs)
    unless ``overwrite``."""
    folder = Path(folder)
    path = folder / MANIFEST
    record = json.loads(json.dumps({"made_by": "eventgnn generate", "request": dict(request),
                                    "shards": list(shards)}, default=str))  # fmt: skip
    if path.is_file() and not overwrite:
        try:
            stored = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise StaleOutputError(f"{path}: unreadable manifest ({err})") from err
        diffs = differences(stored, record)
        if diffs:
            raise StaleOutputError(
                f"{path}: this folder holds the manifest of another request: "
                f"{listed(diffs)}; generate into another --out, or rerun with "
                "--overwrite"
            )
        return path
    write_record(path, record)
    return path


def check_manifest(folder: str | os.PathLike, found: Iterable[Path]) -> None:
    """Refuse the shards ``found`` under ``folder`` unless they are exactly those its manifest
    names: :class:`DatasetError` naming the missing shards (and how many) and the doubled or
    unlisted ones."""
    folder = Path(folder)
    manifest = json.loads((folder / MANIFEST).read_text())
    listed = {(folder / s["path"]).resolve(): s for s in manifest["shards"]}
    present = {Path(f).resolve(): Path(f) for f in found}
    missing = [folder / listed[p]["path"] for p in listed if p not in present]
    extra = [present[p] for p in present if p not in listed]
    if not missing and not extra:
        return
    seeds = {(s["process"], int(s["seed"])): folder / s["path"] for s in listed.values()}
    problems = []
    if missing:
        problems.append(f"{len(missing)} of its {len(listed)} shards are missing "
                        f"({_names(missing)}; a job that failed or has not run: rerun its "
                        "--shard I/N)")  # fmt: skip
    doubled, unlisted = [], []
    for p in extra:
        m = _SEEDED.fullmatch(p.name)
        twin = seeds.get((m["process"], int(m["seed"]))) if m else None
        (doubled if twin is not None else unlisted).append(
            f"{clip(p, 120)} (the events of {clip(twin, 120)})" if twin else clip(p, 120)
        )
    if doubled:
        problems.append(f"{len(doubled)} doubled: {'; '.join(doubled[:3])}"
                        + (" ..." if len(doubled) > 3 else ""))  # fmt: skip
    if unlisted:
        problems.append(f"{len(unlisted)} not in the manifest: {', '.join(unlisted[:3])}"
                        + (" ..." if len(unlisted) > 3 else ""))  # fmt: skip
    raise DatasetError(
        f"{clip(folder)}: the shards differ from its {MANIFEST}: "
        + "; ".join(problems)
        + "; remove the extra shards, or the manifest if the folder is no longer one request"
    )


def _names(paths: list[Path], limit: int = 5) -> str:
    shown = ", ".join(clip(p, 120) for p in paths[:limit])
    return shown + (f" and {len(paths) - limit} more" if len(paths) > limit else "")
