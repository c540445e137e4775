"""One long-lived child process that builds and probes fuzz cases, under a wall-clock watchdog.

The parent sends `(kind, seed)`; the child builds that case's hostile file in its folder, runs the
loader on it under `probe` and sends back `(mutation, ProbeResult)`. A case that has not answered
within the limit is a `hang`: the child is killed and a fresh one started for the next case. A
child that dies (a segfault in a C extension, the kernel's out-of-memory kill) is a `crash`. The
loaders' imports and the base specs are read once per child, not once per case, so a case costs
only its own work; the limit still covers each case on its own (writing its file and loading it),
whatever the loader does, C code included.
"""

from __future__ import annotations

import multiprocessing
import random
from multiprocessing.connection import Connection
from pathlib import Path

from eval.reliability.probe import ProbeResult

START_TIMEOUT_S = 300.0
"""Longest wait for a fresh child to import the loaders and say it is ready (a loaded CPU)."""


class FuzzWorker:
    """Run fuzz cases of any kind in `fuzz_run.CASES` in a child process; `limit` s per case."""

    def __init__(self, case_folder: Path, limit: float):
        self.case_folder, self.limit = case_folder, limit
        self._context = multiprocessing.get_context("spawn")  # no fork of a threaded parent
        self._process, self._connection = None, None

    @property
    def pid(self) -> int | None:
        """The current child's process id (None before the first case)."""
        return self._process.pid if self._process is not None else None

    def run(self, kind: str, seed: int) -> tuple[str, ProbeResult]:
        """(mutation, result) of case `seed` of `kind` (the mutation is just `kind` for a hang or
        a crash: the child never said; the seed rebuilds the case)."""
        if self._process is None:
            self._start()
        try:
            self._connection.send((kind, seed))
            answered = self._connection.poll(self.limit)
            mutation, result = self._connection.recv() if answered else (None, None)
        except (EOFError, BrokenPipeError, ConnectionResetError):
            self._process.join(5)
            code = self._process.exitcode
            self._stop()
            return kind, ProbeResult("crash", f"the loader's process died (exit code {code})")
        if not answered:
            self._stop()
            return kind, ProbeResult("hang", f"no answer within {self.limit} s")
        return mutation, result

    def close(self) -> None:
        """Stop the child (idempotent)."""
        self._stop()

    def __enter__(self) -> FuzzWorker:
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002 - context-manager protocol
        self.close()

    def _start(self) -> None:
        parent, child = self._context.Pipe()
        self._process = self._context.Process(target=_serve, args=(child, str(self.case_folder)),
                                              daemon=True, name="defectforge-fuzz-worker")  # fmt: skip
        self._process.start()
        child.close()
        self._connection = parent
        try:
            ready = parent.poll(START_TIMEOUT_S) and parent.recv() == "ready"
        except EOFError:
            ready = False
        if not ready:
            code = self._process.exitcode
            self._stop()
            raise RuntimeError(f"the fuzz worker did not start within {START_TIMEOUT_S:.0f} s "
                               f"(exit code {code})")  # fmt: skip

    def _stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join()
            self._process.close()
        if self._connection is not None:
            self._connection.close()
        self._process, self._connection = None, None


def _serve(connection: Connection, case_folder: str) -> None:
    """The child's loop: import once, then build and probe one case per message."""
    from eval.reliability.fuzz_run import CASES, warm_up

    folder = Path(case_folder)
    warm_up()
    connection.send("ready")
    while True:
        try:
            kind, seed = connection.recv()
        except EOFError:  # the parent is gone
            return
        connection.send(CASES[kind](random.Random(seed), folder))
