"""Training-time savings from a run's ``history.csv`` (the reference study's Figure 1).

Two questions, both answered from the per-epoch history every run writes:

1. How long does a finetuned model need to reach ``fraction`` (default 99%) of the baseline's
   (from-scratch model's) final accuracy, relative to the baseline's total training time?
   :func:`time_to_fraction`.
2. With pretraining paid once, after how many tasks is pretraining + finetuning each task cheaper
   than training each from scratch? The smallest integer ``n`` with
   ``pretrain + n * finetune < n * scratch``: :func:`break_even_tasks`.

Conventions: the accuracy column is the validation accuracy (``val_acc`` in the engine's
history; the test split is scored only once, after training), else the first column named like an
accuracy; the time column is the wall time in seconds from the start of training (``elapsed_s``).
A column holding the duration of each epoch (``wall_s``, ``epoch_time``) is accumulated; other time
columns are used as they are when non-decreasing. Either column can be named explicitly.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ACCURACY_COLUMNS = ("val_acc", "val_accuracy", "valid_accuracy", "accuracy", "train_accuracy")
# the engine writes ``elapsed_s`` (cumulative) and ``wall_s`` (this epoch); others for foreign files
TIME_COLUMNS = ("elapsed_s", "elapsed", "wall_time", "wall_time_s", "time", "wall_s", "epoch_time")
# names that mean "duration of this epoch", never cumulative
PER_EPOCH_TIME = ("wall_s", "epoch_time", "epoch_seconds", "epoch_wall_time", "seconds")

__all__ = [
    "History",
    "TimeToTarget",
    "break_even_tasks",
    "read_history",
    "scan_timing_table",
    "time_to_fraction",
    "time_to_reach",
]


@dataclass(frozen=True)
class History:
    """One run's per-epoch history: ``columns[name]`` is a float array over epochs."""

    path: str
    columns: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def column(self, name: str | None, candidates: tuple[str, ...], what: str) -> np.ndarray:
        """The column ``name``, or the first of ``candidates`` present; clear error otherwise."""
        if name is not None:
            if name not in self.columns:
                raise KeyError(
                    f"{self.path}: no column {name!r} ({what}); has {sorted(self.columns)}"
                )
            return self.columns[name]
        for c in candidates:
            if c in self.columns:
                return self.columns[c]
        raise KeyError(
            f"{self.path}: no {what} column (looked for {list(candidates)}); "
            f"has {sorted(self.columns)}"
        )

    def accuracy(self, name: str | None = None) -> np.ndarray:
        return self.column(name, ACCURACY_COLUMNS, "accuracy")

    def elapsed(self, name: str | None = None, cumulative: bool | None = None) -> np.ndarray:
        """Wall time in seconds from the start of training to the end of each epoch."""
        if name is None:
            name = next((c for c in TIME_COLUMNS if c in self.columns), None)
            if name is None:
                raise KeyError(
                    f"{self.path}: no wall-time column (looked for {list(TIME_COLUMNS)}); "
                    f"has {sorted(self.columns)}"
                )
        t = self.column(name, (), "wall time")
        if cumulative is None:
            cumulative = name not in PER_EPOCH_TIME and bool(np.all(np.diff(t) >= 0))
        return t if cumulative else np.cumsum(t)

    @property
    def total_time(self) -> float:
        """Wall time of the whole run (end of the last epoch), seconds."""
        return float(self.elapsed()[-1])


def read_history(path: str | Path) -> History:
    """Read ``history.csv`` (a file or a run directory holding one) into float columns."""
    path = Path(path)
    if path.is_dir():
        path = path / "history.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no history.csv (is this a run directory?)")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{path}: history has no epochs")
    columns: dict[str, np.ndarray] = {}
    for name in rows[0]:
        try:
            columns[name] = np.array([float(r[name]) if r[name] != "" else np.nan for r in rows])
        except ValueError:
            continue  # a text column (for example a phase name): not needed here
    return History(str(path), columns)


def _as_history(h: History | str | Path) -> History:
    return h if isinstance(h, History) else read_history(h)


def time_to_reach(
    history: History | str | Path,
    target: float,
    metric: str | None = None,
    time_column: str | None = None,
    interpolate: bool = False,
) -> float | None:
    """Wall time (s) at which the accuracy first reaches ``target``; None if it never does.

    Without ``interpolate`` it is the end of the first epoch at or above ``target``. With it, the
    time is interpolated linearly between that epoch and the one before (from time 0 for the
    first epoch, where no earlier accuracy is known, the epoch's own end time is used).
    """
    h = _as_history(history)
    acc, t = h.accuracy(metric), h.elapsed(time_column)
    hit = np.flatnonzero(acc >= target)
    if hit.size == 0:
        return None
    k = int(hit[0])
    if not interpolate or k == 0:
        return float(t[k])
    a0, a1, t0, t1 = acc[k - 1], acc[k], t[k - 1], t[k]
    return float(t0 + (target - a0) / (a1 - a0) * (t1 - t0))


@dataclass(frozen=True)
class TimeToTarget:
    """Result of :func:`time_to_fraction` (times in seconds)."""

    target: float  # fraction x the baseline's final accuracy
    baseline_final: float
    baseline_time: float  # the baseline's total training time
    time: float | None  # when the finetuned run first reached the target (None: never)
    finetune_total: float  # the finetuned run's total training time

    @property
    def ratio(self) -> float:
        """``time / baseline_time``; ``inf`` when the target was never reached."""
        return math.inf if self.time is None else self.time / self.baseline_time


def time_to_fraction(
    finetuned: History | str | Path,
    baseline: History | str | Path,
    fraction: float = 0.99,
    metric: str | None = None,
    baseline_final: str = "last",
    interpolate: bool = False,
    time_column: str | None = None,
) -> TimeToTarget:
    """Time for ``finetuned`` to reach ``fraction`` of ``baseline``'s final accuracy.

    ``baseline_final``: ``"last"`` (the last epoch's accuracy) or ``"max"`` (the best epoch's, the
    model an early-stopped run keeps). ``time_column``: the cost axis (default: wall time);
    ``"epoch"`` counts epochs instead, which compares runs made under different loads fairly when
    an epoch costs the same in both (same model and training-set size).
    """
    if not 0 < fraction <= 1.5:
        raise ValueError(f"fraction must be in (0, 1.5], got {fraction}")
    fh, bh = _as_history(finetuned), _as_history(baseline)
    bacc = bh.accuracy(metric)
    if baseline_final == "last":
        final = float(bacc[-1])
    elif baseline_final == "max":
        final = float(np.nanmax(bacc))
    else:
        raise ValueError(f"baseline_final must be 'last' or 'max', got {baseline_final!r}")
    target = fraction * final
    return TimeToTarget(
        target=target,
        baseline_final=final,
        baseline_time=float(bh.elapsed(time_column)[-1]),
        time=time_to_reach(
            fh, target, metric=metric, time_column=time_column, interpolate=interpolate
        ),
        finetune_total=float(fh.elapsed(time_column)[-1]),
    )


def break_even_tasks(pretrain_time: float, finetune_time: float, scratch_time: float) -> int | None:
    """Smallest number of tasks ``n`` with ``pretrain + n * finetune < n * scratch``.

    None when finetuning a task is not faster than training it from scratch (never breaks even).
    """
    for name, v in (
        ("pretrain", pretrain_time),
        ("finetune", finetune_time),
        ("scratch", scratch_time),
    ):
        if not (v >= 0 and math.isfinite(v)):
            raise ValueError(f"{name} time must be finite and >= 0, got {v}")
    saving = scratch_time - finetune_time
    if saving <= 0:
        return None
    return max(1, math.floor(pretrain_time / saving) + 1)


def scan_timing_table(
    scan: str | Path,
    pretrained: str | Path,
    events_per_s: float | str = "auto",
    fraction: float = 0.99,
) -> str:
    """The time-to-``fraction`` and break-even table of a scan (Markdown), per pretrained
    setup and training size: the seeds whose finetuned run reaches ``fraction`` of the same-seed
    scratch run's final validation accuracy, the mean epochs it needed against the scratch runs'
    epochs, and the break-even number of tasks.

    Cost is counted in epochs: a finetuned and a scratch run of one size train the same model on
    the same events per epoch, so an epoch costs the same in both, whatever else the machine was
    doing. For the break-even number, epochs become seconds at ``events_per_s`` training events
    per second; ``"auto"`` takes the rate from the scan, per size: the median over the scratch
    runs' epochs of training events over the epoch's wall time (validation included; right when
    every run had a core or device to itself). Pretraining costs the wall time of the history in
    ``pretrained/SETUP``."""
    from .scan import read_results, run_dir

    records = read_results(scan)

    def rate(size: int) -> float:
        if events_per_s != "auto":
            return float(events_per_s)
        walls = np.concatenate(
            [
                read_history(run_dir(scan, "scratch", size, r["seed"])).columns["wall_s"]
                for r in records
                if r["setup"] == "scratch" and r["size"] == size
            ]
        )
        return 2 * size / float(np.median(walls))

    # once per size, shared by the setups
    rates = {size: rate(size) for size in {r["size"] for r in records if r["setup"] != "scratch"}}

    lines = [
        f"| setup | size / class | seeds reaching {fraction:.0%} | finetune epochs to "
        f"{fraction:.0%} | scratch epochs | ratio | pretraining [s] | scratch [s] | finetune to "
        f"{fraction:.0%} [s] | break-even tasks |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    setups = [s for s in dict.fromkeys(r["setup"] for r in records) if s != "scratch"]
    for setup in setups:
        pre = read_history(Path(pretrained) / setup).total_time
        for size in sorted({r["size"] for r in records if r["setup"] == setup}):
            results = [
                time_to_fraction(
                    run_dir(scan, setup, size, r["seed"]),
                    run_dir(scan, "scratch", size, r["seed"]),
                    fraction,
                    time_column="epoch",
                )
                for r in records
                if r["setup"] == setup and r["size"] == size
            ]
            reached = [r for r in results if r.time is not None]
            epoch_s = 2 * size / rates[size]  # two classes of `size` training events each
            scratch_ep = float(np.mean([r.baseline_time for r in results]))
            ft_ep = float(np.mean([r.time for r in reached])) if reached else math.inf
            ratio = float(np.mean([r.ratio for r in reached])) if reached else math.inf
            n = break_even_tasks(pre, ft_ep * epoch_s, scratch_ep * epoch_s) if reached else None
            lines.append(
                f"| {setup} | {size:,} | {len(reached)}/{len(results)} | {ft_ep:.1f} | "
                f"{scratch_ep:.1f} | {ratio:.2f} | {pre:.0f} | {scratch_ep * epoch_s:.0f} | "
                f"{ft_ep * epoch_s:.0f} | {n if n is not None else 'never'} |"
            )
    return "\n".join(lines)
