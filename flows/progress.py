"""Campaign progress for people: the flow reports stages, the CLI shows them as rich progress bars.

The flow body always runs in the launching process (tasks may run on Dask workers), so the flow
reports from there; with no reporter installed (served deployments, tests) reporting is a no-op.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

STAGES = ("data", "generator", "generation", "export", "evaluation")
"""The campaign stages, in order, as the progress display names them."""

_reporter: Any = None


def report(stage: str, completed: int | None = None, total: int | None = None) -> None:
    """Mark progress of `stage` (completed of total steps; no numbers = stage done)."""
    if _reporter is not None:
        _reporter(stage, completed, total)


@contextmanager
def rich_progress() -> Iterator[None]:
    """Show one rich progress bar per stage while the block runs (installs the reporter)."""
    global _reporter
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("{task.description:<11}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=False) as progress:
        rows = {stage: progress.add_task(stage, total=1, start=False) for stage in STAGES}

        def update(stage: str, completed: int | None, total: int | None) -> None:
            row = rows[stage]
            progress.start_task(row)
            if completed is None:
                done = progress.tasks[row].total or 1
                progress.update(row, total=done, completed=done)
            else:
                progress.update(row, total=total, completed=completed)

        _reporter = update
        try:
            yield
        finally:
            _reporter = None
