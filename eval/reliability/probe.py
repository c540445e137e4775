"""Run one loader call on one hostile file, watching every file it opens.

The outcome is one of `located` (the loader's own error, every problem naming file and place),
`accepted` (no error: the input was invalid, so this is a finding), `traceback` (any other
exception) or `outside` (it opened a file outside the case's folder). The time limit is the
worker's (`fuzz_worker`), which adds `hang` (over the limit) and `crash` (the process died).
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

OUTCOMES = ("located", "accepted", "traceback", "hang", "crash", "outside")


@dataclass
class ProbeResult:
    """What one call did with one file."""

    outcome: str
    detail: str = ""


_watch = threading.local()


def _audit(event: str, args: tuple) -> None:
    folder = getattr(_watch, "folder", None)
    if folder is None or event != "open" or not args or not isinstance(args[0], str | bytes):
        return
    path = os.fsdecode(args[0])
    if path.endswith((".py", ".pyc", ".so")) or path.startswith((sys.prefix, sys.base_prefix)):
        return  # imports of code, not reads of data
    resolved = os.path.realpath(path)
    if not resolved.startswith(folder + os.sep) and resolved != folder:
        _watch.opened.append(resolved)


_hook_installed = False


@contextmanager
def watching(folder: Path):
    """Record, into the yielded list, every file opened outside `folder` inside the block."""
    global _hook_installed
    if not _hook_installed:  # audit hooks cannot be removed; one, switched by `_watch.folder`
        sys.addaudithook(_audit)
        _hook_installed = True
    _watch.folder, _watch.opened = os.path.realpath(folder), []
    try:
        yield _watch.opened
    finally:
        _watch.folder = None


def probe(
    call: Callable[[Path], list[str] | None],
    path: Path,
    *,
    located: Callable[[Exception], list[str] | None],
    where: str = r":\d+:\d+: \S",
) -> ProbeResult:
    """Run `call(path)`; `located(error)` gives an expected error's problem lines (None: not
    ours). A call may also return problem lines itself (a checker that reports, not raises).
    Each line must start with the file's path followed by `where` (default `:line:col: `)."""
    try:
        with watching(path.parent) as opened:
            returned = call(path)
    except Exception as error:  # noqa: BLE001 - anything not located is the finding
        lines = located(error)
        if lines is None:
            return ProbeResult("traceback", f"{type(error).__name__}: {error}"[:300])
        return _check_lines(lines, path, opened, where)
    if returned is None:
        return ProbeResult("accepted", "no error") if not opened else _outside(opened)
    return _check_lines(returned, path, opened, where)


def _check_lines(lines: list[str], path: Path, opened: list[str], where: str) -> ProbeResult:
    if opened:
        return _outside(opened)
    if not lines:
        return ProbeResult("accepted", "no problem reported")
    pattern = re.compile(re.escape(str(path)) + where)
    unlocated = [line for line in lines if not pattern.match(line)]
    if unlocated:
        return ProbeResult("traceback", f"not located: {unlocated[0][:200]}")
    return ProbeResult("located", lines[0][:200])


def _outside(opened: list[str]) -> ProbeResult:
    return ProbeResult("outside", f"opened {opened[0]}")
