"""Reference: a gradient-boosted tree on simple per-event features, on the same splits as the
graph-network runs (the same :class:`~eventgnn.graphs.dataset.Split`: fractions, split seed and
training seeds), so its test accuracy calibrates how separable a task is on this data.

Features: per object kind the count and the two leading pT; the scalar sum of jet pT (HT), the
missing ET, the number of b-tags, the summed charge; the leading photon's |eta| and, for events
with two photons, the diphoton pT and mass.

    python docs/results/scripts/bdt_reference.py DATA TASK SIZES [VAL_FRACTION TEST_FRACTION]
    python docs/results/scripts/bdt_reference.py /work/data/cp tth_cp_even_vs_odd 1000,10000 0.2 0.4

Prints one line per training size: mean and standard deviation over 5 seeds of the test accuracy
and AUC, and the number of test events per class.
"""

from __future__ import annotations

import sys

import awkward as ak
import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from eventgnn.catalog import get_task
from eventgnn.events.io import read_events
from eventgnn.events.schema import ObjectType
from eventgnn.graphs.dataset import Split, select_processes, split_indices


def leading(values: ak.Array, k: int) -> np.ndarray:
    """The ``k``-th largest value per event (0 when absent)."""
    ordered = ak.sort(values, axis=1, ascending=False)
    return ak.to_numpy(ak.fill_none(ak.pad_none(ordered, k + 1, axis=1)[:, k], 0.0))


def features(events: ak.Array) -> np.ndarray:
    o = events.objects
    cols = []
    for kind in ObjectType:
        pt = o.pt[o.kind == int(kind)]
        cols += [ak.to_numpy(ak.num(pt, axis=1)), leading(pt, 0), leading(pt, 1)]
    jets = o[o.kind == int(ObjectType.JET)]
    cols += [ak.to_numpy(ak.sum(jets.pt, axis=1)), ak.to_numpy(ak.sum(o.btag, axis=1)),
             ak.to_numpy(ak.sum(o.charge, axis=1))]  # fmt: skip
    ph = o[o.kind == int(ObjectType.PHOTON)]
    ph = ph[ak.argsort(ph.pt, axis=1, ascending=False)]
    two = ak.pad_none(ph, 2, axis=1)
    px = two.pt * np.cos(two.phi)
    py = two.pt * np.sin(two.phi)
    pz = two.pt * np.sinh(two.eta)
    e = two.energy
    sx, sy, sz, se = (ak.fill_none(v[:, 0] + v[:, 1], 0.0) for v in (px, py, pz, e))
    cols += [
        ak.to_numpy(ak.fill_none(abs(two.eta[:, 0]), 0.0)),
        ak.to_numpy(np.hypot(sx, sy)),
        ak.to_numpy(np.sqrt(np.maximum(se**2 - sx**2 - sy**2 - sz**2, 0.0))),
    ]
    return np.stack([np.asarray(c, dtype=float) for c in cols], 1)


def main(argv: list[str]) -> None:
    data, task_name, sizes = argv[0], argv[1], [int(n) for n in argv[2].split(",")]
    val, test = (float(argv[3]), float(argv[4])) if len(argv) > 4 else (0.2, 0.2)
    task = get_task(task_name)
    events = select_processes(read_events(data), list(task.processes), list(task.signal))
    x = features(events)
    y = ak.to_numpy(events.label)
    for size in sizes:
        acc, auc = [], []
        for seed in range(5):
            split = Split(val_fraction=val, test_fraction=test, seed=seed, train_size=size)
            s = split_indices(y, split)
            clf = HistGradientBoostingClassifier(random_state=seed)
            clf.fit(x[s["train"]], y[s["train"]])
            p = clf.predict_proba(x[s["test"]])[:, 1]
            acc.append(np.mean((p > 0.5) == y[s["test"]]))
            auc.append(roc_auc_score(y[s["test"]], p))
        n_test = np.bincount(y[s["test"]]).tolist()
        print(
            f"{task_name} BDT n={size}/class: accuracy {np.mean(acc):.4f} +- {np.std(acc):.4f}  "
            f"AUC {np.mean(auc):.4f} +- {np.std(auc):.4f}  (test events per class {n_test})"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
