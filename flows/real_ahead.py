"""A campaign's real-only detectors need no generator: they train in a process of their own while
the generator trains and draws, and the evaluation then reuses them.

`RealArmAhead` starts that process (`eval.protocol.train_real_arm`, one detector at a time, so it
takes one core) and says how many torch threads the generator keeps beside it. Once the evaluation
has planned its real-only controls, the process trains those too, from the other end of the
evaluation's queue, until the campaign's block ends. Runs are locked per folder, so a run is
never trained twice. If the campaign fails, the process is stopped; a run it leaves half-trained
has no result and is trained again by the next campaign run.
"""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from prefect import get_run_logger

from eval.real_beside import SPAWN, end_real_arm, spawn_real_arm
from pipeline.threads import threads_beside


class RealArmAhead:
    """`with RealArmAhead(settings) as ahead:` trains the `real` arm of the evaluation `settings`
    (a dict of `eval.config.EvalConfig`) beside the block; `settings=None`: nothing to train."""

    def __init__(self, settings: dict[str, Any] | None):
        self.settings = settings
        self.process: multiprocessing.process.BaseProcess | None = None
        self.block_over: Any = None

    @property
    def outcome(self) -> dict[str, Any] | None:
        """The process's pid and exit code once it ended (None: no process)."""
        if self.process is None:
            return None
        return {"pid": self.process.pid, "exit_code": self.process.exitcode}

    @property
    def threads(self) -> int | None:
        """torch threads for the generator while the process runs (None: unchanged)."""
        return threads_beside(1) if self.process is not None else None

    def __enter__(self) -> RealArmAhead:
        if self.settings is None:
            return self
        log_dir = Path(self.settings["out_dir"]) / "logs"
        self.block_over = SPAWN.Event()
        self.process = spawn_real_arm(self.settings, log_dir, "real-arm-ahead",
                                      evaluation_over=self.block_over, planned_after=time.time())
        get_run_logger().info(
            "real-only detectors: training beside the generator (process %d, logs in %s)",
            self.process.pid, log_dir,
        )  # fmt: skip
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self.process is None:
            return
        code = end_real_arm(self.process, self.block_over, failed=kind is not None)
        if code is not None:
            get_run_logger().warning(
                "the real-only detectors beside the generator stopped with exit code %s (see "
                "%s/logs); the evaluation trained the missing ones itself", code, self.settings["out_dir"],
            )  # fmt: skip
