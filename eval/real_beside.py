"""The real-only arm trains while the evaluation draws its synthetic sets.

Drawing a set keeps one core busy for minutes (500 painted DeepPCB images about ten, a generated
set far longer), and the `real` arm's detectors need no set. `RealArmBeside` starts a process that
trains them one at a time (`eval.protocol.train_real_arm`) while the block draws; once the sets
are drawn it starts no further run, and the evaluation's workers wait for the one it is still
training (runs are locked per folder: never trained twice). While it runs, this process's torch
keeps one thread fewer. If the block fails, the process is stopped; the run it leaves
half-trained has no result and is trained again by the next call.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from types import TracebackType
from typing import Any

SPAWN = multiprocessing.get_context("spawn")
"""The context of the process and of the events it takes (spawn: CUDA-safe)."""


def train_real_arm_quietly(settings: dict[str, Any], log_dir: str, evaluation_over: Any = None,
                           planned_after: float = 0.0, stop: Any = None) -> None:
    """A process's target: what it prints goes to `log_dir`, each run's output to its train.log;
    `evaluation_over`, `planned_after`, `stop`: as `eval.protocol.train_real_arm` takes them."""
    from eval.config import EvalConfig
    from eval.protocol import train_real_arm
    from eval.train_display import detector_worker
    from pipeline.offline import configure_offline_environment

    detector_worker(log_dir)
    configure_offline_environment()
    train_real_arm(EvalConfig.model_validate(settings), evaluation_over, planned_after, stop=stop)


def spawn_real_arm(settings: dict[str, Any], log_dir: Path, name: str,
                   **options: Any) -> multiprocessing.process.BaseProcess:
    """A started daemon process training the real arm of `settings` (`train_real_arm_quietly`
    with `options`: its events made by `SPAWN`)."""
    process = SPAWN.Process(target=train_real_arm_quietly, name=name, daemon=True,
                             args=(settings, str(log_dir)), kwargs=options)
    process.start()
    return process


def end_real_arm(process: multiprocessing.process.BaseProcess, event: Any, failed: bool) -> int | None:
    """Stop `process` at once when the block it ran beside `failed`; either way set `event` (its
    `stop` or `evaluation_over`) and wait for it. Returns its exit code when it stopped with an
    error beside a block that did not fail (the caller warns), else None."""
    if failed:
        process.terminate()
    event.set()
    process.join()
    return process.exitcode if not failed and process.exitcode != 0 else None


class RealArmBeside:
    """`with RealArmBeside(settings, out) as beside: <draw the sets>; beside.sets_drawn()`, where
    `settings` is an `eval.config.EvalConfig` as a dict (None: nothing to train) and `out` the
    evaluation folder (its logs/ gets the process's output). The block ends once the
    evaluation is over: leaving it waits for the process."""

    def __init__(self, settings: dict[str, Any] | None, out: Path):
        self.settings = settings
        self.log_dir = out / "logs"
        self.process: multiprocessing.process.BaseProcess | None = None
        self.stop: Any = None
        self._threads: int | None = None

    def __enter__(self) -> RealArmBeside:
        if self.settings is None:
            return self
        import torch

        from pipeline.threads import threads_beside

        self.stop = SPAWN.Event()
        self.process = spawn_real_arm(self.settings, self.log_dir, "real-arm-beside",
                                      stop=self.stop)
        self._threads = torch.get_num_threads()
        torch.set_num_threads(threads_beside(1))
        return self

    def sets_drawn(self) -> None:
        """No further run starts beside; this process gets its threads back."""
        if self.process is None:
            return
        import torch

        self.stop.set()
        if self._threads is not None:
            torch.set_num_threads(self._threads)
            self._threads = None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self.process is None:
            return
        self.sets_drawn()
        code = end_real_arm(self.process, self.stop, failed=kind is not None)
        if code is not None:
            from eval.console import warn

            warn(f"the real-only detectors trained beside the drawing stopped with exit code "
                 f"{code} (see {self.log_dir}); the evaluation trained the missing ones itself")
