"""`placement.context` fitted to the real defects of a budget: per class, how far its real boxes
reach past their masks (the median margin, the window `conditioning.context` reads) and the
deciles of the clean reference's foreground share in that window (placement draws each instance's
share between two neighbouring deciles, so the placed shares follow the real ones).

On DeepPCB a real pin-hole sits deep in copper (share 1.0 at the median) and spurious copper far
from it (0.0), while the mask kinds, anchored anywhere on their surface, put pin-holes at trace
edges and blobs beside traces: context a tight-crop classifier and a detector both see.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import cv2
import numpy as np

from conditioning.bundle import foreground_mask
from conditioning.context import box_share
from conditioning.masks.learned import LEARNED
from conditioning.spec import DefectLibrary
from conditioning.spec_edit import Loc, Value
from pipeline.data.records import ImageRecord
from pipeline.labels.style import margins
from pipeline.labels.tolerances import TOLERANCES

SHARE_QUANTILES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
"""The shares written: the deciles (10, 20, ..., 90 %) of the real defects of the class; the first
and last bound `foreground`, all of them are its `quantiles`."""


def real_contexts(records: Iterable[ImageRecord], foreground: str) -> dict[str, tuple[float, list[float]]]:
    """{class: (median margin px, foreground shares of its real defects)}, over the records with a
    clean reference and labelled defects. Each mask is decoded once: its tight box is kept."""
    records = [r for r in records if r.instances]
    boxes: list[list[tuple[str, tuple[int, int, int, int]]]] = []
    margins_px: dict[str, list[float]] = {}
    for record in records:
        kept = []
        for instance in record.instances:
            mask = instance.mask
            if not mask.any():
                continue
            kept.append((instance.class_name, cv2.boundingRect(mask.view(np.uint8))))
            sides = margins(instance.bbox_xywh, mask)
            margins_px.setdefault(instance.class_name, []).append(max(0.0, float(np.mean(sides))))
        boxes.append(kept)
    margin = {name: float(np.median(values)) for name, values in margins_px.items()}
    shares: dict[str, list[float]] = {name: [] for name in margin}
    for record, kept in zip(records, boxes, strict=True):
        clean = record.load_clean() if kept else None
        if clean is None:
            continue
        ground = foreground_mask(clean, foreground)
        for name, box in kept:
            shares[name].append(box_share(box, ground, margin[name]))
    return {name: (margin[name], shares[name]) for name in margin}


def context_changes(library: DefectLibrary, records: list[ImageRecord]) -> dict[Loc, Value]:
    """New `placement.context` of each defect whose class has enough real defects on clean
    references (none for `foreground: all`: there is no part to measure against). A `learned`
    defect's window is its region itself (margin 0): the region is sized like the real boxes,
    which already reach past their masks."""
    if library.foreground == "all":
        return {}
    contexts = real_contexts(records, library.foreground)
    changes: dict[Loc, Value] = {}
    for index, spec in enumerate(library.defects):
        margin, shares = contexts.get(spec.class_name, (0.0, []))
        if len(shares) < TOLERANCES.min_instances:
            continue
        deciles = [float(q) for q in np.quantile(shares, SHARE_QUANTILES)]
        low, high = math.floor(deciles[0] * 100) / 100, math.ceil(deciles[-1] * 100) / 100
        changes[("defects", index, "placement", "context")] = {
            "margin": 0.0 if spec.kind == LEARNED else round(margin, 1),
            "foreground": [low, high],
            "quantiles": [min(max(round(q, 2), low), high) for q in deciles],
        }
    return changes

