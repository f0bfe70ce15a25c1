"""What this process may use of the machine: its cores and its cache folder."""

from __future__ import annotations

import os
import platform
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


def cpu_model() -> str:
    """The processor's model name (``/proc/cpuinfo`` on Linux), else what ``platform`` says."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine_info() -> dict[str, str | int]:
    """The machine a run ran on, for its record: operating system, Python, processor and the
    cores this process may use (the host name is left out: it says nothing about speed)."""
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu_model(),
        "cores": cpu_count(),
    }
