"""Clean references a reader does not provide: defect-free images are their own, and
`clean_reference: inpaint` (OpenCV) or `model` (a trained stage-1 base, `pipeline.clean_fill`)
removes the real defects inside their (dilated) masks or boxes."""

from __future__ import annotations

import cv2
import numpy as np

from pipeline.data.records import InstanceRecord
from pipeline.data.registry import DatasetInfo, InpaintConfig

METHODS = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}


def derive_clean(info: DatasetInfo, image: np.ndarray, instances: list[InstanceRecord], key: str) -> np.ndarray | None:
    """The clean reference of an image the reader gave none for (None when the line has none);
    `key` names the image (it seeds the model's sampling)."""
    if info.clean_reference not in ("good_images", "inpaint", "model"):
        return None
    if not instances:
        return image.copy()
    if info.clean_reference == "good_images":
        return None
    region = defect_region(image.shape[:2], instances, info.inpaint.dilate_px)
    if info.clean_reference == "model":
        from pipeline.clean_fill import fill_with_model

        return fill_with_model(info, image, region, key)
    return inpaint_region(image, region, info.inpaint)


def defect_region(shape: tuple[int, int], instances: list[InstanceRecord], dilate_px: int) -> np.ndarray:
    """The union of the instances' masks (boxes for box-only ones), grown by `dilate_px`."""
    region = np.zeros(shape, np.uint8)
    for instance in instances:
        region |= instance.mask.astype(np.uint8)
    if dilate_px > 0:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * dilate_px + 1, 2 * dilate_px + 1))
        region = cv2.dilate(region, kernel)
    return region.astype(bool)


def inpaint_region(image: np.ndarray, region: np.ndarray, cfg: InpaintConfig) -> np.ndarray:
    """`image` with the pixels of `region` filled from their surroundings (OpenCV inpainting)."""
    if not region.any():
        return image.copy()
    return cv2.inpaint(np.ascontiguousarray(image), region.astype(np.uint8), cfg.radius, METHODS[cfg.method])


def stored_pixels(image: np.ndarray) -> np.ndarray:
    """What a prepared PNG holds: one channel when the three are equal (a greyscale line)."""
    if image.ndim == 3 and (image[..., 0] == image[..., 1]).all() and (image[..., 0] == image[..., 2]).all():
        return np.ascontiguousarray(image[..., 0])
    return image
