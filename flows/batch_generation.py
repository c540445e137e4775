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

from pipeline.generate_parallel import cached_backend, draw_range


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
    """Generate the unfinished samples of [start, stop) with the process's cached model
    (`pipeline.generate_parallel.draw_range`); returns the range's counts."""
    from pipeline.generate import finished_records

    run = draw_range(dataset, spec_path, model_dir, range(start, stop), out_dir, seed, budget_path,
                     render_options, revision)
    finished = finished_records(out_dir, run.ids)
    return {
        "start": start,
        "stop": stop,
        "generated_now": run.todo,
        "finished": len(finished),
        "passed": sum(record["passed"] for record in finished),
        "worker": f"{socket.gethostname()}:{os.getpid()}",
        "model_loads": cached_backend.cache_info().misses,
    }
