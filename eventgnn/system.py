"""What this process may use of the machine: its cores and its cache folder."""

from __future__ import annotations

import os
from pathlib import Path


def cpu_count() -> int:
    """Cores this process may use: the affinity mask where the OS has one (a batch job's
    allocation, ``taskset``), else every core."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def cache_dir() -> Path:
    """``$EVENTGNN_CACHE``, else ``~/.cache/eventgnn``: built-in data and staged task samples."""
    env = os.environ.get("EVENTGNN_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "eventgnn"
