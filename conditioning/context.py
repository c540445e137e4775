"""The clean part around a defect: the share of its foreground in the defect's tight box grown by
a margin. Placement keeps it within a spec's `placement.context`; `spec fit` measures it on the
real defects (pixels that a tight-crop realism test or a detector sees next to the defect)."""

from __future__ import annotations

import cv2
import numpy as np


def context_share(mask: np.ndarray, foreground: np.ndarray, margin: float) -> float:
    """Share of `foreground` pixels in `mask`'s tight box grown by `margin` px (clipped to the
    image); nan for an empty mask."""
    return box_share(cv2.boundingRect(mask.astype(np.uint8)), foreground, margin)


def box_share(box: tuple[int, int, int, int], foreground: np.ndarray, margin: float) -> float:
    """`context_share` of a tight box [x, y, w, h] (as `cv2.boundingRect` gives it); nan for an
    empty box."""
    x, y, w, h = box
    if w == 0 or h == 0:
        return float("nan")
    grow = int(round(margin))
    height, width = foreground.shape
    window = foreground[max(0, y - grow) : min(height, y + h + grow), max(0, x - grow) : min(width, x + w + grow)]
    return float(window.mean())
