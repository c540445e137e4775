"""Procedural defects: the spec's masks painted onto a clean reference with a simple texture
(per-class colour measured on the k real images, noise, soft edges); no model."""

from __future__ import annotations

import cv2
import numpy as np

from pipeline.data.records import ImageRecord

NOISE_SD = 8.0
"""Grey-level noise of the painted texture."""


def class_colours(records: list[ImageRecord]) -> dict[str, np.ndarray]:
    """Mean RGB of each class's real defect pixels in the records."""
    sums: dict[str, np.ndarray] = {}
    counts: dict[str, int] = {}
    for record in records:
        if not record.instances:
            continue
        image = record.load_image().astype(np.float64)
        for inst in record.instances:
            pixels = image[inst.mask]
            sums[inst.class_name] = sums.get(inst.class_name, 0) + pixels.sum(axis=0)
            counts[inst.class_name] = counts.get(inst.class_name, 0) + len(pixels)
    return {name: sums[name] / counts[name] for name in sums if counts[name]}


def paint_instances(
    background: np.ndarray,
    masks: list[tuple[str, np.ndarray, float]],
    colours: dict[str, np.ndarray],
    rng: np.random.Generator,
) -> np.ndarray:
    """Paint each (class, mask, severity) onto a copy of the background.

    Colour: the class's real mean, or the inverse of the background under the mask for a class
    the k images never showed; severity scales opacity (0.6..1). On a binarised scan the
    result is snapped back to its two levels.
    """
    out = background.astype(np.float64)
    for name, mask, severity in masks:
        base = colours.get(name)
        if base is None:
            base = 255.0 - background[mask].mean(axis=0)
        texture = base + rng.normal(0.0, NOISE_SD, size=out.shape)
        alpha = cv2.GaussianBlur(mask.astype(np.float64), (3, 3), 0)
        alpha = (alpha * (0.6 + 0.4 * float(np.clip(severity, 0, 1))))[..., None]
        out = out * (1 - alpha) + texture * alpha
    out = np.clip(out, 0, 255).astype(np.uint8)
    levels = binary_levels(background)
    return out if levels is None else snap(out, levels)


def binary_levels(image: np.ndarray, share: float = 0.98) -> np.ndarray | None:
    """The two grey levels of a binarised scan (e.g. DeepPCB), or None for a natural image."""
    pixels = image.reshape(-1, 3).astype(np.int64)
    codes, counts = np.unique(pixels @ np.array([65536, 256, 1]), return_counts=True)
    top = np.argsort(counts)[-2:]
    if len(codes) < 2 or counts[top].sum() < share * counts.sum():
        return None
    return np.stack([codes[top] // 65536, codes[top] // 256 % 256, codes[top] % 256], 1).astype(float)


def snap(image: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Each pixel set to the nearest of the levels (painted defects stay binary too)."""
    distance = np.abs(image[..., None, :].astype(np.float64) - levels).sum(axis=-1)
    return levels[distance.argmin(axis=-1)].astype(np.uint8)
