"""What a synthetic defect really changed: its label mask is the changed pixels, not the intent
(DESIGN.md, labels rule 1: a faint defect carries no full label, an undrawn one none)."""

from __future__ import annotations

import numpy as np

CHANGE_THRESHOLD = 0.08
"""A pixel counts as changed when its mean |RGB difference| to the clean image exceeds this
(fraction of 255; the QA gate's default `change_threshold`)."""


def changed_pixels(image: np.ndarray, clean: np.ndarray,
                   threshold: float = CHANGE_THRESHOLD) -> np.ndarray:
    """HxW bool: pixels of `image` that differ visibly from `clean`."""
    difference = np.abs(image.astype(np.int16) - clean.astype(np.int16))
    return difference.mean(axis=-1) / 255 > threshold


def visible_mask(mask: np.ndarray, changed: np.ndarray) -> np.ndarray:
    """The part of an intended defect mask that actually changed."""
    return mask & changed
