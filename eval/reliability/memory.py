"""Resident memory while generating many samples in one process (a leak shows as growth)."""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path

TINY_COMPACT = {"resolution": 16, "block_out_channels": [8, 16], "token_dim": 16, "inference_steps": 2}
"""An untrained compact generator: memory, not image quality, is measured."""


def rss_mb() -> float:
    """This process's resident set size (MB), from /proc/self/status."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def rss_over_generation(samples: int, every: int, out_dir: Path,
                        on_point: Callable[[list[tuple[int, float]]], None] | None = None,
                        ) -> list[tuple[int, float]]:  # fmt: skip
    """Generate `samples` samples of the prepared `sample` line in chunks of `every`; returns
    (samples done, RSS MB) after each chunk, also given to `on_point` as they come."""
    from pipeline.data.prepare import prepare_dataset
    from pipeline.data.prepared import PreparedDataset
    from pipeline.data.registry import spec_path
    from pipeline.generate import generate_range
    from pipeline.models import create_backend, load_backend, model_revision

    prepare_dataset("sample", progress=False)
    classes = PreparedDataset("sample").info.class_names
    model_dir = out_dir / "model"
    create_backend("compact", classes, dict(TINY_COMPACT)).save(model_dir)
    backend, revision = load_backend(model_dir), model_revision(model_dir)
    points = []
    for start in range(0, samples, every):
        generate_range("sample", spec_path("sample"), model_dir, range(start, start + every),
                       out_dir / "generated", seed=0, config={"steps": 2}, backend=backend,
                       revision=revision, progress=False)  # fmt: skip
        gc.collect()
        points.append((start + every, round(rss_mb(), 1)))
        if on_point is not None:
            on_point(points)
    return points
