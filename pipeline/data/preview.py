"""Contact sheet of a prepared split: tested image | clean reference | masks and boxes."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from conditioning.preview import PALETTE
from pipeline.data.atomic import write_png
from pipeline.data.prepared import PreparedDataset
from pipeline.data.records import ImageRecord


def contact_sheet(
    dataset: str | Path,
    split: str,
    out_path: str | Path,
    *,
    count: int = 8,
    cell: int = 320,
    seed: int = 0,
) -> Path:
    """Write a PNG with one row per image (seeded choice among images with defects)."""
    prepared = PreparedDataset(dataset)
    records = [r for r in prepared.records(split) if r.instances]
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(len(records), size=min(count, len(records)), replace=False))
    names = prepared.info.class_names
    rows = [_row(records[i], names, cell) for i in chosen]
    sheet = np.concatenate(rows, axis=0) if rows else np.zeros((cell, 3 * cell, 3), np.uint8)
    write_png(out_path, sheet)
    return Path(out_path)


def _row(record: ImageRecord, names: list[str], cell: int) -> np.ndarray:
    image = record.load_image()
    clean = record.load_clean()
    clean = np.zeros_like(image) if clean is None else clean
    overlay = image.copy()
    sx, sy = cell / image.shape[1], cell / image.shape[0]  # each panel is squeezed to cell x cell
    for instance in record.instances:
        colour = PALETTE[names.index(instance.class_name) % len(PALETTE)]
        overlay[instance.mask] = (0.35 * overlay[instance.mask] + 0.65 * np.array(colour)).astype(
            np.uint8
        )
    panels = [
        cv2.resize(p, (cell, cell), interpolation=cv2.INTER_AREA) for p in (image, clean, overlay)
    ]
    for instance in record.instances:
        colour = PALETTE[names.index(instance.class_name) % len(PALETTE)]
        x, y, w, h = instance.bbox_xywh
        x, y, w, h = x * sx, y * sy, w * sx, h * sy
        cv2.rectangle(panels[2], (int(x), int(y)), (int(x + w), int(y + h)), colour, 1)
        cv2.putText(
            panels[2],
            instance.class_name,
            (int(x), max(int(y) - 2, 8)),
            cv2.FONT_HERSHEY_PLAIN,
            0.8,
            colour,
            1,
        )
    row = np.concatenate(panels, axis=1)
    row[-2:] = 255
    return row
