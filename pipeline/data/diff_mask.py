"""Pixel masks for boxes from a tested image and its (slightly misaligned) template.

1. `best_shift`: the global shift (within +-max_shift px) that best aligns the template,
   scored outside the defect boxes.
2. `box_mask`: inside one box, the pixels where the tested image differs from the aligned
   template under every extra +-1 px shift (removes edge jitter and JPEG noise), grown back by
   one pixel into the plain difference. Fallbacks, in order: the plain difference, then an
   ellipse inscribed in the box; the method used is returned so it can be counted.
"""

from __future__ import annotations

import cv2
import numpy as np

TOLERANCE = 1
"""px: residual misalignment tolerated inside a box after the global shift."""
METHODS = ("diff", "diff_plain", "box_ellipse")
"""How a box's mask was obtained (best first)."""


def shifted(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """`image` moved by (dy, dx) px, edges replicated (same size)."""
    m = max(abs(dy), abs(dx))
    if m == 0:
        return image
    padded = np.pad(image, m, mode="edge")
    h, w = image.shape
    return padded[m - dy : m - dy + h, m - dx : m - dx + w]


def best_shift(
    test: np.ndarray, template: np.ndarray, max_shift: int, exclude: np.ndarray | None = None
) -> tuple[int, int]:
    """(dy, dx) minimising the disagreement of `test` and `shifted(template, dy, dx)`."""
    keep = np.ones(test.shape, bool) if exclude is None else ~exclude
    best, best_cost = (0, 0), None
    for dy in range(-max_shift, max_shift + 1):
        for dx in range(-max_shift, max_shift + 1):
            cost = int(np.count_nonzero((test != shifted(template, dy, dx)) & keep))
            if (
                best_cost is None
                or cost < best_cost
                or (cost == best_cost and abs(dy) + abs(dx) < abs(best[0]) + abs(best[1]))
            ):
                best, best_cost = (dy, dx), cost
    return best


def box_mask(
    test: np.ndarray,
    aligned: np.ndarray,
    box: tuple[int, int, int, int],
    tolerance: int = TOLERANCE,
) -> tuple[np.ndarray, str, float]:
    """Full-size bool mask inside `box` (x1, y1, x2, y2; x2/y2 exclusive), its method, and the
    fraction of box pixels that differ plainly."""
    x1, y1, x2, y2 = box
    h, w = test.shape
    m = tolerance
    py1, px1, py2, px2 = max(y1 - m, 0), max(x1 - m, 0), min(y2 + m, h), min(x2 + m, w)
    crop_test = test[py1:py2, px1:px2]
    crop_tpl = aligned[py1:py2, px1:px2]
    inside = np.zeros(crop_test.shape, bool)
    inside[y1 - py1 : y2 - py1, x1 - px1 : x2 - px1] = True
    plain = (crop_test != crop_tpl) & inside
    strict = plain.copy()
    for dy in range(-m, m + 1):
        for dx in range(-m, m + 1):
            strict &= crop_test != shifted(crop_tpl, dy, dx)
    fraction = float(plain.sum()) / max(int(inside.sum()), 1)
    if strict.any():
        grown = cv2.dilate(strict.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        crop, method = strict | (grown & plain), "diff"
    elif plain.any():
        crop, method = plain, "diff_plain"
    else:
        crop, method = (
            _ellipse(inside.shape, (x1 - px1, y1 - py1, x2 - px1, y2 - py1)),
            "box_ellipse",
        )
    mask = np.zeros(test.shape, bool)
    mask[py1:py2, px1:px2] = crop & inside
    return mask, method, fraction


def _ellipse(shape: tuple[int, int], box: tuple[int, int, int, int]) -> np.ndarray:
    x1, y1, x2, y2 = box
    canvas = np.zeros(shape, np.uint8)
    centre = ((x1 + x2 - 1) // 2, (y1 + y2 - 1) // 2)
    axes = (max((x2 - x1) // 2, 1), max((y2 - y1) // 2, 1))
    cv2.ellipse(canvas, centre, axes, 0, 0, 360, 1, -1)
    return canvas > 0
