"""Training: tasks (losses and metrics), the engine (fit / evaluate / checkpoints), finetuning.

Entry points (plain values and :class:`eventgnn.config.RunConfig` in, run directories out):
:func:`pretrain`, :func:`finetune`, :func:`evaluate_run`, :func:`run_info`, :func:`load_model`.
"""

from .engine import fit, load_checkpoint, load_model, predict
from .finetune import finetune, finetune_groups
from .runs import evaluate_run, pretrain, run_info
from .tasks import Task, make_task

__all__ = [
    "Task",
    "evaluate_run",
    "finetune",
    "finetune_groups",
    "fit",
    "load_checkpoint",
    "load_model",
    "make_task",
    "predict",
    "pretrain",
    "run_info",
]
