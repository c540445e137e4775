"""Crop geometry: a square window around each defect, resize to the model's resolution, paste back."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from pipeline.models.base import CropBatch


@dataclass(frozen=True)
class Window:
    """A square window of an image: top-left corner and side, in pixels."""

    y0: int
    x0: int
    size: int

    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y0 + self.size), slice(self.x0, self.x0 + self.size)


def dilate(mask: np.ndarray, px: int) -> np.ndarray:
    """The mask grown by `px` pixels (elliptic kernel); bool HxW."""
    if px <= 0:
        return mask.astype(bool)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel) > 0


def bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(y0, x0, y1, x1) of the mask's pixels, y1/x1 exclusive."""
    ys, xs = np.nonzero(mask)
    return int(ys.min()), int(xs.min()), int(ys.max()) + 1, int(xs.max()) + 1


def window_side(region: np.ndarray, margin: float) -> int:
    """The side of the square that holds `region`'s box with `margin` of its side on each side."""
    y0, x0, y1, x1 = bbox(region)
    return math.ceil(max(y1 - y0, x1 - x0) * (1 + margin))


def crop_window(region: np.ndarray, min_side: int, margin: float = 0.5) -> Window:
    """The square window centred on `region`'s box, `margin` of its side on each side, inside the image."""
    height, width = region.shape
    y0, x0, y1, x1 = bbox(region)
    side = max(min_side, window_side(region, margin))
    side = min(side, height, width)
    cy, cx = (y0 + y1) / 2, (x0 + x1) / 2
    top = int(np.clip(round(cy - side / 2), 0, height - side))
    left = int(np.clip(round(cx - side / 2), 0, width - side))
    return Window(top, left, side)


def resize_image(crop: np.ndarray, side: int) -> np.ndarray:
    """An HxWx3 uint8 crop resized to side x side (area when shrinking, cubic when growing)."""
    if crop.shape[0] == side:
        return crop.copy()
    method = cv2.INTER_AREA if crop.shape[0] > side else cv2.INTER_CUBIC
    return cv2.resize(crop, (side, side), interpolation=method)


def resize_mask(mask: np.ndarray, side: int) -> np.ndarray:
    """A bool mask resized to side x side, keeping thin structures (area >= 1/4 of a pixel)."""
    if mask.shape[0] == side:
        return mask.astype(bool)
    area = cv2.resize(mask.astype(np.float32), (side, side), interpolation=cv2.INTER_AREA)
    out = area >= 0.25
    if mask.any() and not out.any():
        out[np.unravel_index(np.argmax(area), area.shape)] = True
    return out


def extract(image: np.ndarray, window: Window, side: int) -> np.ndarray:
    """The window of an image (HxWx3 or HxW bool) at side x side."""
    crop = image[window.slices()]
    return resize_mask(crop, side) if crop.ndim == 2 else resize_image(crop, side)


def paste(image: np.ndarray, crop: np.ndarray, window: Window, region: np.ndarray) -> None:
    """Write `crop` (RxRx3 uint8) back into `image` in place, only where the full-size `region` is set."""
    resized = resize_image(crop, window.size)
    target = image[window.slices()]
    inside = region[window.slices()]
    target[inside] = resized[inside]


def to_tensor(images: list[np.ndarray]) -> torch.Tensor:
    """HxWx3 uint8 images -> B,3,H,W float in [-1, 1]."""
    array = np.stack(images).astype(np.float32) / 127.5 - 1
    return torch.from_numpy(array).permute(0, 3, 1, 2).contiguous()


def to_uint8(batch: torch.Tensor) -> list[np.ndarray]:
    """B,3,H,W in [-1, 1] -> HxWx3 uint8 images."""
    array = ((batch.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return list(array.permute(0, 2, 3, 1).cpu().numpy())


def masks_tensor(masks: list[np.ndarray]) -> torch.Tensor:
    """HxW bool masks -> B,1,H,W float."""
    return torch.from_numpy(np.stack(masks).astype(np.float32))[:, None]


def make_batch(images, cleans, masks, regions, class_ids, severities, learned=None) -> CropBatch:
    """A CropBatch from lists of RxR numpy crops and per-crop class ids / severities / learned
    flags (None: every mask is a given shape)."""
    return CropBatch(
        image=to_tensor(images), clean=to_tensor(cleans), mask=masks_tensor(masks),
        region=masks_tensor(regions), class_ids=torch.tensor(class_ids, dtype=torch.long),
        severity=torch.tensor(severities, dtype=torch.float32),
        learned=torch.tensor(learned if learned is not None else [False] * len(images), dtype=torch.bool),
    )


def change_contrast(image: np.ndarray, clean: np.ndarray, mask: np.ndarray) -> float:
    """Mean absolute change against the clean reference inside the mask, in [0, 1]."""
    if not mask.any():
        return 0.0
    diff = np.abs(image.astype(np.float32) - clean.astype(np.float32)).mean(axis=-1)
    return float(diff[mask].mean() / 255)
