"""Reader of the procedural `sample` line: boards rendered in code, exact defect masks."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from conditioning.errors import DefectforgeError
from pipeline.data.records import InstanceRecord
from pipeline.data.registry import SPLITS, DatasetInfo
from pipeline.data.sample_board import make_board, render
from pipeline.data.sample_defects import DRAWERS
from pipeline.data.sources import LoadedItem, SourceItem

GENERATOR = "defectforge.sample"
REVISION = "sample-v2"
"""Provenance of sample images; bump REVISION when drawing changes."""
MIN_GAP = 6
"""px kept between two defects of one board."""


def list_items(info: DatasetInfo, source: Path | None) -> list[SourceItem]:
    """Every board of every split (no source folder is read)."""
    layout = info.layout
    unknown = [name for name in info.class_names if name not in DRAWERS]
    if unknown:
        raise DefectforgeError(
            f"datasets/{info.name}/dataset.yaml: classes {unknown} cannot be drawn by the sample "
            f"line; use names from {sorted(DRAWERS)}"
        )
    items = []
    for split_index, split in enumerate(SPLITS):
        counts = getattr(layout, split)
        if counts.defect_free > counts.boards:
            raise DefectforgeError(
                f"datasets/{info.name}/dataset.yaml: layout.{split}.defect_free "
                f"({counts.defect_free}) exceeds layout.{split}.boards ({counts.boards})"
            )
        for index in range(counts.boards):
            seed = layout.seed * 1_000_003 + split_index * 100_000 + index
            items.append(
                SourceItem(
                    split,
                    f"{split}_{index:04d}",
                    f"sample:{split}/{index}",
                    {"seed": seed, "defect_free": index < counts.defect_free},
                )
            )
    return items


def load_item(info: DatasetInfo, item: SourceItem) -> LoadedItem:
    """Render one board clean, then again with its defects drawn in."""
    seed = item.payload["seed"]
    board = make_board(seed, info.layout.image_size)
    clean = render(board)
    provenance = {"seed": seed, "generator": GENERATOR, "revision": REVISION, "spec_hash": None}
    if item.payload["defect_free"]:
        return LoadedItem(clean, clean.copy(), [], provenance)
    rng = np.random.default_rng([seed, 2])
    low, high = info.layout.defects_per_image
    wanted = int(rng.integers(low, high + 1))
    occupied = np.zeros(board.copper.shape, np.uint8)
    instances: list[InstanceRecord] = []
    for _ in range(8 * wanted):
        if len(instances) == wanted:
            break
        name = info.class_names[int(rng.integers(0, len(info.class_names)))]
        drawn = DRAWERS[name](board, rng)
        if drawn is None:
            continue
        candidate, mask = drawn
        if np.any(mask & (cv2.dilate(occupied, np.ones((2 * MIN_GAP + 1,) * 2, np.uint8)) > 0)):
            continue
        board = candidate
        occupied |= mask.astype(np.uint8)
        instances.append(
            InstanceRecord(name, info.category_id(name), mask=mask, extra={"mask_source": "exact"})
        )
    return LoadedItem(render(board), clean, instances, provenance)
