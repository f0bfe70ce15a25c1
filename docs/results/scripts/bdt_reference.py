"""Reference: a gradient-boosted tree on simple per-event features (object counts and leading pT
per type, b-tags, summed charge), on the same splits as the scan runs (same split function,
fractions and seeds), so its test accuracy calibrates how separable a task is on this data.

    python bdt_reference.py DATA TASK SIZES [VAL_FRACTION TEST_FRACTION]
    python bdt_reference.py .gpudata/down wh_vs_zh 1000,10000 0.1 0.4
"""

import sys

import awkward as ak
import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from eventgnn.events.io import read_events
from eventgnn.generate.catalog import get_task
from eventgnn.graphs.dataset import select_processes, split_indices

data, task_name, sizes = sys.argv[1], sys.argv[2], [int(n) for n in sys.argv[3].split(",")]
val, test = (float(sys.argv[4]), float(sys.argv[5])) if len(sys.argv) > 5 else (0.2, 0.2)
task = get_task(task_name)
ev = select_processes(read_events(data), list(task.processes), list(task.signal))
o = ev["objects"]
feats = []
for t in range(5):
    m = o.kind == t
    feats.append(ak.to_numpy(ak.sum(m, axis=1)))
    feats.append(ak.to_numpy(ak.fill_none(ak.max(ak.where(m, o.pt, 0), axis=1), 0)))
feats += [ak.to_numpy(ak.sum(o.btag, axis=1)), ak.to_numpy(ak.sum(o.charge, axis=1))]
X = np.stack(feats, 1).astype(float)
y = ak.to_numpy(ev.label)
for size in sizes:
    acc, auc = [], []
    for seed in range(5):
        s = split_indices(y, val, test, 2024, seed, train_size=size)
        clf = HistGradientBoostingClassifier(random_state=seed).fit(X[s["train"]], y[s["train"]])
        p = clf.predict_proba(X[s["test"]])[:, 1]
        acc.append(np.mean((p > 0.5) == y[s["test"]]))
        auc.append(roc_auc_score(y[s["test"]], p))
    print(
        f"{task_name} size {size}: accuracy {100 * np.mean(acc):.2f} ± {100 * np.std(acc, ddof=1):.2f}"
        f"  AUC {np.mean(auc):.4f} ± {np.std(auc, ddof=1):.4f}  test {len(s['test'])} events"
    )
