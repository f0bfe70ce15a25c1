"""A Python API for notebooks and coffea processors: :class:`EventClassifier`.

::

    import eventgnn
    clf = eventgnn.EventClassifier.load("runs/pretrain-multiclass-seed0")
    mine = clf.finetune(signal=["sig/*.root"], background=["bkg/"], out="runs/mine", epochs=20)
    events = eventgnn.read_events("data/2018/*.root")
    scores = mine.predict(events)          # numpy [B]: the signal probability of each event
    mine.save("my_model.pt")

``EventClassifier.load`` takes a shipped pretrained model's name too
(``eventgnn.list_models()``; docs/models.md).

It wraps the same code as the command line (``eventgnn finetune``, ``eventgnn predict``): a
finetune writes an ordinary run directory, and a saved model is an ordinary ``model.pt``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import awkward as ak
import numpy as np

from ._core.errors import InputError
from ._core.fileio import clip
from .catalog.registry import get_card, shipped_card
from .catalog.taskfile import TaskFile
from .config import build_run_config
from .events.schema import validate
from .graphs.batch import GraphTensors
from .train.checkpoint import load_model, model_path, objective_of
from .train.scoring import eval_batch_size, score


class EventClassifier:
    """A trained eventgnn model: its network, checkpoint and objective.

    ``kind``: ``binary``, ``multiclass`` or ``multilabel``; ``classes``: the class (or label)
    names in output order (binary: ``("background", "signal")``); ``path``: its ``model.pt``;
    ``name``: the shipped model's name (None for a run); ``card``: its card (None for a run).
    """

    def __init__(self, model, checkpoint: dict, path: str | os.PathLike, name: str | None = None):
        self.model = model
        self.checkpoint = checkpoint
        self.path = Path(path)
        self.name = name
        self.objective = objective_of(checkpoint)

    @classmethod
    def load(cls, run: str | os.PathLike) -> EventClassifier:
        """A run directory, a ``model.pt`` file, or a shipped model's name (``eventgnn models``;
        its file's checksum is checked), loaded with ``weights_only=True``."""
        if not isinstance(run, (str, os.PathLike)):
            raise InputError(
                f"EventClassifier.load: run: expected a run directory, a model.pt path or a "
                f"model name, got {_kind(run)}"
            )
        model, ckpt = load_model(run)
        card = shipped_card(run)
        return cls(model, ckpt, model_path(run), name=card["name"] if card else None)

    @property
    def card(self) -> dict | None:
        """The shipped model's card (None for a run)."""
        return None if self.name is None else get_card(self.name)

    @property
    def kind(self) -> str:
        return self.objective.kind

    @property
    def classes(self) -> tuple[str, ...]:
        return self.objective.names

    def __repr__(self) -> str:
        where = self.name or self.path
        return f"EventClassifier({where}, {self.kind}, classes={list(self.classes)})"

    def predict(
        self, events: ak.Array, batch_size: int | None = None, device: str | None = None
    ) -> np.ndarray:
        """Scores of ``events`` (an event-record array as :func:`eventgnn.read_events` returns
        it): binary ``[B]`` signal probabilities; multiclass ``[B, C]`` class probabilities;
        multilabel ``[B, 41]``. An event without objects gets NaN. ``batch_size``: events per
        batch (None: the run's ``train.eval_batch_size``); ``device``: where to score (``"cuda"``,
        ``"auto"``; None: where the model is, the CPU after loading); the model moves there.

        ``events`` is checked as the readers check what they read
        (:func:`eventgnn.events.schema.validate`: every field with its type, finite values, pT,
        eta and phi in range, known object types):
        :class:`~eventgnn._core.errors.SchemaError` names the field."""
        events = _checked_events(events, "EventClassifier.predict")
        if batch_size is not None and (
            isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
        ):
            raise InputError(
                f"EventClassifier.predict: batch_size: expected a positive integer or None, got "
                f"{batch_size!r}"
            )
        n_objects = ak.to_numpy(ak.num(events.objects, axis=1))
        has = n_objects > 0
        out = np.full((len(events), *self.objective.score_shape), np.nan, dtype=np.float32)
        if has.any():
            chosen = events if has.all() else events[has]
            graphs = GraphTensors.from_events(chosen)
            batch = batch_size or eval_batch_size(self.checkpoint)
            logits, _, _ = score(self.model, graphs, batch_size=batch, device=device)
            out[has] = self.objective.scores(logits).numpy()
        return out

    def predict_file(
        self,
        path: str | os.PathLike,
        keep: Sequence[str] = (),
        chunk_size: int | None = None,
        device: str | None = "auto",
        log: Callable[[str], None] = print,
    ) -> ak.Array:
        """Scores for every entry of the file ``path``, as ``eventgnn predict`` writes them, row
        for row: ``entry``, ``selected``, ``score`` (``score_<class>``) and the ``keep``
        branches, one row per entry in file order, read with the reader options the model's
        data was made with (:mod:`eventgnn.deploy.predict`). ``chunk_size``: entries read at a
        time (None: the command's default)."""
        from .deploy.predict import PREDICT_CHUNK_ENTRIES, score_inputs

        columns = score_inputs(
            [self.model], self.checkpoint, None, [Path(path)], tuple(keep), None,
            chunk_size or PREDICT_CHUNK_ENTRIES, device, log,
        )  # fmt: skip
        return ak.zip(columns, depth_limit=1)

    def finetune(
        self,
        signal: str | Sequence[str] | None = None,
        background: str | Sequence[str] | None = None,
        *,
        task: str | TaskFile | None = None,
        data: str | None = None,
        out: str | os.PathLike | None = None,
        mode: str = "full",
        epochs: int | None = None,
        train_size: int | None = None,
        seed: int = 0,
        overrides: Sequence[str] = (),
        log: Callable[[str], None] = print,
    ) -> EventClassifier:
        """Finetune this model on ``signal`` against ``background`` (files, folders or globs),
        or on ``task`` (a catalog task name with ``data``, a task file, or a
        :class:`~eventgnn.catalog.taskfile.TaskFile`); returns the finetuned classifier (its run
        directory: ``out``). ``overrides``: dotted config keys (``"train.lr=3e-4"``)."""
        return train_classifier(
            signal, background, task=task, data=data, out=out, mode=mode, epochs=epochs,
            train_size=train_size, seed=seed, overrides=overrides, log=log,
            pretrained=self.name or str(self.path.parent if self.path.name == "model.pt"
                                        else self.path),
        )  # fmt: skip

    def save(self, path: str | os.PathLike) -> Path:
        """Copy the model file (weights, config, standardisation, provenance) to ``path``."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.path, path)
        return path


def train_classifier(
    signal=None,
    background=None,
    *,
    task: str | TaskFile | None = None,
    pretrained: str | None = None,
    data: str | None = None,
    out: str | os.PathLike | None = None,
    mode: str = "full",
    epochs: int | None = None,
    train_size: int | None = None,
    seed: int = 0,
    overrides: Sequence[str] = (),
    log: Callable[[str], None] = print,
) -> EventClassifier:
    """Train a binary classifier, from ``pretrained`` (a run directory or a shipped model's
    name) or from scratch (None or ``"scratch"``); the arguments are those of
    :meth:`EventClassifier.finetune`."""
    from .catalog.resolve import TaskSpec, resolve_task
    from .train.finetune import finetune

    if signal is not None or background is not None:
        if signal is None or background is None or task is not None:
            raise ValueError("give signal and background together, or a task")
        spec = resolve_task(
            signal=_paths(signal, "signal"), background=_paths(background, "background")
        )
    elif task is None:
        raise ValueError("give signal and background (files, folders or globs), or a task")
    elif not isinstance(task, (str, os.PathLike, TaskFile, TaskSpec)):
        raise InputError(
            f"task: expected a task name, a task file or a TaskFile, got {_kind(task)}"
        )
    else:
        spec = resolve_task(task)
    config = build_run_config(
        "finetune", overrides=overrides, epochs=epochs, seed=seed, mode=mode,
        train_size=train_size, task=spec.name, data=data,
        out=None if out is None else str(out), pretrained=pretrained,
    )  # fmt: skip
    run = finetune(config, spec, log=log)
    return EventClassifier.load(run)


def _checked_events(events, where: str) -> ak.Array:
    """``events`` when it is an event-record array that passes
    :func:`~eventgnn.events.schema.validate`; otherwise an ``InputError`` or ``SchemaError``."""
    if not isinstance(events, ak.Array) or not ak.fields(events):
        raise InputError(
            f"{where}: events: expected an event-record array (as eventgnn.read_events returns), "
            f"got {_kind(events)}"
        )
    return validate(events, f"{where}: events")


def _paths(value, name: str = "paths") -> list[str]:
    """Files, folders or globs given as one path or a list of them, as strings."""
    if isinstance(value, (str, os.PathLike)):
        return [str(value)]
    if (
        isinstance(value, (list, tuple))
        and value
        and all(isinstance(v, (str, os.PathLike)) for v in value)
    ):
        return [str(v) for v in value]
    raise InputError(f"{name}: expected a path or a non-empty list of paths, got {_kind(value)}")


def _kind(value) -> str:
    """A short description of a wrongly typed argument."""
    if isinstance(value, ak.Array):
        return f"an awkward array of type {clip(str(value.type), 100)}"
    return f"{type(value).__module__}.{type(value).__qualname__}".removeprefix("builtins.")
