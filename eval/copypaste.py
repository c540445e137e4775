"""Copy-paste: real defects cut out of the k training images (by their masks) and pasted onto
clean references, each where the clean context best matches the defect's own (an open goes
onto a trace like the one it broke, a short between traces like the ones it bridged)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pipeline.data.records import ImageRecord
from pipeline.labels.style import margins

CANDIDATES = 8
"""A pasted defect goes to one of this many best-matching free positions (at random)."""
CONTEXT = 4
"""px of clean context around the defect box compared when choosing a position."""


@dataclass
class Patch:
    """One real defect: its pixels, mask and clean context, cropped to its box + context."""

    class_name: str
    pixels: np.ndarray  # h x w x 3 defect image crop
    clean: np.ndarray  # h x w x 3 clean reference crop at the same place
    mask: np.ndarray  # h x w bool
    margins: tuple[float, float, float, float]  # the real box past the mask: left, top, right, bottom


def cut_patches(records: list[ImageRecord]) -> list[Patch]:
    """Every instance of the records with a clean reference, as a patch."""
    patches = []
    for record in records:
        if record.clean_path is None or not record.instances:
            continue
        image, clean = record.load_image(), record.load_clean()
        for inst in record.instances:
            ys, xs = np.nonzero(inst.mask)
            if len(xs) == 0:
                continue
            y0, y1 = max(0, ys.min() - CONTEXT), min(record.height, ys.max() + 1 + CONTEXT)
            x0, x1 = max(0, xs.min() - CONTEXT), min(record.width, xs.max() + 1 + CONTEXT)
            patches.append(
                Patch(
                    inst.class_name,
                    image[y0:y1, x0:x1],
                    clean[y0:y1, x0:x1],
                    inst.mask[y0:y1, x0:x1],
                    margins(inst.bbox_xywh, inst.mask),
                )
            )
    return patches


def paste_defects(
    background: np.ndarray, patches: list[Patch], rng: np.random.Generator,
    occupied: np.ndarray | None = None,
) -> tuple[np.ndarray, list[tuple[Patch, np.ndarray]]]:
    """Paste `patches` onto a copy of `background` without overlaps, and at least CONTEXT px clear
    of `occupied` (the background's own defects); returns the image and the pasted (patch, mask)
    pairs."""
    out = background.copy()
    taken = np.zeros(background.shape[:2], bool)
    if occupied is not None:
        kernel = np.ones((2 * CONTEXT + 1, 2 * CONTEXT + 1), np.uint8)
        taken = cv2.dilate(occupied.astype(np.uint8), kernel) > 0
    instances = []
    for patch in patches:
        spot = best_spot(background, patch, taken, rng)
        if spot is None:
            continue
        y, x = spot
        h, w = patch.mask.shape
        region = out[y : y + h, x : x + w]
        region[patch.mask] = patch.pixels[patch.mask]
        mask = np.zeros_like(taken)
        mask[y : y + h, x : x + w] = patch.mask
        taken |= mask
        instances.append((patch, mask))
    return out, instances


def best_spot(
    background: np.ndarray, patch: Patch, taken: np.ndarray, rng: np.random.Generator
) -> tuple[int, int] | None:
    """Top-left corner drawn among the free positions whose clean pixels best match the
    patch's own clean context (template matching; a random pick among the best few)."""
    h, w = patch.mask.shape
    height, width = background.shape[:2]
    if h > height or w > width:
        return None
    cost = cv2.matchTemplate(background.astype(np.float32), patch.clean.astype(np.float32),
                             cv2.TM_SQDIFF)
    overlap = cv2.matchTemplate(taken.astype(np.float32), patch.mask.astype(np.float32),
                                cv2.TM_CCORR)
    cost[overlap > 0.5] = np.inf
    order = np.argsort(cost, axis=None)[:CANDIDATES]
    order = order[np.isfinite(cost.flat[order])]
    if len(order) == 0:
        return None
    y, x = np.unravel_index(int(rng.choice(order)), cost.shape)
    return int(y), int(x)
