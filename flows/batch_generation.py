"""One mapped generation task: samples [start, stop) of a set, with the model loaded once per process.

A campaign splits a set's deterministic sample ids (`<spec_hash>-<seed>-<index>`) into ranges that
run in parallel (threads or Dask workers), each through `pipeline.generate.generate_range`;
`generate_set` over the full count then only assembles the COCO file.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from pipeline.generate_parallel import cached_backend


def generate_range(
    dataset: str,
    spec_path: Path,
    model_dir: Path,
    start: int,
    stop: int,
    out_dir: Path,
    *,
    seed: int,
    revision: str,
    budget_path: Path | None,
    render_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Generate the unfinished samples of [start, stop) with the process's cached model; returns
    the range's counts. `revision` (`pipeline.models.model_revision`) is computed once by the
    flow, not per batch: hashing large weights is slow."""
    from pipeline import generate

    run = generate.generate_range(
        dataset, spec_path, model_dir, range(start, stop), out_dir, seed=seed, budget_path=budget_path,
        config=render_options, backend=cached_backend(str(model_dir), revision), revision=revision,
        progress=False,
    )  # fmt: skip
    finished = generate.finished_records(out_dir, run.ids)
    return {
        "start": start,
        "stop": stop,
        "generated_now": run.todo,
        "finished": len(finished),
        "passed": sum(record["passed"] for record in finished),
        "worker": f"{socket.gethostname()}:{os.getpid()}",
        "model_loads": cached_backend.cache_info().misses,
    }
