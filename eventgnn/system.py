"""What this process may use of the machine."""

from __future__ import annotations

import os


def cpu_count() -> int:
    """Cores this process may use: the affinity mask where the OS has one (a batch job's
    allocation, ``taskset``), else every core."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
