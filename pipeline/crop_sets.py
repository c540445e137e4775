"""Training crops in memory: defect crops (stage "control") and clean crops with masks (stage "base"),
each at the crop side generation will draw it at (pipeline.crop_sizes), grouped by side."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.stats import rankdata

from conditioning.masks.learned import loose_region
from pipeline.crop_sizes import plan_crop
from pipeline.crops import change_contrast, dilate, extract, make_batch
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

    @property
    def side(self) -> int:
        """The crops' side (px)."""
        return self.images.shape[1]

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


@dataclass
class MultiScaleCrops:
    """Crops at several sides, one CropSet per side; a batch holds crops of one side."""

    by_side: dict[int, CropSet]
    base_side: int  # the model's smallest side: a batch of it holds `batch_size` crops

    def __len__(self) -> int:
        return sum(len(crops) for crops in self.by_side.values())

    def pick(self, rng: np.random.Generator) -> CropSet:
        """One side's crops, chosen with probability proportional to their count (no draw when one)."""
        sets = [self.by_side[side] for side in sorted(self.by_side)]
        if len(sets) == 1:
            return sets[0]
        counts = np.array([len(crops) for crops in sets], float)
        return sets[int(rng.choice(len(sets), p=counts / counts.sum()))]

    def sample_batch(self, rng: np.random.Generator, batch_size: int) -> CropBatch:
        """Random crops of one side, as many as hold the pixels of `batch_size` crops at `base_side`
        (at least one), so a step costs about the same at every side."""
        crops = self.pick(rng)
        count = max(1, batch_size * self.base_side**2 // crops.side**2)
        return crops.batch(rng.integers(len(crops), size=count), rng)


def defect_crops(examples: list[Example], sizes: tuple[int, ...], dilate_px: int, margin: float, *,
                 learned_regions: bool = False, seed: int = 0) -> MultiScaleCrops:
    """One crop per defect instance at its working side among `sizes`; severity = the rank of its
    contrast among all instances. `learned_regions`: a second crop per instance whose mask and
    region are a loose region around the defect (`conditioning.masks.learned.loose_region`,
    margins seeded by `seed`), so the model learns to draw the shape itself (kind `learned`)."""
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
                plan = plan_crop(region, sizes, margin)
                rows.append((
                    *(extract(array, plan.window, plan.side)
                      for array in (example.image, example.clean, given, region)),
                    class_id, contrast, plan.window.size, learned,
                ))
    if not rows:
        raise ValueError("no defect instances with a non-empty mask in the training images")
    severity = ((rankdata([row[5] for row in rows]) - 0.5) / len(rows)).astype(np.float32)
    rows = [(*row[:5], rank, *row[6:]) for row, rank in zip(rows, severity, strict=True)]
    return MultiScaleCrops(_by_side(rows), min(sizes))


def _by_side(rows: list[tuple]) -> dict[int, CropSet]:
    """Rows of (image, clean, mask, region, class id, severity, window side, learned) as one
    CropSet per crop side."""
    sides = sorted({row[0].shape[0] for row in rows})
    out = {}
    for side in sides:
        images, cleans, masks, regions, ids, severity, windows, learned = zip(
            *(row for row in rows if row[0].shape[0] == side), strict=True)
        out[side] = CropSet(np.stack(images), np.stack(cleans), np.stack(masks), np.stack(regions),
                            np.array(ids), np.array(severity, np.float32), np.array(windows),
                            np.array(learned, bool))
    return out


AVOID_TRIES = 8
"""Windows drawn per clean crop before one touching an avoided region is accepted."""


def clean_crops(
    cleans: list[np.ndarray], count: int, masks: MultiScaleCrops | None, resolution: int, seed: int,
    avoid: list[np.ndarray | None] | None = None,
) -> MultiScaleCrops:
    """`count` random crops of clean images, each with a defect-like mask to inpaint, at the sides
    and window sizes of the defect crops `masks` (at `resolution` when None); windows touching
    `avoid[i]` (inpainted pixels of image i) are redrawn up to AVOID_TRIES times."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(count):
        index = int(rng.integers(len(cleans)))
        clean = cleans[index]
        height, width = clean.shape[:2]
        pool = masks.pick(rng) if masks is not None else None
        crop_side = pool.side if pool is not None else resolution
        side = int(pool.sides[rng.integers(len(pool))]) if pool is not None else resolution
        side = min(side, height, width)
        blocked = avoid[index] if avoid else None
        for _ in range(AVOID_TRIES):
            y0, x0 = int(rng.integers(height - side + 1)), int(rng.integers(width - side + 1))
            if blocked is None or not blocked[y0 : y0 + side, x0 : x0 + side].any():
                break
        crop = cv2.resize(clean[y0 : y0 + side, x0 : x0 + side], (crop_side, crop_side), interpolation=cv2.INTER_AREA)
        mask, region = _random_mask(rng, pool, crop_side)
        rows.append((crop, crop, mask, region, 0, 0.0, side, False))
    return MultiScaleCrops(_by_side(rows), masks.base_side if masks is not None else resolution)


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
