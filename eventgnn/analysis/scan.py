"""Training-size scans: accuracy and AUC versus training size, for several setups and seeds.

A scan trains every ``(size, setup, seed)``:

- ``scratch``: a model trained from random initialisation on the task;
- ``multiclass`` / ``multilabel`` (any other name): finetuned from a pretrained run of that name,
  given explicitly (a run directory or a shipped model's name), or pretrained once by the scan
  on the pretraining data.

Each seed draws its own random training subset of ``size`` events per class (and its own
initialisation); every run of the scan is scored on one shared held-out test set (the test split
depends only on the data and ``train.split_seed``, see :mod:`eventgnn.graphs.dataset`). A run whose
directory already holds ``metrics.json`` is finished and is not trained again, so an interrupted
scan resumes where it stopped.

Layout of the output folder::

    OUT/pretrained/SETUP/         pretraining runs made by the scan (when not given)
    OUT/runs/SETUP/nSIZE/seedK/   one run directory per (setup, size, seed)
    OUT/results.csv               one row per run (accuracy, AUC, training time, ...)
    OUT/summary.csv               one row per (size, setup): mean, spread, gain over scratch
    OUT/summary.md                the same as Markdown tables
    OUT/accuracy.png, auc.png     mean versus training size with error bars

Statistics: the spread of an ensemble is the sample standard deviation over seeds (``ddof=1``;
0 for a single seed); the gain of a pretrained setup is the difference of the means, with the
error ``sqrt(std_setup^2 + std_scratch^2)`` (the reference study's propagation). The runs of one
seed share their training events, so the summaries also hold the paired gain: the mean of the
per-seed differences over the seeds both setups ran, with its standard error
(``std(differences) / sqrt(n)``), which the shared training sets make the sharper measure.
"""

from __future__ import annotations

import csv
import io
import json
import math
import multiprocessing
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from .._core.errors import StaleOutputError
from .._core.fileio import safe_name, write_text_atomic
from .._core.provenance import differences, listed, lock, write_record
from .._core.system import cpu_count, die_with_parent
from ..catalog.registry import shipped_card
from ..catalog.resolve import TaskSpec, resolve_task
from ..config import build_run_config
from ..graphs.dataset import data_identity
from ..plots import plot_scaling
from ..train.finetune import finetune as finetune_run
from ..train.objectives import PRETRAIN_KINDS
from ..train.runs import pretrain as pretrain_run

BASELINE = "scratch"
"""Setups the scan can pretrain itself (any other setup needs ``--pretrained SETUP=RUN``)."""
METRICS = ("accuracy", "auc")
RESULT_FIELDS = (
    "setup", "size", "seed", "accuracy", "auc", "train_time_s", "epochs_run", "best_epoch", "run",
)  # fmt: skip

__all__ = [
    "ScanConfig",
    "collect_results",
    "markdown_tables",
    "read_results",
    "run_dir",
    "run_scan",
    "summarize",
    "write_tables",
]


@dataclass(frozen=True)
class ScanConfig:
    """What a scan runs.

    ``sizes``: training events per class; ``seeds``: ensemble size (seeds ``0..seeds-1`` shifted by
    ``first_seed``); ``pretrained``: ``setup -> run directory`` for the pretrained setups (missing
    ones are pretrained by the scan on ``pretrain_data`` with ``pretrain_overrides``);
    ``overrides``: dotted config overrides for every scan run (for example ``train.patience=20``).
    ``jobs``: scan points trained at once, each in its own worker process (they share a GPU, or
    split the CPU cores: each worker gets ``cpu_count // jobs`` torch threads unless
    ``train.num_threads`` is given).
    """

    task: str | TaskSpec
    sizes: tuple[int, ...]
    seeds: int = 5
    setups: tuple[str, ...] = ("scratch", "multiclass", "multilabel")
    out: str = "scan"
    data: str | None = None
    pretrained: Mapping[str, str] = field(default_factory=dict)
    epochs: int | None = None
    overrides: tuple[str, ...] = ()
    first_seed: int = 0
    pretrain_data: str | None = None
    pretrain_epochs: int | None = None
    pretrain_overrides: tuple[str, ...] = ()
    jobs: int = 1

    def __post_init__(self):
        if not self.sizes or any(int(n) < 1 for n in self.sizes):
            raise ValueError(f"sizes must be positive integers, got {self.sizes}")
        if self.seeds < 1:
            raise ValueError(f"seeds must be at least 1, got {self.seeds}")
        if self.jobs < 1:
            raise ValueError(f"jobs must be at least 1, got {self.jobs}")
        if not self.setups:
            raise ValueError("no setups given")
        unknown = set(self.pretrained) - set(self.setups)
        if unknown:
            raise ValueError(
                f"pretrained run(s) given for setup(s) {sorted(unknown)} not in --setups "
                f"{list(self.setups)}"
            )


def run_dir(out: str | Path, setup: str, size: int, seed: int) -> Path:
    """The run directory of one scan point (``setup`` must be a plain name: it is a folder)."""
    return Path(out) / "runs" / safe_name(setup, "setup") / f"n{int(size)}" / f"seed{int(seed)}"


def _finished(path: Path) -> bool:
    return (path / "metrics.json").is_file()


def _number(value) -> float:
    return math.nan if value is None else float(value)


def _record(path: Path, setup: str, size: int, seed: int) -> dict:
    try:
        m = json.loads((path / "metrics.json").read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path / 'metrics.json'}: unreadable ({err})") from err
    if "accuracy" not in m:
        raise ValueError(f"{path / 'metrics.json'}: no 'accuracy' (was the test split empty?)")
    return {
        "setup": setup,
        "size": int(size),
        "seed": int(seed),
        # metrics.json writes NaN as null (strict JSON)
        "accuracy": _number(m["accuracy"]),
        "auc": _number(m.get("auc")),
        "train_time_s": _number(m.get("train_time_s")),
        "epochs_run": m.get("epochs_run"),
        "best_epoch": m.get("best_epoch"),
        "run": str(path),
    }


def collect_results(out: str | Path) -> list[dict]:
    """Records of every finished run under ``OUT/runs`` (setup/nSIZE/seedK layout)."""
    records = []
    for metrics in sorted(Path(out).glob("runs/*/n*/seed*/metrics.json")):
        path = metrics.parent
        setup, size, seed = path.parent.parent.name, path.parent.name[1:], path.name[4:]
        if size.isdigit() and seed.isdigit():
            records.append(_record(path, setup, int(size), int(seed)))
    return records


def read_results(path: str | Path) -> list[dict]:
    """Records of a scan: its ``results.csv`` (a scan folder, or the file itself), else the
    finished runs under ``OUT/runs``. Lets tables be rebuilt from a copied ``results.csv``."""
    path = Path(path)
    csv_path = path if path.suffix == ".csv" else path / "results.csv"
    if not csv_path.is_file():
        if path.is_dir():
            return collect_results(path)
        raise FileNotFoundError(f"{path}: neither a scan folder nor a results.csv")
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    missing = {"setup", "size", "seed", "accuracy"} - set(rows[0] if rows else {})
    if missing:
        raise ValueError(f"{csv_path}: missing column(s) {sorted(missing)}")
    out = []
    for r in rows:
        rec = dict(r)
        rec["size"], rec["seed"] = int(r["size"]), int(r["seed"])
        for k in ("accuracy", "auc", "train_time_s"):
            rec[k] = float(r[k]) if r.get(k) not in (None, "") else math.nan
        out.append(rec)
    return out


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan, math.nan
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0


def summarize(records: Sequence[Mapping], baseline: str = BASELINE) -> list[dict]:
    """One row per ``(size, setup)``: ``n`` seeds, ``{metric}_mean``, ``{metric}_std`` and, for
    setups other than ``baseline``, ``{metric}_gain`` and ``{metric}_gain_err``, and the paired
    ``{metric}_paired_gain`` and ``{metric}_paired_err`` over the ``n_paired`` seeds both ran
    (NaN when the baseline is missing at that size; the error NaN with fewer than two pairs)."""
    groups: dict[tuple[int, str], list[Mapping]] = {}
    setups = list(dict.fromkeys(r["setup"] for r in records))
    if baseline in setups:  # baseline first
        setups.remove(baseline)
        setups.insert(0, baseline)
    for r in records:
        groups.setdefault((int(r["size"]), r["setup"]), []).append(r)
    rows = []
    for size in sorted({k[0] for k in groups}):
        base = groups.get((size, baseline))
        for setup in setups:
            group = groups.get((size, setup))
            if not group:
                continue
            row: dict = {"size": size, "setup": setup, "n": len(group)}
            for m in METRICS:
                mean, std = _mean_std([r[m] for r in group])
                row[f"{m}_mean"], row[f"{m}_std"] = mean, std
                if setup != baseline:
                    if base:
                        bm, bs = _mean_std([r[m] for r in base])
                        row[f"{m}_gain"] = mean - bm
                        row[f"{m}_gain_err"] = math.hypot(std, bs)
                    else:
                        row[f"{m}_gain"] = row[f"{m}_gain_err"] = math.nan
                    row.update(_paired(group, base or [], m))
            rows.append(row)
    return rows


def _paired(group: Sequence[Mapping], base: Sequence[Mapping], metric: str) -> dict:
    """The mean per-seed difference ``group - base`` of ``metric`` and its standard error."""
    by_seed = {int(r["seed"]): float(r[metric]) for r in base}
    diffs = [float(r[metric]) - by_seed[int(r["seed"])] for r in group if int(r["seed"]) in by_seed]
    diffs = [d for d in diffs if math.isfinite(d)]
    gain = float(np.mean(diffs)) if diffs else math.nan
    err = float(np.std(diffs, ddof=1) / math.sqrt(len(diffs))) if len(diffs) > 1 else math.nan
    return {"n_paired": len(diffs), f"{metric}_paired_gain": gain, f"{metric}_paired_err": err}


def _csv_text(rows: Sequence[Mapping], fields: Sequence[str]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(fields), extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def _pm(mean: float, err: float, scale: float, digits: int, sign: bool = False) -> str:
    if not math.isfinite(mean):
        return "n/a"
    fmt = f"{{:{'+' if sign else ''}.{digits}f}}"
    if not math.isfinite(err):  # a paired gain from one seed has no error
        return fmt.format(mean * scale)
    return f"{fmt.format(mean * scale)} ± {err * scale:.{digits}f}"


def markdown_tables(summary: Sequence[Mapping], baseline: str = BASELINE, title: str = "") -> str:
    """Markdown: per metric, one row per size with the baseline's mean ± spread and each other
    setup's gain ± propagated error and paired gain ± its standard error (accuracy in percent,
    AUC x 100)."""
    setups = list(dict.fromkeys(r["setup"] for r in summary))
    others = [s for s in setups if s != baseline]
    sizes = sorted({r["size"] for r in summary})
    by = {(r["size"], r["setup"]): r for r in summary}
    parts = [f"## {title}\n" if title else ""]
    for m, label in (("accuracy", "accuracy [%]"), ("auc", "AUC x 100")):
        head = ["training events / class", "seeds", f"{baseline} {label}"]
        head += [f"{s} {kind}" for s in others for kind in ("gain", "paired gain")]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for n in sizes:
            b = by.get((n, baseline))
            cells = [f"{n:,}", str(b["n"]) if b else "0"]
            cells.append(_pm(b[f"{m}_mean"], b[f"{m}_std"], 100, 2) if b else "n/a")
            for s in others:
                r = by.get((n, s))
                for gain, err in (("gain", "gain_err"), ("paired_gain", "paired_err")):
                    cells.append(
                        _pm(r[f"{m}_{gain}"], r[f"{m}_{err}"], 100, 2, sign=True) if r else "n/a"
                    )
            lines.append("| " + " | ".join(cells) + " |")
        parts.append(f"**{m}**\n\n" + "\n".join(lines) + "\n")
    return "\n".join(p for p in parts if p)


def write_tables(
    out: str | Path, records: Sequence[Mapping], title: str = "", plots: bool = True
) -> list[dict]:
    """Write ``results.csv``, ``summary.csv``, ``summary.md`` (and the plots) into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    records = sorted(
        records, key=lambda r: (r["setup"] != BASELINE, r["setup"], r["size"], r["seed"])
    )
    summary = summarize(records)
    write_text_atomic(out / "results.csv", _csv_text(records, RESULT_FIELDS))
    fields = ["size", "setup", "n", "n_paired"]
    for m in METRICS:
        fields += [f"{m}_mean", f"{m}_std", f"{m}_gain", f"{m}_gain_err"]
        fields += [f"{m}_paired_gain", f"{m}_paired_err"]
    write_text_atomic(out / "summary.csv", _csv_text(summary, fields))
    write_text_atomic(out / "summary.md", markdown_tables(summary, title=title))
    if plots and summary:
        for m in METRICS:
            plot_scaling(summary, metric=m, out=out / f"{m}.png", title=title or None)
    return summary


# ----------------------------------------------------------------------------- running a scan

TrainFn = Callable[..., Mapping]


def run_scan(
    config: ScanConfig,
    finetune: TrainFn | None = None,
    pretrain: TrainFn | None = None,
    log: Callable[[str], None] = print,
) -> list[dict]:
    """Run (or resume) every ``(size, setup, seed)`` of ``config`` and write the tables.

    ``finetune(task=, out=, seed=, train_size=, pretrained=, data=, epochs=, overrides=)`` trains
    one run (``pretrained`` None: from scratch) and ``pretrain(kind=, out=, data=, epochs=,
    overrides=)`` one pretraining run; the defaults call :mod:`eventgnn.train`. Returns the
    summary rows.

    ``OUT/scan.json`` records what every run of the scan shares (task, data, epochs, overrides,
    pretrained runs); a rerun into the same ``OUT`` with other values is refused, naming them
    (sizes, seeds and setups may grow). The scan holds a lock on ``OUT`` while it runs.
    """
    finetune = finetune or _default_finetune
    pretrain = pretrain or _default_pretrain
    config = replace(config, task=resolve_task(config.task))  # once, for every run
    out = Path(config.out)
    with lock(out, "scan"):
        _check_scan_record(out / "scan.json", scan_record(config))
        return _run_points(config, out, finetune, pretrain, log)


def scan_record(config: ScanConfig) -> dict:
    """What the runs of a scan share (its ``scan.json``): task, data, epochs and overrides, and
    per pretrained setup where its pretrained run comes from (a given run, or the scan's own
    pretraining with its data, epochs and overrides)."""

    def identity(data):
        return data_identity(data) if data is not None and Path(data).exists() else data

    setups = {}
    for setup in config.setups:
        if setup in config.pretrained:
            card = shipped_card(config.pretrained[setup])
            setups[setup] = (
                {"pretrained": card["name"], "sha256": card["sha256"]}
                if card is not None
                else {"pretrained": str(Path(config.pretrained[setup]).resolve())}
            )
        elif setup != BASELINE:
            setups[setup] = {"pretrain_data": identity(config.pretrain_data),
                             "pretrain_epochs": config.pretrain_epochs,
                             "pretrain_overrides": list(config.pretrain_overrides)}  # fmt: skip
    return {
        "task": resolve_task(config.task).name,
        "data": identity(config.data),
        "epochs": config.epochs,
        "overrides": list(config.overrides),
        "setups": setups,
    }


def _check_scan_record(path: Path, wanted: dict) -> None:
    """Refuse a scan whose shared values differ from those of the runs already in its folder;
    setups the folder has not seen yet are added to the record."""
    stored = json.loads(path.read_text()) if path.exists() else None
    if stored is not None:
        seen = {k: v for k, v in stored.get("setups", {}).items() if k in wanted["setups"]}
        now = {**wanted, "setups": {k: wanted["setups"][k] for k in seen}}
        diffs = differences({**stored, "setups": seen}, json.loads(json.dumps(now)))
        if diffs:
            raise StaleOutputError(
                f"scan folder {path.parent} holds runs made with other settings: "
                f"{listed(diffs)}; use another --out, or the same task, data and "
                "settings"
            )
        wanted = {**wanted, "setups": {**stored.get("setups", {}), **wanted["setups"]}}
    write_record(path, wanted)


def _run_points(config: ScanConfig, out: Path, finetune, pretrain, log) -> list[dict]:
    pretrained = dict(config.pretrained)
    for setup in config.setups:
        if setup == BASELINE or setup in pretrained:
            continue
        path = out / "pretrained" / setup
        if not _finished(path):
            log(f"scan: pretraining '{setup}' -> {path}")
            t0 = time.perf_counter()
            pretrain(
                kind=setup,
                out=str(path),
                data=config.pretrain_data,
                epochs=config.pretrain_epochs,
                overrides=tuple(config.pretrain_overrides),
            )
            log(f"scan: pretraining '{setup}' took {time.perf_counter() - t0:.0f} s")
        pretrained[setup] = str(path)
    for setup in config.setups:
        source = pretrained.get(setup)
        if setup != BASELINE and shipped_card(source) is None and not _finished(Path(source)):
            raise FileNotFoundError(
                f"pretrained run for '{setup}' ({pretrained[setup]}) has no metrics.json: "
                "it is not a finished run"
            )

    points = [(n, s, config.first_seed + k) for n in config.sizes for s in config.setups
              for k in range(config.seeds)]  # fmt: skip
    todo = []
    for i, (size, setup, seed) in enumerate(points, 1):
        path = run_dir(out, setup, size, seed)
        if _finished(path):
            log(f"scan [{i}/{len(points)}] {setup} n={size} seed={seed}: done already")
            continue
        kwargs = dict(
            task=config.task, out=str(path), seed=seed, train_size=int(size),
            pretrained=None if setup == BASELINE else pretrained[setup],
            data=config.data, epochs=config.epochs, overrides=tuple(config.overrides),
        )  # fmt: skip
        todo.append((f"scan [{i}/{len(points)}] {setup} n={size} seed={seed} -> {path}", kwargs))

    def tables(plots: bool) -> list[dict]:
        # tables after every run: a long scan can be read while it runs
        done = [(n, s, k) for n, s, k in points if _finished(run_dir(out, s, n, k))]
        return write_tables(
            out, [_record(run_dir(out, s, n, k), s, n, k) for n, s, k in done],
            title=config.task.name, plots=plots,
        )  # fmt: skip

    if config.jobs == 1 or len(todo) <= 1:
        for line, kwargs in todo:
            log(line)
            finetune(**kwargs)
            tables(plots=False)
    else:
        _run_parallel(finetune, todo, config, log, lambda: tables(plots=False))
    missing = [str(run_dir(out, s, n, k)) for n, s, k in points
               if not _finished(run_dir(out, s, n, k))]  # fmt: skip
    if missing:
        raise RuntimeError(
            f"scan: {len(missing)} run(s) ended without writing metrics.json, first {missing[0]}"
        )
    summary = tables(plots=True)
    log(f"scan: wrote {out / 'summary.md'}")
    return summary


def _run_parallel(finetune: TrainFn, todo: list, config: ScanConfig, log, on_done) -> None:
    """Train the scan points ``todo`` in ``config.jobs`` worker processes (spawned: safe with
    CUDA and torch threads); the first failure stops the scan after the running points finish."""
    threads = max(1, cpu_count() // config.jobs)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        config.jobs,
        mp_context=context,
        initializer=_worker_init,
        initargs=(threads, os.getpid()),
    ) as pool:
        running = {}
        for line, kwargs in todo:
            running[pool.submit(finetune, **kwargs)] = line
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                line = running.pop(future)
                error = future.exception()
                if error is not None:
                    for other in running:
                        other.cancel()
                    raise RuntimeError(f"{line.split(' -> ')[0]} failed: {error}") from error
                log(line.replace(" -> ", " done: "))
            on_done()


def _worker_init(threads: int, parent: int) -> None:
    torch.set_num_threads(threads)
    die_with_parent(parent)  # a killed scan leaves no worker training into its folder


def _default_finetune(
    task: TaskSpec,
    out: str,
    seed: int,
    train_size: int,
    pretrained: str | None,
    data: str,
    epochs: int | None,
    overrides: Sequence[str],
) -> None:
    """One scan point through :func:`eventgnn.train.finetune.finetune` (scratch when no
    ``pretrained``); ``overrides`` apply first, the scan's own values win."""
    config = build_run_config(
        "finetune", overrides=overrides, task=task.name, data=data, out=out,
        pretrained=pretrained, epochs=epochs, seed=seed, train_size=train_size,
    )  # fmt: skip
    finetune_run(config, task, log=_quiet)


def _default_pretrain(
    kind: str, out: str, data: str, epochs: int | None, overrides: Sequence[str]
) -> None:
    """One pretraining run through :func:`eventgnn.train.runs.pretrain`."""
    if kind not in PRETRAIN_KINDS:
        raise ValueError(
            f"setup '{kind}' has no pretrained run: give one with --pretrained {kind}=RUN "
            "(only multiclass and multilabel are pretrained by the scan)"
        )
    config = build_run_config(
        "pretrain", overrides=overrides, objective=kind, data=data, out=out, epochs=epochs
    )
    pretrain_run(config, log=_quiet)


def _quiet(line: str) -> None:
    # per-epoch lines of dozens of runs drown the scan's progress; keep the run summaries
    if line.startswith(("test accuracy", "finetune", "pretrain", "resuming")):
        print("    " + line)
