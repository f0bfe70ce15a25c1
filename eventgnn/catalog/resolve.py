"""Which task? Answered once, at the face (the command line or :class:`EventClassifier`), by
:func:`resolve_task`; training, k-fold and scans take the resolved :class:`TaskSpec`.

A task is given as one of:

- a catalog task name (``wh_vs_zh``; the shipped ``recipes/tasks.yaml`` plus
  ``$EVENTGNN_RECIPES``);
- a name not in the catalog of the form ``SIGNAL_vs_BACKGROUND``: signal process ``SIGNAL``
  against background process ``BACKGROUND`` of your own converted data;
- a task file (``my_task.yaml``, :mod:`.taskfile`), or a :class:`~.taskfile.TaskFile` from Python;
- signal and background paths (``--signal PATH... --background PATH...``).

Only an unknown name falls back to ``SIGNAL_vs_BACKGROUND``: a broken recipe is reported as it is.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from .._core.errors import CatalogError
from .processes import Task, builtin_downstream_processes, get_task, list_tasks
from .taskfile import TaskFile, is_task_file, load_task_file, task_from_paths


@dataclass(frozen=True)
class TaskSpec:
    """A binary task, resolved: ``task`` (its name, signal and background processes) and, for a
    task made of files, its ``samples``."""

    task: Task
    samples: TaskFile | None = None

    @property
    def name(self) -> str:
        return self.task.name

    @property
    def in_catalog(self) -> bool:
        return self.samples is None and self.task.name in list_tasks()

    def builtin_processes(self) -> list[str]:
        """The processes this task takes from the built-in downstream data (generated when
        needed) when no ``--data`` is given; an error names what cannot come from there."""
        if self.samples is not None:
            wanted = list(self.samples.from_data())
            unknown = [p for p in wanted if p not in builtin_downstream_processes()]
            if unknown:
                raise CatalogError(
                    f"task '{self.name}': process '{unknown[0]}' is not in the built-in "
                    f"downstream data ({', '.join(builtin_downstream_processes())}); "
                    "pass --data DIR"
                )
            return wanted
        if not self.task.builtin:
            why = "needs LHE input" if self.in_catalog else "is not in the catalog"
            builtin = [t for t in list_tasks() if get_task(t).builtin]
            raise CatalogError(
                f"task '{self.name}' {why}, so there is no built-in data for it: pass --data DIR "
                f"(tasks with built-in data: {', '.join(builtin)})"
            )
        return list(self.task.processes)


def resolve_task(
    task: str | os.PathLike | TaskFile | TaskSpec | None = None,
    signal: Sequence[str] = (),
    background: Sequence[str] = (),
) -> TaskSpec:
    """The task given by ``task`` (a name, a task file's path, a :class:`TaskFile`) or by
    ``signal`` and ``background`` paths (then without ``task``)."""
    if signal or background:
        if not (signal and background) or task is not None:
            raise CatalogError(
                "give signal and background together (--signal PATH... --background PATH...), "
                "without a task"
            )
        samples = task_from_paths(list(signal), list(background))
        return TaskSpec(samples.task, samples)
    if isinstance(task, TaskSpec):
        return task
    if isinstance(task, TaskFile):
        return TaskSpec(task.task, task)
    if task is None:
        raise CatalogError(
            "no task: give a task (--task NAME or FILE.yaml) or signal and background paths "
            "(--signal PATH... --background PATH...)"
        )
    name = os.fspath(task)
    if is_task_file(name):
        samples = load_task_file(name)
        return TaskSpec(samples.task, samples)
    if name in list_tasks():
        return TaskSpec(get_task(name))
    sig, sep, bkg = name.partition("_vs_")
    if not (sep and sig and bkg):
        raise CatalogError(
            f"unknown task '{name}'; known: {', '.join(list_tasks())} (or SIGNAL_vs_BACKGROUND "
            "with two process names of your data, or a task file NAME.yaml)"
        )
    return TaskSpec(Task(name, (sig,), (bkg,), builtin=False, description="custom: A_vs_B"))
