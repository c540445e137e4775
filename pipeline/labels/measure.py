"""Label statistics of one labelled set, per class: box size, box-vs-mask margins, mask area and
elongation, the surface the masks lie on and its width there, the foreground around them (share in
the label box) and how much of each mask visibly changed against the clean reference; and
instances per image over the set. Real labels kept on a generated image (`onto: defective`) count
toward instances per image only. `pipeline.labels.parity` compares two."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import cv2
import numpy as np

from conditioning.bundle import foreground_mask
from conditioning.context import box_share
from pipeline.data.records import ImageRecord, InstanceRecord
from pipeline.labels.style import margins
from pipeline.labels.window import mask_window

VISIBLE_LEVEL = 32
"""Grey levels (0-255): a mask pixel counts as visibly changed when one of its channels differs
from the clean reference by more than this (JPEG noise and soft edges stay below it)."""
WIDTH_REACH = 3
"""px around a mask within which `surface_width` looks for the widest point of its surface."""
WIDTH_WINDOW = 48
"""px around a mask's box that `surface_width` reads: a surface with no edge there (a pour) counts
as twice the long side of what was read, the same for both sets compared."""


@dataclass
class ClassStats:
    """One class's instances in a set: per-instance lists, and its surface pixel counts (only
    instances of images with a clean reference count towards `surface_*` and `visible`)."""

    box_w: list[float] = field(default_factory=list)
    box_h: list[float] = field(default_factory=list)
    margins: list[tuple[float, float, float, float]] = field(default_factory=list)
    area: list[float] = field(default_factory=list)
    elongation: list[float] = field(default_factory=list)
    visible: list[float] = field(default_factory=list)
    context: list[float] = field(default_factory=list)
    """Per instance: share of the clean reference's foreground inside its label box."""
    surface_width: list[float] = field(default_factory=list)
    """Per instance: width of the surface it lies on, next to it (`surface_width`)."""
    surface_pixels: int = 0
    surface_foreground: int = 0

    @property
    def count(self) -> int:
        return len(self.box_w)

    @property
    def foreground_share(self) -> float | None:
        """Share of this class's mask pixels on the foreground; None without clean references."""
        return self.surface_foreground / self.surface_pixels if self.surface_pixels else None


@dataclass
class SetStats:
    """Label statistics of a set: per class (by category id order), and instances per image."""

    polarity: str
    per_image: list[int] = field(default_factory=list)
    classes: dict[str, ClassStats] = field(default_factory=dict)

    def class_mix(self) -> dict[str, float]:
        """Share of the set's drawn instances per class (kept real labels are not in `classes`)."""
        total = sum(s.count for s in self.classes.values())
        return {c: s.count / total if total else 0.0 for c, s in self.classes.items()}


def measure_set(records: Iterable[ImageRecord], polarity: str = "auto") -> SetStats:
    """Statistics of `records` (masks decoded once, pixels read only in each mask's window);
    `polarity` is the foreground rule of the dataset's spec (`foreground_mask`)."""
    stats = SetStats(polarity)
    found: dict[tuple[int, str], ClassStats] = {}
    for record in records:
        stats.per_image.append(len(record.instances))
        if not record.instances:
            continue
        clean = record.load_clean()
        pixels = None if clean is None else (record.load_image(), clean,
                                             foreground_mask(clean, polarity))
        for instance in (i for i in record.instances if not i.kept_real):  # drawn labels only
            key = (instance.category_id, instance.class_name)
            _add(found.setdefault(key, ClassStats()), instance, pixels)
    stats.classes = {name: found[(i, name)] for i, name in sorted(found)}
    return stats


def _add(stats: ClassStats, instance: InstanceRecord, pixels) -> None:
    """Add one instance; `pixels` = (image, clean, foreground) or None without a clean reference."""
    mask, window = mask_window(instance.mask)
    area = int(np.count_nonzero(mask))
    if not area:
        return
    x, y, w, h = instance.bbox_xywh
    stats.box_w.append(w)
    stats.box_h.append(h)
    stats.margins.append(margins((x - window[1].start, y - window[0].start, w, h), mask))
    stats.area.append(float(area))
    stats.elongation.append(elongation(mask))
    if pixels is not None:
        image, clean, ground = pixels
        difference = cv2.absdiff(image[window], clean[window])
        changed = (difference.max(axis=2) if difference.ndim == 3 else difference) > VISIBLE_LEVEL
        stats.visible.append(float(np.count_nonzero(changed & mask)) / area)
        on_foreground = int(np.count_nonzero(ground[window] & mask))
        stats.surface_pixels += area
        stats.surface_foreground += on_foreground
        stats.context.append(box_share(_pixel_box(x, y, w, h), ground, 0))
        stats.surface_width.append(surface_width(mask, window, ground, 2 * on_foreground >= area))


def surface_width(mask: np.ndarray, window: tuple[slice, slice], ground: np.ndarray,
                  on_ground: bool) -> float:
    """Twice the largest distance (px) to the other surface within WIDTH_REACH px of the mask
    (`mask` is the crop at `window` of an image whose clean foreground is `ground`), on the
    surface where most of the mask lies (`on_ground`: the foreground): the width of the trace a mousebite bites or an open cuts,
    of the gap a short bridges (on DeepPCB the generated opens cut wider traces than the real
    ones, which neither their area nor their context shows)."""
    rows, cols = window
    top, left = max(0, rows.start - WIDTH_WINDOW), max(0, cols.start - WIDTH_WINDOW)
    bottom = min(ground.shape[0], rows.stop + WIDTH_WINDOW)
    right = min(ground.shape[1], cols.stop + WIDTH_WINDOW)
    side = ground[top:bottom, left:right]
    placed = np.zeros(side.shape, np.uint8)
    placed[rows.start - top : rows.stop - top, cols.start - left : cols.stop - left] = mask
    reach = 2 * WIDTH_REACH + 1
    near = cv2.dilate(placed, np.ones((reach, reach), np.uint8)).astype(bool)
    surface = (side if on_ground else ~side).astype(np.uint8)
    distance = cv2.distanceTransform(surface, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return 2.0 * min(float(distance[near].max()), float(max(side.shape)))  # no edge read: capped


def _pixel_box(x: float, y: float, w: float, h: float) -> tuple[int, int, int, int]:
    """A COCO box [x, y, w, h] (floats) as the whole pixels it covers."""
    x0, y0 = int(np.floor(x)), int(np.floor(y))
    return x0, y0, int(np.ceil(x + w)) - x0, int(np.ceil(y + h)) - y0


def elongation(mask: np.ndarray) -> float:
    """Long over short side of the mask's minimum-area rectangle (cv2.minAreaRect over the pixel
    centres, each side + 1 px so a one-pixel line has width 1): 1 for a disc or a square."""
    points = cv2.findNonZero(np.ascontiguousarray(mask, dtype=np.uint8))
    (_, _), (w, h), _ = cv2.minAreaRect(points)
    return (max(w, h) + 1) / (min(w, h) + 1)
