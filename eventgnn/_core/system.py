"""What this process may use of the machine: its cores, its cache folder, and how a worker
process ends with its parent."""

from __future__ import annotations

import os
import platform
import signal
import sys
import threading
import time
from pathlib import Path


def cpu_count() -> int:
    """Cores this process may use: the affinity mask where the OS has one (a batch job's
    allocation, ``taskset``), else every core."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def free_cores(window: float = 0.2) -> int:
    """Cores not busy right now: this process's cores minus the busy ones, measured over
    ``window`` seconds from ``/proc/stat`` (at least 1; every usable core where there is no
    ``/proc/stat``). Torch's threads wait on each other when one of them shares a core with
    another job, so a small model trains several times slower with more threads than free cores
    (docs/training.md, "Threads")."""
    cores = cpu_count()
    try:
        first = _cpu_ticks()
        time.sleep(window)
        second = _cpu_ticks()
    except (OSError, ValueError):
        return cores
    busy, total = (b - a for a, b in zip(first, second, strict=True))
    if total <= 0:
        return cores
    n_machine = os.cpu_count() or cores
    busy_cores = busy / total * n_machine
    return max(1, min(cores, round(n_machine - busy_cores)))


def _cpu_ticks() -> tuple[int, int]:
    """``(busy, total)`` jiffies of the whole machine since boot (``/proc/stat``'s cpu line)."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


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


PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """End this worker when its parent process ends, even by ``kill -9`` (which gives the
    parent no chance to stop its workers, and they would go on writing shards into a folder
    whose lock is gone). Linux: the kernel sends SIGKILL (``prctl(PR_SET_PDEATHSIG)``);
    elsewhere a watchdog thread sees the parent change. Both check that the parent had not
    already gone before this ran. (The death signal follows the *thread* that started the
    worker: the pool starts its workers from the thread that submits, which lives as long as
    the job.) Called in every worker-pool initializer (generation, scans)."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGKILL)

    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)
    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()
