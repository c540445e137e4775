"""A quiet terminal while detectors train: ultralytics' own output goes to each run's log file,
and the launching process shows one rich row per detector (arm, seed, epoch, loss, ETA), read
from the `progress.json` each training process writes (eval.epoch_log)."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from eval.epoch_log import read_progress

POLL_SECONDS = 0.5
"""How often the rows re-read the progress files."""
TRAIN_LOG = "train.log"
"""ultralytics' output of one (arm, seed), in its run folder."""


@contextmanager
def output_to(log: Path) -> Iterator[None]:
    """Send this process's stdout and stderr to `log` (appending) while the block runs: file
    descriptors, so ultralytics' logger, its progress bars and C-level output all go there.
    For training processes only: the launching process keeps its terminal."""
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log, "ab") as handle:
        os.dup2(handle.fileno(), 1)
        os.dup2(handle.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def detector_worker(log_dir: str) -> None:
    """Initializer of a detector-training process: anything it prints outside a run (imports,
    warnings) goes to `log_dir/worker-<pid>.log` instead of the terminal, and it ends when the
    process that started it ends (`pipeline.parent_watch`)."""
    from pipeline.parent_watch import end_with_parent

    end_with_parent()
    path = Path(log_dir) / f"worker-{os.getpid()}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(handle, 1)
    os.dup2(handle, 2)
    os.close(handle)


class DetectorRows:
    """One live row per detector while the block runs: `with DetectorRows(console, runs): ...`
    where `runs` maps a row label (e.g. "copypaste seed 1") to the run's folder; `reused`
    labels are finished runs of an earlier call."""

    def __init__(self, console: Console, runs: dict[str, Path], reused: set[str] = frozenset()):
        self.runs = runs
        self.reused = reused
        self.progress = Progress(
            TextColumn("[bold]{task.description:<20}"), BarColumn(bar_width=24),
            TextColumn("epoch {task.completed:>4.0f}/{task.total:<4.0f}"),
            TextColumn("loss {task.fields[loss]:>6}"), TextColumn("ETA {task.fields[eta]:>7}"),
            TimeElapsedColumn(), console=console,
        )
        self.rows = {label: self.progress.add_task(label, total=1, loss="—", eta="—", start=False)
                     for label in runs}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> DetectorRows:
        self.progress.start()
        self.refresh()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.refresh()
        self.progress.stop()

    def _poll(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            self.refresh()

    def refresh(self) -> None:
        """Update every row from its run's progress file."""
        for label, folder in self.runs.items():
            record = read_progress(folder)
            row = self.rows[label]
            if record is None and label in self.reused:
                self.progress.update(row, completed=1, total=1, eta="reused")
            if record is None:
                continue
            if not self.progress.tasks[row].started:
                self.progress.start_task(row)
            epoch, epochs = record["epoch"], record["epochs"]
            loss = "—" if record["loss"] is None else f"{record['loss']:.3f}"
            self.progress.update(row, completed=epoch, total=epochs, loss=loss,
                                 eta=eta(record["seconds"], epoch, epochs))


def eta(seconds: float, epoch: int, epochs: int) -> str:
    """Time left at the mean epoch time so far, as `m:ss` (`—` before the first epoch)."""
    if epoch >= epochs:
        return "done"
    if epoch == 0:
        return "—"
    left = round(seconds / epoch * (epochs - epoch))
    return f"{left // 60}:{left % 60:02d}"
