"""The annotation style of a dataset, learned from its real labels: how far each class's boxes
reach past their masks, by defect size. Every arm that writes a synthetic box calls `box_for`.

Real DeepPCB boxes are loose hand-drawn rectangles (about 10 px past the defect on every side at
640 px); a synthetic box drawn tight around its mask teaches the detector another extent. The
style keeps, per class, the margin of every real instance (left, top, right, bottom, in px) with
the size of its mask; a synthetic instance borrows the margins of a real one of about its size.
Box-only datasets (masks = boxes) learn zero margins: their synthetic boxes are tight, as theirs.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel

from pipeline.data.records import ImageRecord, mask_bbox

NEIGHBOURS = 8
"""A synthetic instance borrows the margins of one of this many real instances of its class whose
masks are closest in size (long side, log scale)."""
SAME_SCALE = (2 / 3, 3 / 2)
"""Size ratios (synthetic / real long side) within which margins are copied in pixels; outside,
they are scaled by the ratio (a margin is partly absolute, partly relative to the defect)."""


class ClassStyle(BaseModel):
    """The real instances of one class: tight mask box size (w, h) and box margins past it."""

    sizes: list[tuple[float, float]] = []
    margins: list[tuple[float, float, float, float]] = []

    def quantiles(self, q: tuple[float, ...] = (0.05, 0.5, 0.95)) -> dict[str, list[float]]:
        """Quantiles (rows) of the margin per side (columns: left, top, right, bottom), in px and
        relative to the mask's side."""
        if not self.margins:
            return {}
        margins = np.array(self.margins)
        sides = np.array([(w, h, w, h) for w, h in self.sizes])
        return {"margin_px": np.quantile(margins, q, axis=0).round(2).tolist(),
                "margin_rel": np.quantile(margins / sides, q, axis=0).round(3).tolist()}


class AnnotationStyle(BaseModel):
    """Per-class box style of a dataset (learned from its k real images only)."""

    classes: dict[str, ClassStyle] = {}
    images: int = 0

    @property
    def tight(self) -> bool:
        """True when every real box is its mask's tight box (box-only data, or tight labels)."""
        return all(not any(any(m) for m in s.margins) for s in self.classes.values())

    def box_for(self, class_name: str, mask: np.ndarray,
                rng: np.random.Generator) -> tuple[float, float, float, float]:
        """The [x, y, w, h] box a real annotator of this dataset would draw around `mask`."""
        x, y, w, h = mask_bbox(mask)
        style = self.classes.get(class_name)
        if style is None or not style.margins:  # a class the k images lack: every class pooled
            style = ClassStyle(sizes=[s for c in self.classes.values() for s in c.sizes],
                               margins=[m for c in self.classes.values() for m in c.margins])
        if not style.margins:
            return (x, y, w, h)
        index = _neighbour(style, max(w, h), rng)
        chosen = style.margins[index]
        ratio = max(w, h) / max(style.sizes[index])
        if not SAME_SCALE[0] <= ratio <= SAME_SCALE[1]:
            chosen = tuple(v * ratio for v in chosen)
        return grow_box(mask, chosen)


def grow_box(mask: np.ndarray, margins: tuple[float, ...]) -> tuple[float, float, float, float]:
    """The mask's tight [x, y, w, h] box grown by (left, top, right, bottom) px, inside the image;
    the tight box where the margins would leave no box."""
    x, y, w, h = mask_bbox(mask)
    left, top, right, bottom = margins
    height, width = mask.shape
    x0, y0 = max(0.0, x - round(left)), max(0.0, y - round(top))
    x1 = min(float(width), x + w + round(right))
    y1 = min(float(height), y + h + round(bottom))
    if x1 - x0 < 1 or y1 - y0 < 1:
        return (x, y, w, h)
    return (x0, y0, x1 - x0, y1 - y0)


def learn_style(records: list[ImageRecord]) -> AnnotationStyle:
    """The style of `records`' labels (instances with a mask; box-only instances count as tight)."""
    classes: dict[str, ClassStyle] = {}
    for record in records:
        for instance in record.instances:
            try:
                mask = instance.mask
            except ValueError:  # a box without a mask: its box is the whole label
                continue
            if not mask.any():
                continue
            _, _, w, h = mask_bbox(mask)
            style = classes.setdefault(instance.class_name, ClassStyle())
            style.sizes.append((w, h))
            style.margins.append(margins(instance.bbox_xywh, mask))
    return AnnotationStyle(classes=classes, images=len(records))


def margins(box: tuple[float, float, float, float],
            mask: np.ndarray) -> tuple[float, float, float, float]:
    """How far `box` [x, y, w, h] reaches past the mask's tight box: left, top, right, bottom
    (px; negative where the box cuts into the defect)."""
    x, y, w, h = box
    mx, my, mw, mh = mask_bbox(mask)
    return (mx - x, my - y, x + w - mx - mw, y + h - my - mh)


def _neighbour(style: ClassStyle, long_side: float, rng: np.random.Generator) -> int:
    distance = np.array([abs(math.log(max(s)) - math.log(long_side)) for s in style.sizes])
    nearest = np.argsort(distance, kind="stable")[:NEIGHBOURS]
    return int(rng.choice(nearest))
