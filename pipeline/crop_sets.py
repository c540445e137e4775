"""Training crops in memory: defect crops (stage "control") and clean crops with masks (stage "base")."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.stats import rankdata

from conditioning.masks.learned import loose_region
from pipeline.crops import change_contrast, crop_window, dilate, extract, make_batch
from pipeline.models.base import CropBatch


@dataclass
class Example:
    """One training image: the defect image, its clean reference, and (class id >= 1, mask) pairs."""

    image: np.ndarray
    clean: np.ndarray
    instances: list[tuple[int, np.ndarray]]


@dataclass
class CropSet:
    """N crops at one resolution, ready to be batched."""

    images: np.ndarray  # N,R,R,3 uint8
    cleans: np.ndarray  # N,R,R,3 uint8
    masks: np.ndarray  # N,R,R bool
    regions: np.ndarray  # N,R,R bool
    class_ids: np.ndarray  # N int (0 = no defect)
    severity: np.ndarray  # N float in [0, 1]
    sides: np.ndarray  # N int: the window side in the source image
    learned: np.ndarray  # N bool: the mask is a loose region around the defect (kind learned)

    def __len__(self) -> int:
        return len(self.images)

    def batch(self, index: np.ndarray, rng: np.random.Generator) -> CropBatch:
        """The crops at `index`, each under a random flip / quarter turn (defects have no orientation)."""
        parts = [[], [], [], []]
        for i in index:
            k, flip = int(rng.integers(4)), bool(rng.integers(2))
            for part, array in zip(parts, (self.images, self.cleans, self.masks, self.regions), strict=True):
                turned = np.rot90(array[i], k)
                part.append(np.ascontiguousarray(turned[:, ::-1] if flip else turned))
        return make_batch(*parts, self.class_ids[index].tolist(), self.severity[index].tolist(),
                          self.learned[index].tolist())


def defect_crops(examples: list[Example], resolution: int, dilate_px: int, margin: float, *,
                 learned_regions: bool = False, seed: int = 0) -> CropSet:
    """One crop per defect instance; severity = the rank of its contrast among all instances.
    `learned_regions`: a second crop per instance whose mask and region are a loose region around
    the defect (`conditioning.masks.learned.loose_region`, margins seeded by `seed`), so the model
    learns to draw the shape itself (kind `learned`)."""
    rng = np.random.default_rng(seed)
    rows = []
    for example in examples:
        for class_id, mask in example.instances:
            if not mask.any():
                continue
            contrast = change_contrast(example.image, example.clean, mask)
            shapes = [(mask, dilate(mask, dilate_px), False)]
            if learned_regions:
                loose = loose_region(mask, rng)
                shapes.append((loose, loose, True))
            for given, region, learned in shapes:
                window = crop_window(region, resolution, margin)
                rows.append((
                    extract(example.image, window, resolution), extract(example.clean, window, resolution),
                    extract(given, window, resolution), extract(region, window, resolution),
                    class_id, contrast, window.size, learned,
                ))
    if not rows:
        raise ValueError("no defect instances with a non-empty mask in the training images")
    images, cleans, masks, regions, ids, contrast, sides, learned = zip(*rows, strict=True)
    severity = (rankdata(contrast) - 0.5) / len(contrast)
    return CropSet(
        np.stack(images), np.stack(cleans), np.stack(masks), np.stack(regions),
        np.array(ids), severity.astype(np.float32), np.array(sides), np.array(learned, bool),
    )


AVOID_TRIES = 8
"""Windows drawn per clean crop before one touching an avoided region is accepted."""


def clean_crops(
    cleans: list[np.ndarray], count: int, masks: CropSet | None, resolution: int, seed: int,
    avoid: list[np.ndarray | None] | None = None,
) -> CropSet:
    """`count` random crops of clean images, each with a defect-like mask to inpaint; windows
    touching `avoid[i]` (inpainted pixels of image i) are redrawn up to AVOID_TRIES times."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(count):
        index = int(rng.integers(len(cleans)))
        clean = cleans[index]
        height, width = clean.shape[:2]
        side = int(masks.sides[rng.integers(len(masks))]) if masks is not None else resolution
        side = min(side, height, width)
        blocked = avoid[index] if avoid else None
        for _ in range(AVOID_TRIES):
            y0, x0 = int(rng.integers(height - side + 1)), int(rng.integers(width - side + 1))
            if blocked is None or not blocked[y0 : y0 + side, x0 : x0 + side].any():
                break
        crop = cv2.resize(clean[y0 : y0 + side, x0 : x0 + side], (resolution, resolution), interpolation=cv2.INTER_AREA)
        mask, region = _random_mask(rng, masks, resolution)
        rows.append((crop, mask, region))
    crops, mask_list, regions = zip(*rows, strict=True)
    zeros = np.zeros(count)
    return CropSet(
        np.stack(crops), np.stack(crops), np.stack(mask_list), np.stack(regions),
        zeros.astype(int), zeros.astype(np.float32), np.full(count, resolution), zeros.astype(bool),
    )


def _random_mask(rng: np.random.Generator, pool: CropSet | None, side: int) -> tuple[np.ndarray, np.ndarray]:
    """A mask from the pool of real defect masks (shifted, turned), or a random ellipse."""
    if pool is not None and rng.random() < 0.7:
        i = int(rng.integers(len(pool)))
        k = int(rng.integers(4))
        shift = rng.integers(-side // 4, side // 4 + 1, size=2)
        mask = np.roll(np.rot90(pool.masks[i], k), shift, axis=(0, 1))
        region = np.roll(np.rot90(pool.regions[i], k), shift, axis=(0, 1))
        return np.ascontiguousarray(mask), np.ascontiguousarray(region)
    mask = np.zeros((side, side), np.uint8)
    center = tuple(int(v) for v in rng.integers(side // 4, 3 * side // 4, size=2))
    axes = tuple(int(v) for v in rng.integers(2, side // 3, size=2))
    cv2.ellipse(mask, center, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    return mask > 0, dilate(mask > 0, 1)
