"""The working size of each defect's crop: drawn at about its real scale, not at one fixed size.

A model trained at several crop sides (`GeneratorBackend.crop_sizes`, e.g. 32 / 64 / 128 px for
`compact`) draws each defect in the smallest side that holds its window; the window is grown to that
side (more context around the defect, no resizing), so one crop pixel is one image pixel. Only a
defect whose window is larger than the largest side is drawn coarser and enlarged on paste."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.crops import Window, crop_window, window_side


@dataclass(frozen=True)
class CropPlan:
    """One defect's crop: its window in the image and the side the model draws it at."""

    window: Window
    side: int

    @property
    def scale(self) -> float:
        """Image pixels per crop pixel: 1 = drawn at real scale; above 1 the crop is enlarged on paste
        (blurred); below 1 it is drawn finer and shrunk on paste."""
        return self.window.size / self.side


def working_side(needed: int, sizes: Sequence[int]) -> int:
    """The smallest of `sizes` that is at least `needed` px, or the largest when none is."""
    fitting = [side for side in sorted(sizes) if side >= needed]
    return fitting[0] if fitting else max(sizes)


def plan_crop(region: np.ndarray, sizes: Sequence[int], margin: float) -> CropPlan:
    """The crop of one dilated defect mask (bool HxW): its working side among `sizes`, and the window
    centred on it, grown to that side (or larger, when the defect's window exceeds every size)."""
    side = working_side(window_side(region, margin), sizes)
    return CropPlan(crop_window(region, side, margin), side)
