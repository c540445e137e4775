"""Defect-free backgrounds chosen by likeness to the budget's parts.

Each image becomes a small embedding: a 16x16 grey thumbnail (layout and brightness), a 16-bin
grey histogram (tone) and an 8-bin histogram of edge orientations weighted by edge strength
(texture direction), each block scaled to at most unit length. Each budget part then takes its
`neighbours` nearest pool images (Euclidean, scipy's KDTree); ties break by a seeded shuffle of
the pool.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

THUMB_SIDE = 16
"""Side of the grey thumbnail (px)."""
GREY_BINS = 16
"""Bins of the grey-level histogram."""
EDGE_BINS = 8
"""Bins of the edge-orientation histogram (0-180 degrees)."""


def embed(image: np.ndarray) -> np.ndarray:
    """The likeness embedding of an HxW or HxWx3 uint8 image (1-D float32)."""
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    thumb = cv2.resize(grey, (THUMB_SIDE, THUMB_SIDE), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    tone = np.bincount(grey.ravel().astype(np.int64) * GREY_BINS // 256, minlength=GREY_BINS).astype(np.float32)
    dy = cv2.Sobel(grey.astype(np.float32), cv2.CV_32F, 0, 1)
    dx = cv2.Sobel(grey.astype(np.float32), cv2.CV_32F, 1, 0)
    angle = (np.arctan2(dy, dx) % np.pi) / np.pi
    bins = np.minimum((angle * EDGE_BINS).astype(int), EDGE_BINS - 1)
    edges = np.bincount(bins.ravel(), weights=np.hypot(dx, dy).ravel(), minlength=EDGE_BINS).astype(np.float32)
    blocks = [thumb.ravel() / THUMB_SIDE, tone / max(tone.sum(), 1), edges / max(edges.sum(), 1e-6)]
    return np.concatenate(blocks).astype(np.float32)


def similar_backgrounds(
    parts: list[Path], pool: list[Path], neighbours: int, seed: int, load: Callable[[Path], np.ndarray]
) -> list[Path]:
    """The pool images among each part's `neighbours` nearest (in pool order); every pool image
    when `neighbours` is 0 or the pool is no larger than that."""
    if neighbours == 0 or len(pool) <= neighbours or not parts:
        return list(pool)
    from scipy.spatial import KDTree

    order = np.random.default_rng(seed).permutation(len(pool))
    tree = KDTree(np.stack([embed(load(pool[i])) for i in order]))
    _, nearest = tree.query(np.stack([embed(load(p)) for p in parts]), k=neighbours)
    chosen = {int(order[i]) for i in np.asarray(nearest).ravel()}
    return [path for index, path in enumerate(pool) if index in chosen]
