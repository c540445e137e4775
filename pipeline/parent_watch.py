"""Worker processes end with the process that started them.

A spawned worker (a detector's training, the real-only process of a campaign) outlives its parent
when the parent is killed: `kill -9`, SIGTERM's default action, a cancelled flow run. It would go
on training for up to an hour of CPU whose result nobody collects (measured: an evaluation
stopped this way left six detectors training). `end_with_parent` starts a daemon thread that
ends the worker once it has been handed to another parent. It polls `os.getppid`, which works on
every POSIX system; Linux's PR_SET_PDEATHSIG would need ctypes and fires when the parent *thread*
that started the worker ends, not the parent process.
"""

from __future__ import annotations

import os
import threading
import time

POLL_SECONDS = 2.0
"""How often the thread checks the parent."""
EXIT_CODE = 143
"""The worker's exit status when its parent is gone (as SIGTERM's: 128 + 15)."""


def end_with_parent(poll_seconds: float = POLL_SECONDS) -> None:
    """From now on, this process exits (EXIT_CODE, without cleanup: a run's files are written
    atomically and its lock is released by the system) within `poll_seconds` of its parent's end."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        os._exit(EXIT_CODE)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()
