"""In-memory records of labelled images, and mask <-> RLE / box helpers (pycocotools)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from conditioning.errors import DefectforgeError

PROVENANCE_KEYS = ("source", "spec_hash", "seed", "generator", "revision")
"""Keys every image record of a COCO file carries (None for real data where unknown)."""


def encode_mask(mask: np.ndarray) -> dict[str, Any]:
    """COCO RLE of a bool HxW mask, JSON-ready (`counts` as str)."""
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")}


def decode_mask(rle: dict[str, Any]) -> np.ndarray:
    """bool HxW mask of a JSON RLE."""
    counts = rle["counts"]
    rle = {
        "size": rle["size"],
        "counts": counts.encode("ascii") if isinstance(counts, str) else counts,
    }
    with warnings.catch_warnings():  # pycocotools 2.0.x + numpy 2: a harmless copy= warning
        warnings.simplefilter("ignore", DeprecationWarning)
        return mask_utils.decode(rle).astype(bool)


def mask_bbox(mask: np.ndarray) -> tuple[float, float, float, float]:
    """Tight [x, y, w, h] of a non-empty mask (pixel-inclusive, COCO style)."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        raise ValueError("empty mask has no box")
    return (
        float(xs.min()),
        float(ys.min()),
        float(xs.max() - xs.min() + 1),
        float(ys.max() - ys.min() + 1),
    )


KEPT_REAL = "real"
"""COCO annotation key marking a real label kept on a drawn image (`InstanceRecord.kept_real`)."""


def defect_pixels(instances: list[InstanceRecord]) -> np.ndarray | None:
    """The union of the instances' masks (pixels new defects keep clear of), None without any."""
    return np.logical_or.reduce([i.mask for i in instances]) if instances else None


class InstanceRecord:
    """One labelled defect. `mask` is a bool HxW array, decoded from `rle` on each access when
    the record was read from a file (keeps thousands of records small)."""

    def __init__(
        self,
        class_name: str,
        category_id: int,
        bbox_xywh: tuple[float, float, float, float] | None = None,
        mask: np.ndarray | None = None,
        *,
        rle: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        if mask is None and rle is None and bbox_xywh is None:
            raise ValueError("an instance needs a mask, an RLE or a box")
        self.class_name = class_name
        self.category_id = int(category_id)
        self._mask = None if mask is None else np.asarray(mask, dtype=bool)
        self.rle = rle
        if bbox_xywh is None:
            bbox_xywh = mask_bbox(self.mask)
        self.bbox_xywh = tuple(float(v) for v in bbox_xywh)
        self.extra = dict(extra or {})

    @property
    def kept_real(self) -> bool:
        """A real defect's label kept on a generated image drawn onto a real defect image (`onto:
        defective`): in the image, but not generated."""
        return bool(self.extra.get(KEPT_REAL))

    def kept_on_drawn_image(self) -> InstanceRecord:
        """This real label as kept on an image drawn onto its own image (`kept_real`)."""
        return InstanceRecord(self.class_name, self.category_id, self.bbox_xywh, self._mask, rle=self.rle,
                              extra={**self.extra, KEPT_REAL: True})

    @property
    def mask(self) -> np.ndarray:
        """bool HxW mask (decoded from the RLE when not held in memory)."""
        if self._mask is not None:
            return self._mask
        if self.rle is None:
            raise ValueError("this instance has a box only")
        return decode_mask(self.rle)

    def to_rle(self) -> dict[str, Any]:
        """JSON RLE of the mask."""
        return self.rle if self.rle is not None else encode_mask(self.mask)

    def compact(self) -> InstanceRecord:
        """Keep the mask as RLE only (small to pickle and hold); returns self."""
        self.rle = self.to_rle()
        self._mask = None
        return self

    def area(self) -> int:
        """Mask pixel count."""
        return int(mask_utils.area(_bytes_rle(self.to_rle())))

    def __repr__(self) -> str:
        return f"InstanceRecord({self.class_name!r}, id={self.category_id}, bbox={self.bbox_xywh})"


@dataclass
class ImageRecord:
    """One image, its clean reference (or None), its instances and provenance."""

    image_path: Path
    clean_path: Path | None
    width: int
    height: int
    instances: list[InstanceRecord] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)
    image_id: int | None = None

    def load_image(self) -> np.ndarray:
        """HxWx3 uint8 RGB pixels."""
        return load_rgb(self.image_path)

    def load_clean(self) -> np.ndarray | None:
        """HxWx3 uint8 RGB clean reference, or None."""
        return None if self.clean_path is None else load_rgb(self.clean_path)


def load_rgb(path: str | Path) -> np.ndarray:
    """Read an image file as HxWx3 uint8 RGB; DefectforgeError naming the file if unreadable."""
    pixels = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if pixels is None:
        raise DefectforgeError(f"{path}: cannot read image (missing or not an image file)")
    return cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)


def load_grey(path: str | Path) -> np.ndarray:
    """Read an image file as HxW uint8; DefectforgeError naming the file if unreadable."""
    pixels = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if pixels is None:
        raise DefectforgeError(f"{path}: cannot read image (missing or not an image file)")
    return pixels


def _bytes_rle(rle: dict[str, Any]) -> dict[str, Any]:
    counts = rle["counts"]
    return {
        "size": rle["size"],
        "counts": counts.encode("ascii") if isinstance(counts, str) else counts,
    }
