"""`learned`: a loose region in which the generator draws the defect's shape itself.

Region-guided generation (as SeaS, GAA, AnoGen): the spec says where and how large, the model
says what the defect looks like, and the changed pixels say what its label is. The region is
the defect's box grown by a random margin on each side; at training it grows the real mask's
box (`loose_region`), at generation a box of the spec's (or the class's real) size at the anchor
(the `learned` kind). One margin rule serves both, so the model sees the same regions at both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from conditioning.masks.registry import Canvas, register

LEARNED = "learned"
"""The kind name a spec writes for a region-guided defect."""
MARGIN_SHARE = (0.15, 0.4)
"""Each side's margin, drawn uniformly as this share of the defect box's long side."""
MIN_MARGIN_PX = 2
"""Smallest margin on each side (px), so the smallest defects still get room around them."""


def margins(long_side: float, rng: np.random.Generator) -> np.ndarray:
    """Four margins (top, left, bottom, right) in px for a defect box of this long side."""
    return np.maximum(MIN_MARGIN_PX, rng.uniform(*MARGIN_SHARE, size=4) * long_side)


def box_region(shape: tuple[int, int], box: tuple[float, float, float, float],
               rng: np.random.Generator) -> np.ndarray:
    """The (y0, x0, y1, x1) box grown by random `margins`, as a bool HxW mask (inside the image)."""
    y0, x0, y1, x1 = box
    top, left, bottom, right = margins(max(y1 - y0, x1 - x0), rng)
    out = np.zeros(shape, bool)
    rows = slice(max(0, round(y0 - top)), max(0, round(y1 + bottom)))
    cols = slice(max(0, round(x0 - left)), max(0, round(x1 + right)))
    out[rows, cols] = True
    return out


def loose_region(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Training: the loose region around a real defect mask (its tight box grown by margins)."""
    ys, xs = np.nonzero(mask)
    return box_region(mask.shape, (ys.min(), xs.min(), ys.max() + 1, xs.max() + 1), rng)


def real_size(sizes: Sequence[tuple[float, float]], rng: np.random.Generator) -> dict[str, float]:
    """`length` and `width` of one real defect box of the class (w, h pairs), drawn at random."""
    w, h = sizes[int(rng.integers(len(sizes)))]
    return {"length": float(max(w, h)), "width": float(min(w, h))}


@register(
    LEARNED,
    params={"length": (8, 24), "width": (4, 12)},
    surface="any",
    description="a loose region (the defect's box of `length` x `width` px, grown by a random "
    "margin) in which the model draws the shape; the label is what changed there. Unset sizes "
    "come from the class's real defects when generating on a dataset",
)
def learned(canvas: Canvas, p: Mapping[str, float], rng: np.random.Generator) -> np.ndarray:
    long_side, short_side = max(p["length"], p["width"]), min(p["length"], p["width"])
    height, width = (long_side, short_side) if rng.integers(2) else (short_side, long_side)
    cy, cx = canvas.anchor
    box = (cy - height / 2, cx - width / 2, cy + height / 2, cx + width / 2)
    return box_region(canvas.shape, box, rng)
