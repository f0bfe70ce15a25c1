"""Shared plumbing of the ROOT readers (Delphes, NanoAOD, flat ntuples).

Opening a file, finding its tree and reading a set of branches, with every failure turned into an
:class:`~eventgnn.events.io.InputError` that names the file, the branch and what was expected.
Nothing here loops over events: branches come back as whole (jagged) awkward arrays.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import awkward as ak
import numpy as np

from .._core.errors import InputError
from .schema import ETA_LIMIT, PHI_LIMIT, first_non_finite, make_events
from .selection import DEFAULT_CUTS, SelectionCuts, build_objects, drop_empty


def _why(err: BaseException) -> str:
    """An exception as one line (uproot's messages span several; the CLI prints one line)."""
    return " ".join(f"{type(err).__name__}: {err}".split())


@contextmanager
def open_tree(path: str | os.PathLike, tree: str, kind: str) -> Iterator:
    """Open ``path`` and yield its TTree ``tree``; ``kind`` ("Delphes", "NanoAOD"...) goes into
    error messages so the user learns which format was expected."""
    import uproot  # 1.5 s to import: paid on the first ROOT read, never by Parquet-only use

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    try:
        f = uproot.open(path)
    except Exception as err:  # uproot raises ValueError/OSError/struct errors on corrupt files
        raise InputError(f"{path}: not a readable ROOT file ({_why(err)})") from err
    try:
        names = sorted({k.split(";")[0] for k in f.keys(recursive=False)})
        if tree not in names:
            raise InputError(
                f"{path}: no tree '{tree}' (expected a {kind} file; the file holds "
                f"{', '.join(names) or 'nothing'})"
            )
        try:
            t = f[tree]
        except Exception as err:
            raise InputError(
                f"{path}: cannot read tree '{tree}'; truncated or corrupt file? ({_why(err)})"
            ) from err
        if not hasattr(t, "arrays"):
            raise InputError(f"{path}: '{tree}' is a {type(t).__name__}, expected a TTree")
        yield t
    finally:
        f.close()


def has_branch(tree, name: str) -> bool:
    """True if ``tree`` has a branch called ``name`` at any depth (Delphes nests ``Jet/Jet.PT``)."""
    try:
        tree[name]
    except Exception:
        return False
    return True


def read_branches(
    tree,
    path,
    branches: Mapping[str, str],
    kind: str,
    finite: bool = True,
    entries: tuple[int, int] | None = None,
) -> dict[str, ak.Array]:
    """Read ``{key: branch name}`` from ``tree``; a missing branch is an :class:`InputError`.

    ``key`` is what the reader calls the quantity (``jet pT``), so the message says both which
    branch was looked for and what it should have held. With ``finite`` (reconstructed objects,
    MET, weights), a NaN or infinite value is an :class:`InputError` naming the branch and the
    entry: before selection, because a NaN pT would fail every cut and vanish silently.
    Generator-record branches are read with ``finite=False`` (Delphes stores |eta| = 999.9 or
    inf for beam particles; the truth code treats them as out of range). ``entries``: read only
    tree entries ``[start, stop)`` (chunked conversion of large files).
    """
    missing = [(key, b) for key, b in branches.items() if not has_branch(tree, b)]
    if missing:
        key, b = missing[0]
        more = f" (and {len(missing) - 1} more missing)" if len(missing) > 1 else ""
        raise InputError(
            f"{path}: branch '{b}' not found in tree '{tree.name}' (expected the {kind} branch "
            f"holding {key}){more}"
        )
    try:
        # one call reads every basket once; unique names so aliases ("pt" and "met" on the same
        # branch in a branch map) are not read twice
        names = sorted(set(branches.values()))
        start, stop = entries if entries is not None else (None, None)
        arrays = {n: tree[n].array(library="ak", entry_start=start, entry_stop=stop) for n in names}
    except Exception as err:
        raise InputError(
            f"{path}: cannot read branches of tree '{tree.name}'; truncated or corrupt file? "
            f"({_why(err)})"
        ) from err
    if finite:
        for key, b in branches.items():
            found = first_non_finite(arrays[b])
            if found is not None:
                entry, value, count = found
                raise InputError(
                    f"{path}: branch '{b}' ({kind} {key}) holds {value} in entry {entry} "
                    f"({count} non-finite values in all); expected finite numbers"
                )
            _check_range(arrays[b], key, b, path, kind)
    return {key: arrays[b] for key, b in branches.items()}


def _check_range(values: ak.Array, key: str, branch: str, path, kind: str) -> None:
    """Physics ranges of a kinematic branch, before the selection (which would drop a negative
    pT or an absurd eta without a word): pT >= 0, |eta| <= ETA_LIMIT, |phi| <= pi. The
    quantity is told by the reader's key (``jet pT``, ``missing ET phi``, ``jets.eta``)."""
    name = key.lower().replace(".", " ")
    if name.endswith(" pt") or name == "missing et":
        bad, expected = values < 0, "pT >= 0"
    elif name.endswith(" eta"):
        bad, expected = abs(values) > ETA_LIMIT, f"|eta| <= {ETA_LIMIT:g}"
    elif name.endswith(" phi"):
        bad, expected = abs(values) > PHI_LIMIT, "phi in [-pi, pi] (refused, not wrapped)"
    else:
        return
    flat = ak.to_numpy(ak.flatten(bad, axis=None))
    if not flat.any():
        return
    per_entry = bad if bad.ndim == 1 else ak.any(bad, axis=-1)
    entry = int(np.argmax(ak.to_numpy(per_entry)))
    value = ak.to_numpy(ak.flatten(values, axis=None))[int(np.argmax(flat))]
    raise InputError(
        f"{path}: branch '{branch}' ({kind} {key}) holds {value:g} in entry {entry} "
        f"({int(flat.sum()):,} such values in all); expected {expected}"
    )


def one_per_event(values: ak.Array, path, branch: str) -> np.ndarray:
    """A per-event scalar from a branch that may be a scalar or a length-1 list (Delphes writes
    ``MissingET.MET`` and ``Event.Weight`` as one-element collections)."""
    if values.ndim == 1:
        return ak.to_numpy(values)
    n = ak.to_numpy(ak.num(values, axis=1))
    bad = np.nonzero(n != 1)[0]
    if len(bad):
        raise InputError(
            f"{path}: branch '{branch}' has {n[bad[0]]} entries in entry {bad[0]}, "
            "expected exactly one per event"
        )
    return ak.to_numpy(ak.flatten(values, axis=1))


NO_WEIGHT = "none"
"""The weight branch name that means unit weights (a task file's ``weight: none``)."""


def read_weight(
    tree, path, branch: str | None, default: str, kind: str, entries: tuple[int, int] | None
) -> np.ndarray | None:
    """Per-event weights from ``branch`` (which must exist), else from the format's ``default``
    branch when the file has it; None (unit weights) when neither applies, or when ``branch``
    is :data:`NO_WEIGHT`."""
    if branch == NO_WEIGHT:
        return None
    name = branch or default
    if branch is None and not has_branch(tree, default):
        return None
    w = read_branches(tree, path, {"event weight": name}, kind, entries=entries)["event weight"]
    return one_per_event(w, path, name)


def collection(**fields: ak.Array) -> ak.Array:
    """Zip per-object jagged branches of one collection into a record list per event."""
    return ak.zip(fields)


def standard_collections(b: dict, btag: ak.Array, path, met_branches: tuple[str, str]) -> dict:
    """Jets, electrons, muons, photons and MET from the branches both ROOT readers name alike.

    ``b`` maps the readers' quantity names ("jet pT", "electron charge", "missing ET", ...) to
    jagged arrays; ``btag`` is the per-jet tag (0/1) each format derives its own way;
    ``met_branches`` names the two MET branches for error messages.
    """
    return {
        "jets": collection(pt=b["jet pT"], eta=b["jet eta"], phi=b["jet phi"], btag=btag),
        "electrons": collection(
            pt=b["electron pT"],
            eta=b["electron eta"],
            phi=b["electron phi"],
            charge=b["electron charge"],
        ),  # fmt: skip
        "muons": collection(
            pt=b["muon pT"], eta=b["muon eta"], phi=b["muon phi"], charge=b["muon charge"]
        ),
        "photons": collection(pt=b["photon pT"], eta=b["photon eta"], phi=b["photon phi"]),
        "met": ak.zip(
            {
                "pt": one_per_event(b["missing ET"], path, met_branches[0]),
                "phi": one_per_event(b["missing ET phi"], path, met_branches[1]),
            }
        ),
    }


def empty_collection(n_events: int, names: tuple[str, ...]) -> ak.Array:
    """A collection with no objects in any of ``n_events`` events (a source without it)."""
    empty = ak.unflatten(np.zeros(0, np.float32), np.zeros(n_events, np.int64))
    return ak.zip({k: empty for k in names})


def sources(path, n_events: int, first_entry: int = 0) -> np.ndarray:
    """``"file:entry"`` for every entry (vectorised string concatenation). The file is named by
    its resolved path, so a source names one event wherever the command ran (the duplicate check
    of :func:`~eventgnn.events.parquet.check_duplicates` relies on it)."""
    entries = np.arange(first_entry, first_entry + n_events)
    return np.char.add(f"{Path(path).resolve()}:", entries.astype(str)).astype(object)


def finish(
    path: Path,
    *,
    jets: ak.Array,
    electrons: ak.Array,
    muons: ak.Array,
    photons: ak.Array,
    met: ak.Array | None,
    weight,
    targets,
    process: str | None,
    cuts: SelectionCuts = DEFAULT_CUTS,
    first_entry: int = 0,
    keep_empty: bool = False,
) -> ak.Array:
    """Selection, event record, then removal (counted, warned) of events with no object, unless
    ``keep_empty`` (one row per entry, for alignment with the file; such a row has no objects).

    ``source`` records the tree entry before any event is dropped, so it always points back to
    the right entry of the input file.
    """
    n = len(jets)
    objects = build_objects(
        jets=jets, electrons=electrons, muons=muons, photons=photons, met=met, cuts=cuts
    )
    events = make_events(
        {k: objects[k] for k in ak.fields(objects)},
        process=path.stem if process is None else process,
        weight=weight,
        targets=targets,
        source=sources(path, n, first_entry),
    )
    if keep_empty:
        return events
    kept, _ = drop_empty(events, str(path))
    return kept
