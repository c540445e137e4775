"""The annotation style of a dataset, learned from its real labels: how far each class's boxes
reach past their masks, by defect size. Every arm that writes a synthetic box calls `box_for`.

Real DeepPCB boxes are loose hand-drawn rectangles (about 10 px past the defect on every side at
640 px); a synthetic box drawn tight around its mask teaches the detector another extent. The
style keeps, per class, the margin of every real instance (left, top, right, bottom, in px) with
the size of its mask; a synthetic instance borrows the margins of a real one of about its size.
Box-only datasets (masks = boxes) learn zero margins: their synthetic boxes are tight, as theirs.

Real boxes also lean: on DeepPCB a spur's box reaches about 4 px further on the side where the
copper is than on the other, a mousebite's about 2 px further on the substrate's side. Learned
with the part's foreground (`polarity`), each real instance keeps its lean (per axis, the side of
its tight box with more foreground); a synthetic instance borrowing its margins gets them
mirrored on an axis where its own foreground lies on the other side, so the box leans the same
way relative to the part, not relative to the image's axes.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel

from conditioning.bundle import foreground_mask
from pipeline.data.records import ImageRecord, mask_bbox

NEIGHBOURS = 8
"""A synthetic instance borrows the margins of one of this many real instances of its class whose
masks are closest in size (long side, log scale); with leans, of those that lean on the same axes
among twice as many."""
SAME_SCALE = (2 / 3, 3 / 2)
"""Size ratios (synthetic / real long side) within which margins are copied in pixels; outside,
they are scaled by the ratio (a margin is partly absolute, partly relative to the defect)."""
STRIP = 10
"""Width (px) of the strips just outside a mask's tight box whose foreground shares give its lean."""
LEAN_SHARE = 0.2
"""An axis leans to one side when that side's strip holds at least this much more foreground."""


class ClassStyle(BaseModel):
    """The real instances of one class: tight mask box size (w, h) and box margins past it."""

    sizes: list[tuple[float, float]] = []
    margins: list[tuple[float, float, float, float]] = []
    leans: list[tuple[int, int]] = []
    """Per instance (when learned with a polarity) the side of its tight box with more foreground,
    per axis: -1 left / top, +1 right / bottom, 0 neither (`lean`)."""

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
    polarity: str | None = None
    """The foreground rule (`conditioning.bundle.foreground_mask`) the leans were learned with;
    None: no leans, margins are borrowed in the image's axes."""

    def foreground(self, image: np.ndarray) -> np.ndarray | None:
        """The foreground of a background image by the style's polarity (None without one)."""
        return None if self.polarity is None else foreground_mask(image, self.polarity)

    @property
    def tight(self) -> bool:
        """True when every real box is its mask's tight box (box-only data, or tight labels)."""
        return all(not any(any(m) for m in s.margins) for s in self.classes.values())

    def box_for(self, class_name: str, mask: np.ndarray, rng: np.random.Generator,
                foreground: np.ndarray | None = None) -> tuple[float, float, float, float]:
        """The [x, y, w, h] box a real annotator of this dataset would draw around `mask`;
        `foreground` (from `self.foreground` of the image it is drawn on) turns the borrowed
        margins to the real instance's lean."""
        x, y, w, h = mask_bbox(mask)
        style = self.classes.get(class_name)
        if style is None or not style.margins:  # a class the k images lack: every class pooled
            style = ClassStyle(sizes=[s for c in self.classes.values() for s in c.sizes],
                               margins=[m for c in self.classes.values() for m in c.margins],
                               leans=[v for c in self.classes.values() for v in c.leans])
        if not style.margins:
            return (x, y, w, h)
        target = lean(mask, foreground) if foreground is not None and style.leans else None
        index = _neighbour(style, max(w, h), rng, target)
        chosen = style.margins[index]
        ratio = max(w, h) / max(style.sizes[index])
        if not SAME_SCALE[0] <= ratio <= SAME_SCALE[1]:
            chosen = tuple(v * ratio for v in chosen)
        if target is not None:
            chosen = turned(chosen, style.leans[index], target)
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


def turned(margins: tuple[float, ...], real: tuple[int, int], target: tuple[int, int]) -> tuple[float, ...]:
    """(left, top, right, bottom) mirrored on each axis where the real instance and the target
    lean to opposite sides."""
    left, top, right, bottom = margins
    if real[0] * target[0] < 0:
        left, right = right, left
    if real[1] * target[1] < 0:
        top, bottom = bottom, top
    return (left, top, right, bottom)


def lean(mask: np.ndarray, foreground: np.ndarray) -> tuple[int, int]:
    """Per axis, the side of the mask's tight box whose STRIP px wide strip holds at least
    LEAN_SHARE more foreground than the opposite one: -1 left / top, +1 right / bottom, else 0."""
    x, y, w, h = (int(v) for v in mask_bbox(mask))
    before_x = foreground[y : y + h, max(0, x - STRIP) : x]
    after_x = foreground[y : y + h, x + w : x + w + STRIP]
    before_y = foreground[max(0, y - STRIP) : y, x : x + w]
    after_y = foreground[y + h : y + h + STRIP, x : x + w]
    return _side(before_x, after_x), _side(before_y, after_y)


def _side(before: np.ndarray, after: np.ndarray) -> int:
    if not before.size or not after.size:  # at the image's border: no lean
        return 0
    difference = after.mean() - before.mean()
    return 0 if abs(difference) < LEAN_SHARE else int(np.sign(difference))


def learn_style(records: list[ImageRecord], polarity: str | None = None) -> AnnotationStyle:
    """The style of `records`' labels (instances with a mask; box-only instances count as tight);
    with `polarity` each instance's lean too, on the foreground of its clean reference (else of
    its image)."""
    classes: dict[str, ClassStyle] = {}
    for record in records:
        foreground = _record_foreground(record, polarity)
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
            if foreground is not None:
                style.leans.append(lean(mask, foreground))
    return AnnotationStyle(classes=classes, images=len(records), polarity=polarity)


def _record_foreground(record: ImageRecord, polarity: str | None) -> np.ndarray | None:
    if polarity is None or not record.instances:
        return None
    clean = record.load_clean()
    return foreground_mask(clean if clean is not None else record.load_image(), polarity)


def margins(box: tuple[float, float, float, float],
            mask: np.ndarray) -> tuple[float, float, float, float]:
    """How far `box` [x, y, w, h] reaches past the mask's tight box: left, top, right, bottom
    (px; negative where the box cuts into the defect)."""
    x, y, w, h = box
    mx, my, mw, mh = mask_bbox(mask)
    return (mx - x, my - y, x + w - mx - mw, y + h - my - mh)


def _neighbour(style: ClassStyle, long_side: float, rng: np.random.Generator,
               target: tuple[int, int] | None) -> int:
    """One of the NEIGHBOURS real instances closest in size; with a `target` lean, of those among
    twice as many that lean on the same axes (mirrored to it), when there are any."""
    distance = np.array([abs(math.log(max(s)) - math.log(long_side)) for s in style.sizes])
    order = np.argsort(distance, kind="stable")
    nearest = order[:NEIGHBOURS]
    if target is not None:
        alike = [i for i in order[: 2 * NEIGHBOURS] if np.array_equal(np.abs(style.leans[i]), np.abs(target))]
        nearest = alike[:NEIGHBOURS] or nearest
    return int(rng.choice(nearest))
