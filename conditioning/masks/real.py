"""`real`: the shape of one of the class's real defects, moved to where the part matches its own.

A real defect's mask (its changed pixels) and the clean part around it are cut from the k real
images (`RealExample`, built by `pipeline.labels.real_examples`). At generation, one of them,
turned by the first of the square's eight rotations and flips (in random order) that fits, is
put where the part's foreground matches the clean part it was cut from (template matching over
the whole image; at most `TOLERANCE` of its pixels may differ), at the matching place nearest
the placement's anchor (a real shape fits few places: within 32 px of an anchor it rarely found
one): an open lands on a trace as wide as the one it broke, a short across a gap like the one it
bridged. Regions and keep-out zones clip the mask. Where nothing matches, the mask is empty and
placement tries again (the matches of one image are kept: `BoardMatches`). The generator then
draws the defect into the mask.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import cv2
import numpy as np

from conditioning.masks.registry import Canvas, register

REAL = "real"
"""The kind name a spec writes for a defect shaped like one of its class's real defects."""
CONTEXT_PX = 10
"""px of clean part kept around a real defect's box and matched at its new place: about the
margins of a real label box, so the part inside a drawn defect's box is the real one's (chosen
with `TOLERANCE` on DeepPCB's train split outside the k = 50 budget, against 4 px)."""
TOLERANCE = 0.02
"""Largest share of the example's pixels whose foreground may differ from its own clean part
(chosen on DeepPCB's train split outside the k = 50 budget, against 0.01 and 0.04: README,
"Real defect shapes")."""


@dataclass(frozen=True)
class RealExample:
    """One real defect cut to its box + CONTEXT_PX: its mask and the clean part's foreground."""

    mask: np.ndarray  # h x w bool: the defect's pixels
    context: np.ndarray  # h x w bool: the clean reference's foreground at the same place

    def turned(self, k: int) -> RealExample:
        """One of the square's eight symmetries: k % 4 quarter turns, mirrored when k >= 4."""

        def turn(a: np.ndarray) -> np.ndarray:
            a = np.rot90(a, k % 4)
            return np.ascontiguousarray(a[:, ::-1] if k >= 4 else a)

        return RealExample(turn(self.mask), turn(self.context))


def cut_example(mask: np.ndarray, foreground: np.ndarray) -> RealExample | None:
    """The example of a real defect `mask` on a clean part whose foreground is `foreground`
    (both HxW bool), or None for an empty mask."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    height, width = mask.shape
    y0, y1 = max(0, ys.min() - CONTEXT_PX), min(height, ys.max() + 1 + CONTEXT_PX)
    x0, x1 = max(0, xs.min() - CONTEXT_PX), min(width, xs.max() + 1 + CONTEXT_PX)
    return RealExample(mask[y0:y1, x0:x1].copy(), foreground[y0:y1, x0:x1].astype(bool))


@register(
    REAL,
    params={},
    surface="any",
    description="the shape of one of the class's real defects (from the k real images, turned or "
    "mirrored at random), put where the part matches the clean part around it, at the match "
    "nearest the anchor; needs a dataset with clean references",
)
def real(canvas: Canvas, p: Mapping[str, float], rng: np.random.Generator) -> np.ndarray:
    out = np.zeros(canvas.shape, bool)
    drawn = canvas.examples[int(rng.integers(len(canvas.examples)))]
    board = canvas.matches or BoardMatches(canvas.foreground)
    for k in rng.permutation(8):  # every turn before giving the example up: a short between
        example, corners = board.fits(drawn, int(k))  # upright traces fits a board of level ones turned
        spot = nearest_corner(corners, example, canvas.anchor, rng)
        if spot is not None:
            y, x = spot
            h, w = example.mask.shape
            out[y : y + h, x : x + w] = example.mask
            break
    return out


class BoardMatches:
    """Where each real example, turned, fits one part: matched once per (example, turn), then kept
    for every later try on the same image (placement draws the same examples again and again: on
    DeepPCB about half of an image's matches repeat one it already made)."""

    def __init__(self, foreground: np.ndarray):
        self._ground = np.asarray(foreground, np.float32)
        self._found: dict[tuple[int, int], tuple[RealExample, RealExample, Corners | None]] = {}

    def fits(self, drawn: RealExample, k: int) -> tuple[RealExample, Corners | None]:
        """`drawn` turned by `k` (`RealExample.turned`) and the top-left corners where it fits
        (`fitting_corners`)."""
        key = (id(drawn), k)
        if key not in self._found:  # `drawn` is kept with its entry, so its id stays its own
            example = drawn.turned(k)
            self._found[key] = (drawn, example, fitting_corners(self._ground, example))
        _, example, corners = self._found[key]
        return example, corners


Corners = tuple[np.ndarray, np.ndarray]
"""Rows and columns (int32) of the top-left corners where an example fits a part."""


def fitting_corners(foreground: np.ndarray, example: RealExample) -> Corners | None:
    """The top-left corners where at most TOLERANCE of the example's pixels differ from
    `foreground` (bool, or 0/1 float32), or None where there are none."""
    h, w = example.mask.shape
    if h > foreground.shape[0] or w > foreground.shape[1]:
        return None
    cost = cv2.matchTemplate(np.asarray(foreground, np.float32), example.context.astype(np.float32),
                             cv2.TM_SQDIFF) / (h * w)
    fit = cost <= TOLERANCE
    if not fit.any():  # most tries: cheaper than listing no corners
        return None
    ys, xs = np.nonzero(fit)
    return ys.astype(np.int32), xs.astype(np.int32)


def nearest_corner(corners: Corners | None, example: RealExample, anchor: tuple[int, int],
                   rng: np.random.Generator) -> tuple[int, int] | None:
    """Among `corners` (`fitting_corners` of `example`), the top-left corner that puts the
    example's centre nearest `anchor` (ties at random), or None."""
    if corners is None:
        return None
    ys, xs = corners
    h, w = example.mask.shape
    distance = np.hypot(ys + h // 2 - anchor[0], xs + w // 2 - anchor[1])
    pick = int(rng.choice(np.flatnonzero(distance == distance.min())))
    return int(ys[pick]), int(xs[pick])
