"""Worker processes end with the process that started them.

A spawned worker (a detector's training, the real-only process of a campaign) outlives its parent
when the parent is killed: `kill -9`, SIGTERM's default action, a cancelled flow run. It would go
on training for up to an hour of CPU whose result nobody collects (measured: an evaluation
stopped this way left six detectors training). `end_with_parent` starts a daemon thread that
waits on multiprocessing's sentinel of the parent (`multiprocessing.parent_process()`, ready
when the parent process ends, however it ends) and then ends the worker.
"""

from __future__ import annotations

import multiprocessing
import os
import threading

EXIT_CODE = 143
"""The worker's exit status when its parent is gone (as SIGTERM's: 128 + 15)."""


def end_with_parent() -> None:
    """From now on, this process exits (EXIT_CODE, without cleanup: a run's files are written
    atomically and its lock is released by the system) as soon as its parent ends. A process not
    started by multiprocessing has no parent sentinel: nothing to watch."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()
        os._exit(EXIT_CODE)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()
