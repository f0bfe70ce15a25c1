"""Tiny hand-written events shared by every test folder (graph_nets' ``SMALL_GRAPH_*`` habit).

Each event is a list of objects ``(pt, eta, phi, kind, btag, charge)``; energies follow the record's
convention (``pT cosh eta``, ``pT`` for MET). The numbers are chosen so that Delta phi wraps across
+-pi in event 0 and event 2 has a single object (a graph without edges).

Also the one generator of random events (:func:`random_events`, :func:`separable_events`) and
the one set of overrides for a tiny, fast model (:data:`TINY`) that every test folder uses.

A plain module (importable as ``from hand_events import ...``: pytest puts ``tests/`` on the path
for ``tests/conftest.py``); the fixtures live in ``tests/conftest.py``.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from eventgnn.events.schema import N_TARGETS, ObjectType, make_events

J, E, M, P, MET = (int(t) for t in ObjectType)

TINY_MODEL = ("model.hidden=16", "model.latent=16", "model.mlp_layers=2", "model.iterations=1")
"""Overrides that shrink the model so that a training run on a few hundred events takes about a
second."""

TINY = (
    *TINY_MODEL,
    "train.plots=false",
    "train.device=cpu",
    "train.batch_size=32",
    "train.num_threads=1",  # more threads only contend on a small, shared CPU
)
""":data:`TINY_MODEL` plus fast, CPU-only training settings (CPU: bit-identical resume holds
only where sums are deterministic, and CUDA's atomic scatter-adds are not)."""

SMALL_EVENTS: list[list[tuple[float, float, float, int, int, int]]] = [
    # jet near phi = +pi, b-jet near phi = -pi, electron, MET
    [
        (120.0, 0.5, 3.0, J, 0, 0),
        (60.0, -1.2, -3.0, J, 1, 0),
        (35.0, 1.0, 0.2, E, 0, -1),
        (40.0, 0.0, -1.5, MET, 0, 0),
    ],
    # two photons and a muon
    [
        (80.0, 0.3, 1.0, P, 0, 0),
        (45.0, -2.0, -2.0, P, 0, 0),
        (22.0, 2.1, 0.5, M, 0, 1),
    ],
    # one object only: no edges
    [(55.0, 0.0, 0.7, MET, 0, 0)],
]
SMALL_PROCESSES = ["tth", "ggf", "ttbar"]
SMALL_LABELS = [2, 0, 1]


def events_from_lists(events, processes=None, labels=None, targets=None) -> ak.Array:
    """Build a valid event-record array from lists of ``(pt, eta, phi, kind, btag, charge)``."""
    counts = np.array([len(e) for e in events], dtype=np.int64)
    flat = np.array([o for e in events for o in e], dtype=np.float64).reshape(-1, 6)
    pt, eta, phi, typ, btag, charge = flat.T
    energy = np.where(typ == MET, pt, pt * np.cosh(eta))
    cols = {"pt": pt, "eta": eta, "phi": phi, "energy": energy, "kind": typ, "btag": btag,
            "charge": charge}  # fmt: skip
    objects = {k: ak.unflatten(v, counts) for k, v in cols.items()}
    n = len(events)
    return make_events(
        objects,
        process=processes if processes is not None else np.array(["test"] * n, dtype=object),
        label=labels,
        targets=targets,
        source=np.array([f"hand:{i}" for i in range(n)], dtype=object),
    )


def random_events(
    n: int,
    process: str = "proc",
    seed: int = 0,
    shift: float = 0.0,
    targets: bool = True,
    max_objects: int = 7,
    n_types: int = 5,
    counts=None,
):
    """``n`` events of 2 to ``max_objects`` objects (or of the given ``counts``) with
    physical-looking fields; ``shift`` moves the pT scale so that processes are (weakly)
    separable; object types are drawn from the first ``n_types`` codes (4 leaves MET out)."""
    rng = np.random.default_rng(seed)
    if counts is None:
        counts = rng.integers(2, max_objects + 1, size=n)
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    pt = rng.exponential(40.0, total) + 20.0 + shift
    eta = rng.uniform(-2.5, 2.5, total)
    phi = rng.uniform(-np.pi, np.pi, total)
    typ = rng.integers(0, n_types, total)
    eta = np.where(typ == 4, 0.0, eta)
    energy = pt * np.cosh(eta)
    btag = np.where(typ == 0, rng.integers(0, 2, total), 0)
    charge = np.where((typ == 1) | (typ == 2), rng.choice([-1, 1], total), 0)

    def jag(a):
        return ak.unflatten(a, counts)

    objects = {
        "pt": jag(pt),
        "eta": jag(eta),
        "phi": jag(phi),
        "energy": jag(energy),
        "kind": jag(typ),
        "btag": jag(btag),
        "charge": jag(charge),
    }
    tgt = None
    if targets:
        tgt = np.zeros((n, N_TARGETS), np.float32)
        tgt[:, :8] = rng.integers(0, 3, (n, 8))
        tgt[:, 8:] = rng.integers(0, 2, (n, N_TARGETS - 8))
    return make_events(objects, process=process, targets=tgt, source=f"test:{seed}")


def separable_events(n: int, process: str, seed: int, shift: float = 0.0) -> ak.Array:
    """``n`` events of 2-6 objects, no MET; ``shift`` moves the pT scale so processes are
    separable."""
    return random_events(n, process, seed, shift, max_objects=6, n_types=4)
