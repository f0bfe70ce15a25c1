"""Training: objectives (losses and metrics), the training loop, checkpoints, finetuning.

Entry points (plain values and :class:`eventgnn.config.RunConfig` in, run directories out):
:func:`pretrain`, :func:`finetune`, :func:`evaluate_run`, :func:`run_info`, :func:`load_model`.
"""

from .checkpoint import load_checkpoint, load_model
from .engine import fit
from .evaluate import evaluate_run
from .finetune import finetune, finetune_groups
from .objectives import Objective, make_objective
from .runs import pretrain, run_info
from .scoring import score

__all__ = [
    "Objective",
    "evaluate_run",
    "finetune",
    "finetune_groups",
    "fit",
    "load_checkpoint",
    "load_model",
    "make_objective",
    "pretrain",
    "score",
    "run_info",
]
