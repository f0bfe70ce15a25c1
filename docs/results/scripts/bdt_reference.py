"""Reference: a gradient-boosted tree on simple per-event features (object counts per type,
b-tags, summed charge, MET, leading pT per type), same test split as the scan runs."""

import sys

import awkward as ak
import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from eventgnn.events.io import read_events
from eventgnn.graphs.dataset import select_processes, split_indices

size = int(sys.argv[1])
ev = select_processes(read_events("/work/data/whzh"), ["wh", "zh"], ["wh"])
o = ev["objects"]
feats = []
for t in range(5):
    m = o["type"] == t
    feats.append(ak.to_numpy(ak.sum(m, axis=1)))
    feats.append(ak.to_numpy(ak.fill_none(ak.max(ak.where(m, o.pt, 0), axis=1), 0)))
feats += [ak.to_numpy(ak.sum(o.btag, axis=1)), ak.to_numpy(ak.sum(o.charge, axis=1))]
X = np.stack(feats, 1).astype(float)
y = ak.to_numpy(ev.label)
for seed in range(5):
    s = split_indices(y, 0.2, 0.2, 2024, seed, train_size=size)
    clf = HistGradientBoostingClassifier(random_state=seed).fit(X[s["train"]], y[s["train"]])
    p = clf.predict_proba(X[s["test"]])[:, 1]
    print(
        f"size {size} seed {seed}: accuracy {np.mean((p > 0.5) == y[s['test']]):.4f}  "
        f"AUC {roc_auc_score(y[s['test']], p):.4f}  test {len(s['test'])}"
    )
