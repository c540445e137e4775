"""What drawing defects at full resolution costs: images/s at the old fixed crop size against the
size-dependent crop size (pipeline.crop_sizes), on the compact model, for small and large defects.

    nice -n 15 python -m eval.bench_fullres --images 8

Renders `--images` grey boards of `--size` px, each with `--defects` round defects of one size
(small: radius 5 px, a 32 px crop either way; large: radius 40 px, a 122 px window drawn in a 128 px
crop at full resolution, in a 32 px crop enlarged 3.8x at fixed), once with `full_resolution: false`
and once with `true`, on an untrained compact model of the default config (the cost of drawing does
not depend on the weights), with gate retries off so every image is drawn once, after one untimed
warm-up render. Prints images/s and the mean image px per crop px of each row.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from pipeline.crop_sizes import plan_crop
from pipeline.crops import dilate
from pipeline.models import create_backend
from pipeline.render import Job, RenderConfig, render

RADII = {"small": 5, "large": 40}
"""Defect radius (px) of each row."""


def board(rng: np.random.Generator, size: int) -> np.ndarray:
    """A clean grey board with a few horizontal traces."""
    image = np.full((size, size, 3), 90, np.uint8)
    for row in rng.choice(np.arange(4, size - 8), size=size // 32, replace=False):
        image[row : row + 4] = 170
    return image


def jobs(count: int, size: int, defects: int, radius: int, seed: int) -> list[Job]:
    """`count` boards, each with `defects` discs of `radius` at random places inside it."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    out = []
    for index in range(count):
        centers = rng.integers(radius + 2, size - radius - 2, size=(defects, 2))
        masks = [(yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2 for cy, cx in centers]
        out.append(Job(board(rng, size), [("spot", mask, 0.7) for mask in masks], seed=seed + index))
    return out


def measure(backend, work: list[Job], full_resolution: bool) -> tuple[float, float]:
    """(images/s, mean image px per crop px) of rendering `work` once."""
    cfg = RenderConfig(full_resolution=full_resolution, gate={"retries": 0})
    sizes = backend.crop_sizes if full_resolution else (backend.resolution,)
    scales = [plan_crop(dilate(m, cfg.dilate_px), sizes, cfg.margin).scale for job in work for _, m, _ in job.instances]
    started = time.perf_counter()
    render(backend, work, cfg)
    return len(work) / (time.perf_counter() - started), float(np.mean(scales))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=8, help="images rendered per row")
    parser.add_argument("--size", type=int, default=256, help="board side (px)")
    parser.add_argument("--defects", type=int, default=2, help="defects per image")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    backend = create_backend("compact", ["spot"])
    render(backend, jobs(1, args.size, 1, RADII["small"], seed=99), RenderConfig(gate={"retries": 0}))  # warm-up
    print(f"compact {backend.crop_sizes} px crops, {backend.config.inference_steps} steps, {args.images} images "
          f"of {args.size} px with {args.defects} defects, {args.threads} thread(s)")
    print(f"{'defects':<8} {'radius':>6} {'crop size':<10} {'images/s':>9} {'px/crop px':>10}")
    for name, radius in RADII.items():
        work = jobs(args.images, args.size, args.defects, radius, seed=0)
        for full in (False, True):
            rate, scale = measure(backend, work, full)
            print(f"{name:<8} {radius:>6} {'by defect' if full else 'fixed':<10} {rate:>9.3f} {scale:>10.2f}", flush=True)


if __name__ == "__main__":
    main()
