"""The event record: one schema shared by every reader and every consumer.

One row per event. Objects are variable-length lists (awkward arrays), stored as Parquet:

=====================  ==============  ==========================================================
field                  type            meaning
=====================  ==============  ==========================================================
objects.pt             float32 list    transverse momentum [GeV]
objects.eta            float32 list    pseudorapidity (0 for MET)
objects.phi            float32 list    azimuth in [-pi, pi)
objects.energy         float32 list    energy, massless: ``E = pT cosh(eta)`` (``pT`` for MET)
objects.kind           int8 list       ``ObjectType``: 0 jet, 1 e, 2 mu, 3 photon, 4 MET
objects.btag           int8 list       1 for a b-tagged jet, else 0
objects.charge         int8 list       lepton charge, else 0
process                string          process name from the catalog (``wh``, ``ttbar``...)
label                  int64           index of ``process`` in the dataset's process list
targets                float32[41]     multilabel truth (:data:`TARGET_NAMES`); NaN without truth
weight                 float32         event weight (1 for unweighted samples)
source                 string          origin: ``file:entry`` or ``generator:seed``
=====================  ==============  ==========================================================

Undefined placeholders are 0 (the paper's convention): ``btag`` for non-jets, ``charge`` for
jets, photons and MET, ``eta`` for MET.
"""

from __future__ import annotations

import enum
import math
import os

import awkward as ak
import numpy as np

from .._core.errors import SchemaError

OBJECT_FIELDS: dict[str, type] = {
    "pt": np.float32,
    "eta": np.float32,
    "phi": np.float32,
    "energy": np.float32,
    "kind": np.int8,
    "btag": np.int8,
    "charge": np.int8,
}
"""Per-object fields of ``objects`` and their dtypes, in node-feature order."""

RENAMED_OBJECT_FIELDS: dict[str, str] = {"type": "kind"}
"""Old name -> name of per-object fields that were renamed (``type``: shadowed by awkward's
``Array.type``). Parquet shards written before are read with the new names
(:func:`eventgnn.events.parquet.current_names`)."""

EVENT_FIELDS: dict[str, type] = {
    "process": str,
    "label": np.int64,
    "weight": np.float32,
    "source": str,
}
"""Per-event scalar fields (``objects`` and ``targets`` are described separately)."""


class ObjectType(enum.IntEnum):
    """Object type codes stored in ``objects.kind``."""

    JET = 0
    ELECTRON = 1
    MUON = 2
    PHOTON = 3
    MET = 4


MULTIPLICITY_TARGETS: tuple[str, ...] = (
    "n_higgs",
    "n_top",
    "n_V",
    "n_W",
    "n_Z",
    "n_b",
    "n_lepton",
    "n_photon",
)
"""Regression targets (MSE loss): counts of particles in the generator record."""

KINEMATIC_PARTICLES: tuple[str, ...] = ("higgs1", "top1", "top2")
"""Leading Higgs, leading top, subleading top (by pT): each gets 11 one-hot bin targets."""

PT_EDGES: dict[str, tuple[float, float]] = {
    "higgs1": (30.0, 200.0),
    "top1": (30.0, 300.0),
    "top2": (30.0, 300.0),
}
"""pT bin edges [GeV]: bins (0, a), (a, b), (b, inf)."""

ETA_EDGES: tuple[float, ...] = (-1.5, 0.0, 1.5)
PHI_EDGES: tuple[float, ...] = (-math.pi / 2, 0.0, math.pi / 2)


def _kinematic_names() -> list[str]:
    names = []
    for p in KINEMATIC_PARTICLES:
        names += [f"{p}_pt{i}" for i in range(3)]
        names += [f"{p}_eta{i}" for i in range(4)]
        names += [f"{p}_phi{i}" for i in range(4)]
    return names


TARGET_NAMES: tuple[str, ...] = MULTIPLICITY_TARGETS + tuple(_kinematic_names())
"""The 41 multilabel targets, in order: 8 multiplicities, then 3 x (3 pT + 4 eta + 4 phi) bins."""

N_TARGETS = len(TARGET_NAMES)
N_REGRESSION = len(MULTIPLICITY_TARGETS)
assert N_TARGETS == 41


def kinematic_bins(pt, eta, phi, particle: str) -> np.ndarray:
    """One-hot pT, eta and phi bins (11 columns) for one particle per event.

    ``pt``, ``eta`` and ``phi`` are 1-d arrays with NaN where the particle is absent; absent
    particles give all-zero rows (the paper's convention). Returns float32 ``[n_events, 11]``.
    """
    pt = np.asarray(pt, dtype=np.float64)
    eta = np.asarray(eta, dtype=np.float64)
    phi = np.asarray(phi, dtype=np.float64)
    present = ~np.isnan(pt)
    out = np.zeros((len(pt), 11), dtype=np.float32)
    rows = np.nonzero(present)[0]
    cols_pt = np.searchsorted(PT_EDGES[particle], pt[present], side="right")
    cols_eta = 3 + np.searchsorted(ETA_EDGES, eta[present], side="right")
    cols_phi = 7 + np.searchsorted(PHI_EDGES, phi[present], side="right")
    for cols in (cols_pt, cols_eta, cols_phi):
        out[rows, cols] = 1.0
    return out


def make_targets(counts: dict[str, np.ndarray], kin: dict[str, tuple]) -> np.ndarray:
    """Assemble the ``[n_events, 41]`` target matrix.

    ``counts`` maps each of :data:`MULTIPLICITY_TARGETS` to an integer array; ``kin`` maps each of
    :data:`KINEMATIC_PARTICLES` to ``(pt, eta, phi)`` arrays with NaN where absent.
    """
    mult = np.stack([np.asarray(counts[n], dtype=np.float32) for n in MULTIPLICITY_TARGETS], 1)
    bins = [kinematic_bins(*kin[p], particle=p) for p in KINEMATIC_PARTICLES]
    return np.concatenate([mult, *bins], axis=1).astype(np.float32)


def missing_targets(n_events: int) -> np.ndarray:
    """NaN targets for sources without a generator record."""
    return np.full((n_events, N_TARGETS), np.nan, dtype=np.float32)


def make_events(
    objects: dict[str, ak.Array],
    *,
    process,
    weight=None,
    targets=None,
    source,
    label=None,
) -> ak.Array:
    """Build an event-record array from per-object jagged fields and per-event fields.

    ``objects`` maps every name in :data:`OBJECT_FIELDS` to a jagged array (same counts for all).
    Scalars given for ``process``, ``weight`` or ``source`` are broadcast to every event. ``label``
    defaults to -1 (unassigned: a dataset assigns it from its process list).
    """
    missing = set(OBJECT_FIELDS) - set(objects)
    if missing:
        raise ValueError(f"objects lack fields {sorted(missing)}{_renamed_hint(objects)}")
    obj = ak.zip(
        {k: ak.values_astype(objects[k], OBJECT_FIELDS[k]) for k in OBJECT_FIELDS},
        depth_limit=2,
    )
    n = len(obj)

    def per_event(value, dtype):
        if value is None or np.isscalar(value):
            return np.full(n, value, dtype=dtype)
        arr = np.asarray(value, dtype=dtype)
        if arr.shape != (n,):
            raise ValueError(f"expected {n} per-event values, got shape {arr.shape}")
        return arr

    targets = missing_targets(n) if targets is None else np.asarray(targets, np.float32)
    if targets.shape != (n, N_TARGETS):
        raise ValueError(f"targets must have shape ({n}, {N_TARGETS}), got {targets.shape}")
    return ak.zip(
        {
            "objects": obj,
            "process": per_event(process, object).astype(str),
            "label": per_event(-1 if label is None else label, np.int64),
            "targets": ak.to_regular(ak.from_numpy(targets), axis=1),
            "weight": per_event(1.0 if weight is None else weight, np.float32),
            "source": per_event(source, object).astype(str),
        },
        depth_limit=1,
    )


def validate(events: ak.Array, where: str = "<array>") -> ak.Array:
    """Check that ``events`` has every field of the event record with the right type, and that
    kinematics and weights are finite (:data:`FINITE_FIELDS`).

    Raises :class:`SchemaError` naming ``where`` (a file name), the offending field and, for a
    non-finite value, the entry.
    """
    fields = set(ak.fields(events))
    for name in ("objects", "targets", *EVENT_FIELDS):
        if name not in fields:
            raise SchemaError(where, name, "field is missing")
    obj_fields = set(ak.fields(events.objects))
    for name, dtype in OBJECT_FIELDS.items():
        if name not in obj_fields:
            hint = _renamed_hint(obj_fields, name)
            raise SchemaError(where, f"objects.{name}", f"field is missing{hint}")
        got = _leaf_dtype(events.objects[name])
        if got != np.dtype(dtype):
            raise SchemaError(where, f"objects.{name}", f"expected {np.dtype(dtype)}, got {got}")
    got = _leaf_dtype(events.targets)
    if got != np.float32:
        raise SchemaError(where, "targets", f"expected float32, got {got}")
    t = ak.type(events.targets).content
    size = getattr(t, "size", None)
    if size != N_TARGETS:
        raise SchemaError(where, "targets", f"expected {N_TARGETS} values per event, got {t}")
    for name, dtype in EVENT_FIELDS.items():
        layout_type = ak.type(events[name]).content
        if dtype is str:
            if "string" not in str(layout_type):
                raise SchemaError(where, name, f"expected string, got {layout_type}")
        elif _leaf_dtype(events[name]) != np.dtype(dtype):
            raise SchemaError(
                where, name, f"expected {np.dtype(dtype)}, got {_leaf_dtype(events[name])}"
            )
    in_range = _check_ranges(events, where)  # in range also means finite: skip those checks
    _check_finite(events, where, skip=RANGED_FIELDS if in_range else ())
    return events


def _renamed_hint(fields, name: str | None = None) -> str:
    """A note for an error message when ``fields`` hold the old name of a renamed object field
    (of ``name``, or of any), else ``""``."""
    for old, new in RENAMED_OBJECT_FIELDS.items():
        if old in fields and name in (None, new):
            return f" (found '{old}', the field's old name: rename it to '{new}')"
    return ""


PT_LIMIT = 1e5
"""Largest object ``pT`` [GeV], 100 TeV: beyond any collider's reach (the FCC-hh's centre-of-mass
energy); larger values are artefacts (a wrong unit, a corrupt file)."""

ETA_LIMIT = 10.0
"""Largest ``|eta|`` of an object: detectors end near 5; larger values are artefacts."""

PHI_LIMIT = float(np.float32(math.pi))
"""``phi`` must lie in [-pi, pi] (pi as rounded to float32, as ``atan2`` gives it in float32).
Values outside are refused, not wrapped: a reader that wrote them has a bug or another
convention the user should know about."""

MAX_OBJECTS_ENV = "EVENTGNN_MAX_OBJECTS"
DEFAULT_MAX_OBJECTS = 1000
"""Most objects in one event unless ``EVENTGNN_MAX_OBJECTS`` says otherwise: an event with N
objects has N (N - 1) edges; 1,000 objects take 7 GB to train on (docs/reliability.md)."""


def max_objects() -> int:
    """The per-event object limit (``EVENTGNN_MAX_OBJECTS``, default 1000)."""
    value = os.environ.get(MAX_OBJECTS_ENV, "")
    try:
        limit = int(value) if value else DEFAULT_MAX_OBJECTS
    except ValueError:
        raise ValueError(f"{MAX_OBJECTS_ENV}: expected an integer, got {value[:80]!r}") from None
    if limit < 1:
        raise ValueError(f"{MAX_OBJECTS_ENV}: expected a positive integer, got {limit}")
    return limit


RANGED_FIELDS = ("objects.pt", "objects.eta", "objects.phi")
"""Fields whose range check (by minimum and maximum) also proves them finite."""


def _check_ranges(events: ak.Array, where: str) -> bool:
    """Physics ranges of the objects (vectorised): at most :func:`max_objects` per event,
    ``0 <= pT <= PT_LIMIT``, ``|eta| <= ETA_LIMIT`` (MET: ``eta = 0``), ``|phi| <= pi``, a known
    type.
    Returns True when every value is in range, finite included (the usual case, found with
    reductions only: a NaN makes a minimum NaN and the comparison false); False when a value
    is not finite (for :func:`_check_finite` to name), raises for one out of range."""
    counts = ak.to_numpy(ak.num(events.objects, axis=1))
    limit = max_objects()
    if len(counts) and counts.max() > limit:
        entry = int(np.argmax(counts > limit))
        raise SchemaError(
            where, "objects",
            f"entry {entry} has {counts[entry]:,} objects, more than the limit of {limit:,} "
            f"per event ({MAX_OBJECTS_ENV})",
        )  # fmt: skip
    obj = events.objects
    pt, eta, phi, kind = (
        ak.to_numpy(ak.flatten(obj[k], axis=None)) for k in ("pt", "eta", "phi", "kind")
    )
    met = kind == int(ObjectType.MET)  # an int: comparing with the enum member is 6x slower
    if len(kind) == 0 or (  # the usual case, with reductions only (no temporary arrays)
        pt.min() >= 0
        and pt.max() <= PT_LIMIT
        and -ETA_LIMIT <= eta.min()
        and eta.max() <= ETA_LIMIT
        and -PHI_LIMIT <= phi.min()
        and phi.max() <= PHI_LIMIT
        and 0 <= kind.min()
        and kind.max() <= max(ObjectType)
        and not np.logical_and(eta, met).any()
    ):
        return True
    types = ", ".join(f"{int(t)} {t.name.lower()}" for t in ObjectType)
    checks = (
        ("objects.pt", pt < 0, "expected pT >= 0"),
        ("objects.pt", (pt > PT_LIMIT) & (pt < np.inf), f"expected pT <= {PT_LIMIT:g} GeV"),
        ("objects.eta", (np.abs(eta) > ETA_LIMIT) & ~met, f"expected |eta| <= {ETA_LIMIT:g}"),
        ("objects.eta", (eta != 0) & met, "expected eta = 0 for MET"),
        ("objects.phi", np.abs(phi) > PHI_LIMIT, "expected phi in [-pi, pi]"),
        ("objects.kind", (kind < 0) | (kind > max(ObjectType)), f"expected a type code {types}"),
    )
    for name, bad, expected in checks:
        if bad.any():
            first = int(np.argmax(bad))
            entry = int(np.searchsorted(np.cumsum(counts), first, side="right"))
            values = {"objects.pt": pt, "objects.eta": eta, "objects.phi": phi}.get(name, kind)
            raise SchemaError(
                where, name,
                f"value {values[first]:g} in entry {entry} ({int(bad.sum()):,} in all); {expected}",
            )  # fmt: skip
    return False


def first_non_finite(values: ak.Array) -> tuple[int, float, int] | None:
    """``(entry, value, count)`` of the first NaN or infinite number in a (jagged) float array
    (``entry`` is the outermost index), or None when every value is finite. Vectorised."""
    flat = np.asarray(ak.to_numpy(ak.flatten(values, axis=None)))
    if flat.dtype.kind != "f":
        return None
    bad = ~np.isfinite(flat)
    if not bad.any():
        return None
    per_entry = ~np.isfinite(values)
    while per_entry.ndim > 1:
        per_entry = ak.any(per_entry, axis=-1)
    entry = int(np.argmax(ak.to_numpy(per_entry)))
    return entry, float(flat[np.argmax(bad)]), int(bad.sum())


FINITE_FIELDS = ("objects.pt", "objects.eta", "objects.phi", "objects.energy", "weight")
"""Fields that must hold finite numbers (``targets`` may be NaN: no generator record)."""


def _check_finite(events: ak.Array, where: str, skip: tuple[str, ...] = ()) -> None:
    # NaN kinematics would pass silently into graph features (and NaN pT fails every cut, so
    # objects would vanish without a word): refuse them, naming the field and the entry
    for name in FINITE_FIELDS:
        if name in skip:
            continue
        values = events.objects[name[8:]] if name.startswith("objects.") else events[name]
        found = first_non_finite(values)
        if found is not None:
            entry, value, count = found
            raise SchemaError(
                where, name,
                f"non-finite value {value} in entry {entry} ({count} in all); expected finite "
                "numbers",
            )  # fmt: skip


def _leaf_dtype(array: ak.Array) -> np.dtype:
    try:
        return ak.to_numpy(ak.flatten(array, axis=None)[:0]).dtype
    except (TypeError, ValueError):
        return np.dtype(object)
