"""Thread counts chosen by the tool, so a shared, busy CPU does not collapse.

OpenMP threads that outnumber the idle cores spin against each other: on a busy 2-core machine,
two training threads ran 30x slower than one. Unless the user set `OMP_NUM_THREADS`, the CLI uses
as many threads as there are idle cores (at least one), read from the 1-minute load average.
"""

from __future__ import annotations

import math
import os
import sys

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def idle_cores(cores: int, load: float) -> int:
    """Cores left idle by a 1-minute load average of `load` (at least 1, at most `cores`)."""
    return max(1, min(cores, math.floor(cores - load + 0.5)))


def configure_threads() -> int:
    """Set the thread variables (and torch, when already imported) unless the user set
    OMP_NUM_THREADS; returns the thread count in use."""
    if "OMP_NUM_THREADS" in os.environ:
        return int(os.environ["OMP_NUM_THREADS"])
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = 0.0
    threads = idle_cores(available_cores(), load)
    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, str(threads))
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    return threads


def threads_beside(processes: int) -> int:
    """torch threads for this process while `processes` single-threaded processes run beside
    it: its current count less theirs, at least one."""
    import torch

    return max(1, torch.get_num_threads() - processes)


def use_threads(count: int | None) -> None:
    """Set torch's thread count in the calling thread (None: leave it); a campaign's task threads
    call it, since OpenMP keeps a count per thread."""
    if count is not None:
        import torch

        torch.set_num_threads(count)
