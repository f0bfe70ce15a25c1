"""Write the study notebooks (``*.ipynb``) from the cell sources below, executed.

Run ``python notebooks/build_notebooks.py`` after editing: it writes each notebook and executes it
in place, so that the stored notebooks show the committed results (``SCAN_DIR``, a scan folder
under ``docs/results/``) to a reader who does not run them. ``--no-execute`` writes them without
outputs. ``tests/test_notebooks.py`` re-executes them on the committed results (their tables must
equal docs/results.md's) and once with ``SCAN_DIR = None`` at the small default parameters, which
generates data and runs a tiny scan end to end. The cell that makes (or reuses) a scan is shared by
all three notebooks and written once here.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SCAN_PARAMETERS = """\
# Parameters: small defaults that run in CI (about a minute on one CPU core).
# Full scale, as in docs/results.md (there: data_recipes/pretrained/tables.sh, finetuning the
# shipped models; on 2 CPU cores, two runs at once through `eventgnn scan --jobs 2`, 1-6
# minutes a run at 10^3 events per class and 5-60 minutes at 10^4):
#   TASK = "wh_vs_zh"; SIZES = (1000, 10000); SEEDS = 5
#   SETUPS = ("scratch", "multiclass", "multilabel")
#   EVENTS = 25000 (per process), MODEL = ("train.test_fraction=0.4", "train.val_fraction=0.1",
#     "train.min_epochs=25", "train.patience=10") (10^4 test events per class)
#   pretrained: the shipped models (`ScanConfig(..., pretrained={"multiclass":
#     "pretrain12-multiclass-v1", "multilabel": "pretrain12-multilabel-v1"})`) instead of
#     pretraining here; EPOCHS = 100; MPI = True
WORKDIR = "notebook_work"  # data and runs go here (relative to the notebook's folder)
# an `eventgnn scan` output folder to read (here: the committed results behind docs/results.md);
# None: generate a small dataset and run the tiny scan below
SCAN_DIR = "../docs/results/v1/wh_vs_zh"
TASK = "wh_vs_zh"
SIZES = (50, 150)  # training events per class
SEEDS = 2
SETUPS = ("scratch", "multiclass")
EVENTS = 300  # generated events per downstream process
PRETRAIN_PROCESSES = ("ggf_h", "wh", "zh")
PRETRAIN_EVENTS = 100  # per pretraining process
MPI = False  # multiparton interactions: off is about 6x faster (full scale: True)
EPOCHS = 3
PRETRAIN_EPOCHS = 3
MODEL = ("model.hidden=32", "model.latent=32", "model.iterations=2", "train.plots=false",
         "train.num_threads=1")
"""

SETUP = """\
%matplotlib inline
import warnings

# progress bars want ipywidgets in a notebook; without it tqdm falls back to text and says so
warnings.filterwarnings("ignore", message="IProgress not found")

"""

MAKE_SCAN = """\
from pathlib import Path

from eventgnn.analysis.scan import ScanConfig, read_results, run_scan
from eventgnn.catalog.processes import get_task
from eventgnn.generate.run import generate

work = Path(WORKDIR)
if SCAN_DIR is not None:
    scan_dir = Path(SCAN_DIR)
else:
    # generation skips shards that exist and the scan skips finished runs: reruns are cheap
    task = get_task(TASK)
    generate(task.signal + task.background, work / "data" / TASK, EVENTS, seed=1000, jobs=2,
             mpi=MPI, progress=False)
    generate(tuple(PRETRAIN_PROCESSES), work / "data" / "pretrain", PRETRAIN_EVENTS, seed=1,
             jobs=2, mpi=MPI, progress=False)
    scan_dir = work / "scan" / TASK
    run_scan(ScanConfig(
        task=TASK, sizes=tuple(SIZES), seeds=SEEDS, setups=tuple(SETUPS), out=str(scan_dir),
        data=str(work / "data" / TASK), epochs=EPOCHS, overrides=tuple(MODEL),
        pretrain_data=str(work / "data" / "pretrain"), pretrain_epochs=PRETRAIN_EPOCHS,
        pretrain_overrides=tuple(MODEL),
    ), log=lambda line: None)
records = read_results(scan_dir)
print(f"{len(records)} runs in {scan_dir}")
"""


def _nb(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    """A notebook without outputs from ``(kind, source)`` pairs, kind ``"md"`` or ``"code"``;
    the second cell, when code, is tagged as the parameters cell."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    for k, (kind, src) in enumerate(cells):
        cell = new_markdown_cell(src) if kind == "md" else new_code_cell(src)
        cell["id"] = f"cell-{k}"
        if k == 1 and kind == "code":
            cell.metadata["tags"] = ["parameters"]  # papermill-style parameters cell
        nb.cells.append(cell)
    return nb


ACCURACY = [
    (
        "md",
        """\
# Accuracy versus training size: pretrained versus from scratch

The reference study's Table I: for each training size, an ensemble of models trained from scratch
and ensembles finetuned from a multiclass and a multilabel pretrained model, each with its own
random training subset and seed, all scored on one held-out test set. The table gives the
from-scratch accuracy (mean ± standard deviation over seeds) and each pretrained setup's gain with
the propagated error sqrt(std_a² + std_b²), then its paired gain: the mean of the per-seed
differences (the runs of one seed share their training events) with its standard error.

The first code cell holds the parameters. As stored, the notebook reads the committed scan behind
docs/results.md (`SCAN_DIR = "../docs/results/v1/wh_vs_zh"`; another task's folder there, or the
output of your own `eventgnn scan`, works the same). With `SCAN_DIR = None` it generates a small
dataset and runs a tiny scan itself.""",
    ),
    ("code", SCAN_PARAMETERS),
    ("code", SETUP + MAKE_SCAN),
    ("md", "## The table"),
    (
        "code",
        """\
from IPython.display import Markdown, display

from eventgnn.analysis.scan import markdown_tables, summarize

summary = summarize(records)
display(Markdown(markdown_tables(summary, title=TASK if SCAN_DIR is None else str(SCAN_DIR))))
""",
    ),
    ("md", "## Scaling plots (error bars: spread over the ensemble)"),
    (
        "code",
        """\
from eventgnn.plots import plot_scaling

fig_acc = plot_scaling(summary, metric="accuracy", title="accuracy")
fig_auc = plot_scaling(summary, metric="auc", title="AUC")
display(fig_acc, fig_auc)
""",
    ),
    (
        "code",
        """\
# the numbers behind the plot, per run
for r in records:
    print(f"{r['setup']:>11s}  n={r['size']:<6d} seed={r['seed']}  "
          f"accuracy={r['accuracy']:.4f}  AUC={r['auc']:.4f}  time={r['train_time_s']:.1f} s")
""",
    ),
]

CKA = [
    (
        "md",
        """\
# Centered Kernel Alignment

Part 1 checks linear and RBF CKA (Kornblith et al. 2019) on dummy data, as the reference study
does: a 1000 × 64 Gaussian matrix A against itself, its columns permuted, A plus Gaussian noise of
growing scale, and A times a random Gaussian matrix. Part 2 compares the latents (the 64-wide
representation after the decoder) of trained ensembles on the same test events: scratch against
scratch, and scratch against each pretrained setup (the reference study's Tables II and III), and
draws a layer-by-layer CKA heatmap between two models.""",
    ),
    (
        "code",
        SCAN_PARAMETERS
        + """\
N_ROWS, N_COLS = 1000, 64  # the dummy matrix (the reference study's size)
NOISE = (0.1, 0.5, 0.75, 1, 2, 5)
CKA_EVENTS = 1000  # test events for the trained-model comparison (full scale: 5000 or more)
""",
    ),
    ("md", "## Part 1: dummy data"),
    (
        "code",
        SETUP
        + """\
import numpy as np
from IPython.display import Markdown, display

from eventgnn.analysis.cka import linear_cka, rbf_cka

rng = np.random.default_rng(0)
A = rng.normal(size=(N_ROWS, N_COLS))
cases = {"A vs A": A, "A vs A, columns permuted": A[:, rng.permutation(N_COLS)]}
for s in NOISE:
    cases[f"A vs A + {s} x noise"] = A + s * rng.normal(size=A.shape)
cases["A vs A @ W (W Gaussian)"] = A @ rng.normal(size=(N_COLS, N_COLS))
dummy = {name: (linear_cka(A, B), rbf_cka(A, B)) for name, B in cases.items()}
rows = [f"| {name} | {lin:.4f} | {rbf:.4f} |" for name, (lin, rbf) in dummy.items()]
display(Markdown("| comparison | linear CKA | RBF CKA (0.5) |\\n|---|---|---|\\n" + "\\n".join(rows)))
""",
    ),
    (
        "code",
        """\
# what must hold: identity and permutation give 1, noise lowers CKA monotonically
assert abs(dummy["A vs A"][0] - 1) < 1e-9 and abs(dummy["A vs A, columns permuted"][1] - 1) < 1e-9
lin = [dummy[f"A vs A + {s} x noise"][0] for s in NOISE]
assert all(a > b for a, b in zip(lin, lin[1:])), lin
""",
    ),
    ("md", "## Part 2: trained ensembles"),
    ("code", MAKE_SCAN),
    (
        "code",
        """\
from eventgnn.analysis.compare import compare_runs, layerwise_runs
from eventgnn.plots import plot_cka_matrix
from eventgnn.analysis.scan import run_dir

# a committed scan keeps no weights: show the CKA tables computed when it ran
have_models = all((run_dir(scan_dir, r["setup"], r["size"], r["seed"]) / "model.pt").exists()
                  for r in records)
if not have_models:
    for table in sorted(Path(scan_dir).glob("cka_n*.md"), key=lambda p: int(p.stem[5:])):
        rows = [line for line in table.read_text().splitlines() if line.startswith("|")]
        display(Markdown(f"Training size {int(table.stem[5:]):,} per class (stored: "
                         f"{table.name})\\n\\n" + "\\n".join(rows)))
size = max(r["size"] for r in records)
ensembles = {setup: [str(run_dir(scan_dir, setup, size, r["seed"])) for r in records
                     if r["setup"] == setup and r["size"] == size]
             for setup in dict.fromkeys(r["setup"] for r in records)}
lines = ["| ensembles | kernel | CKA mean ± std | pairs |", "|---|---|---|---|"]
for kernel in ("linear", "rbf") if have_models else ():
    for setup, runs in ensembles.items():
        if setup == "scratch" and len(runs) < 2:
            continue
        res = compare_runs(ensembles["scratch"], runs, kernel=kernel, n_events=CKA_EVENTS)
        n_a, n_b = res.matrix.shape
        pairs = n_a * (n_a - 1) // 2 if setup == "scratch" else n_a * n_b  # no self-pairs
        lines.append(f"| scratch vs {setup} | {kernel} | {res.mean:.4f} ± {res.std:.4f} | {pairs} |")
if have_models:
    display(Markdown(f"Training size {size} per class, {res.n_events} test events\\n\\n"
                     + "\\n".join(lines)))
""",
    ),
    (
        "code",
        """\
# layer by layer: the first scratch model against the first model of another setup
other = next((s for s in ensembles if s != "scratch"), "scratch")
b = ensembles[other][0] if other != "scratch" else ensembles["scratch"][-1]
if have_models:
    m, rows, cols = layerwise_runs(ensembles["scratch"][0], b, n_events=CKA_EVENTS)
    display(plot_cka_matrix(m, [f"scratch {r}" for r in rows], [f"{other} {c}" for c in cols],
                            title="layer-wise linear CKA"))
else:
    print(f"{scan_dir}: no model weights, so no layer-wise heatmap (`eventgnn cka --layers` "
          "on the scan's runs draws it)")
""",
    ),
]

TIMING = [
    (
        "md",
        """\
# Training time: how much does pretraining save?

The reference study's Figure 1: the wall time a finetuned model needs to reach 99% of the
from-scratch model's final accuracy, relative to the from-scratch model's total training time;
and the number of analyses after which pretraining once plus finetuning each is cheaper than
training each from scratch. Everything is read from the runs' `history.csv` (per-epoch validation
accuracy and wall time), with epochs as the unit of cost (see
`eventgnn.analysis.timing.scan_timing_table`); a scan committed without the histories shows the
table computed when it ran.""",
    ),
    (
        "code",
        SCAN_PARAMETERS
        + """\
FRACTION = 0.99  # of the baseline's final (validation) accuracy
""",
    ),
    ("code", SETUP + MAKE_SCAN),
    (
        "code",
        """\
from IPython.display import Markdown, display

from eventgnn.analysis.scan import run_dir
from eventgnn.analysis.timing import scan_timing_table

have_histories = all((run_dir(scan_dir, r["setup"], r["size"], r["seed"]) / "history.csv").exists()
                     for r in records)
if have_histories:  # epochs to reach FRACTION of the same-seed scratch run, and break-even
    table = scan_timing_table(scan_dir, Path(scan_dir) / "pretrained", fraction=FRACTION)
else:  # a scan committed without its runs' histories: the table computed when it ran
    stored = (Path(scan_dir) / "timing.md").read_text().splitlines()
    table = "\\n".join(line for line in stored if line.startswith("|"))
display(Markdown(table))
""",
    ),
    (
        "code",
        """\
from eventgnn.analysis.timing import read_history
from eventgnn.plots import plot_loss_curves

size = max(r["size"] for r in records)
seed = min(r["seed"] for r in records)
curves = {}
for s in dict.fromkeys(r["setup"] for r in records) if have_histories else ():
    h = read_history(run_dir(scan_dir, s, size, seed))
    curves[f"{s} seed {seed}"] = {**h.columns, "wall time [s]": h.elapsed()}
if curves:
    display(plot_loss_curves(curves, columns=("val_acc",), x="wall time [s]"))
else:
    print(f"{scan_dir}: the runs' histories are not stored, so no validation curves")
""",
    ),
]


# file name -> cells, in the order the notebooks run (the first makes the scan the others read)
NOTEBOOKS = {
    "accuracy_vs_size.ipynb": ACCURACY,
    "cka.ipynb": CKA,
    "training_time.ipynb": TIMING,
}


def build(name: str) -> nbformat.NotebookNode:
    """The notebook ``name`` (a key of ``NOTEBOOKS``) as this file generates it."""
    return _nb(NOTEBOOKS[name])


def execute(nb: nbformat.NotebookNode, folder: Path, timeout: int = 600) -> nbformat.NotebookNode:
    """Run ``nb`` in ``folder`` (its working directory) with a fresh Python kernel; outputs
    are stored in ``nb``. Raises ``CellExecutionError`` with the failing cell's traceback."""
    import nbclient

    nbclient.NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
        record_timing=False,  # no timestamps: a rebuild with the same results is no change
    ).execute()
    return nb


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-execute", action="store_true", help="write without outputs")
    args = parser.parse_args(argv)
    for name in NOTEBOOKS:
        path = HERE / name
        nb = build(name)
        if not args.no_execute:
            execute(nb, HERE)
        nbformat.write(nb, path)
        print(f"wrote {path}{'' if args.no_execute else ' (executed)'}")


if __name__ == "__main__":
    main()
