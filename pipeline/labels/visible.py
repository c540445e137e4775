"""What a synthetic defect really changed: its label mask is the changed pixels, not the intent
(DESIGN.md, labels rule 1: a faint defect carries no full label, an undrawn one none). The
change measure and threshold are the QA gate's (`pipeline.gate`), so arms and generation agree."""

from __future__ import annotations

import numpy as np

from pipeline.gate import GateConfig, change_map

CHANGE_THRESHOLD = GateConfig.model_fields["change_threshold"].default
"""A pixel counts as changed when its mean |RGB difference| to the clean image exceeds this
(fraction of 255; the gate's default `change_threshold`)."""


def changed_pixels(image: np.ndarray, clean: np.ndarray,
                   threshold: float = CHANGE_THRESHOLD) -> np.ndarray:
    """HxW bool: pixels of `image` that differ visibly from `clean`."""
    return change_map(image, clean) > threshold


def visible_mask(mask: np.ndarray, changed: np.ndarray) -> np.ndarray:
    """The part of an intended defect mask that actually changed."""
    return mask & changed
