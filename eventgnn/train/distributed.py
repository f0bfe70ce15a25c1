"""Devices and multi-process training under ``torchrun`` (DistributedDataParallel).

``torchrun --nproc_per_node N -m eventgnn.cli pretrain ...`` starts N ranks; each joins the
process group here (NCCL on GPUs, gloo on CPUs), trains on its own share of every epoch's shuffled
training events (:func:`eventgnn.train.engine.fit`), and only rank 0 writes the run directory.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

import torch

T = TypeVar("T")


def init_distributed() -> tuple[int, int]:
    """Join the process group when started by ``torchrun`` (``WORLD_SIZE`` > 1).

    Returns ``(rank, world_size)``; ``(0, 1)`` for an ordinary single process.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 or not torch.distributed.is_available():
        return 0, 1
    if not torch.distributed.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        torch.distributed.init_process_group(backend=backend)
    return torch.distributed.get_rank(), torch.distributed.get_world_size()


def shutdown_distributed() -> None:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


def rank_zero_first(make: Callable[[], T]) -> T:
    """``make()`` on rank 0 first, then on the other ranks (which then find its outputs, for
    example the generated default data, instead of writing them at the same time)."""
    if not (torch.distributed.is_initialized() and torch.distributed.get_world_size() > 1):
        return make()
    if torch.distributed.get_rank() == 0:
        result = make()
    torch.distributed.barrier()
    if torch.distributed.get_rank() != 0:
        result = make()
    return result


def resolve_device(name: str = "auto") -> torch.device:
    """``auto``: CUDA when present (under ``torchrun`` the rank's ``LOCAL_RANK`` GPU), else CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device '{name}' requested but CUDA is not available")
    return device


def rank_world() -> tuple[int, int]:
    """``(rank, world_size)``; ``(0, 1)`` outside ``torchrun``."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1
