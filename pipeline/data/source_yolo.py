"""Reader of YOLO txt labels: `images/[split/]x.jpg` with `labels/[split/]x.txt`.

Each row is `class cx cy w h` (fractions of the image; a box-only instance) or
`class x1 y1 x2 y2 ...` (a polygon; its filled mask). The class is the position in dataset.yaml
`classes`. A missing or empty label file marks a defect-free image. A first sub-folder named
train / val / valid / test sets the split; images outside one are split per class, seeded.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from conditioning.errors import DefectforgeError
from pipeline.data.reader_tools import (
    IMAGE_SUFFIXES,
    NO_PROVENANCE,
    box_instance,
    layout_folders,
    seeded_split,
)
from pipeline.data.records import InstanceRecord, load_rgb
from pipeline.data.registry import DatasetInfo
from pipeline.data.sources import LoadedItem, SourceItem, require_dir

SPLIT_FOLDERS = {"train": "train", "val": "test", "valid": "test", "test": "test"}
DEFECT_FREE = "(defect-free)"


def read_rows(path: Path, classes: int) -> list[tuple[int, list[float]]]:
    """(class index, numbers) per row of a label file; errors name the file and line."""
    if not path.is_file():
        return []
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split()
        try:
            index, values = int(fields[0]), [float(v) for v in fields[1:]]
        except ValueError as error:
            raise DefectforgeError(f"{path}:{number}: expected `class cx cy w h` numbers, got {line!r}") from error
        if not 0 <= index < classes:
            raise DefectforgeError(
                f"{path}:{number}: class {index} is not a position in dataset.yaml `classes` (0..{classes - 1})"
            )
        if len(values) != 4 and (len(values) < 6 or len(values) % 2):
            raise DefectforgeError(f"{path}:{number}: expected 4 box numbers or an even number >= 6 (polygon), got {len(values)}")
        if any(v < 0 or v > 1 for v in values):
            raise DefectforgeError(f"{path}:{number}: coordinates must be fractions in 0..1, got {line!r}")
        rows.append((index, values))
    return rows


def list_items(info: DatasetInfo, source: Path | None) -> list[SourceItem]:
    """Every image with its label rows (checked), split by folder or per class, seeded."""
    source = require_dir(source, info.name)
    layout = info.layout
    images_dir, labels_dir = layout_folders(source, images=layout.images, labels=layout.labels)
    images = sorted(p for p in images_dir.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise DefectforgeError(f"{images_dir}: no image files (layout.images)")
    rows, groups = {}, {}
    for image in images:
        relative = image.relative_to(images_dir)
        label = (labels_dir / relative).with_suffix(".txt")
        rows[image] = (label, read_rows(label, len(info.classes)))
        groups[image] = info.classes[rows[image][1][0][0]].name if rows[image][1] else DEFECT_FREE
    folder_split = {i: SPLIT_FOLDERS.get(i.relative_to(images_dir).parts[0]) for i in images}
    seeded = seeded_split({i: g for i, g in groups.items() if folder_split[i] is None}, layout.test_share, layout.seed)
    items = []
    for image in images:
        relative = image.relative_to(images_dir)
        label, label_rows = rows[image]
        payload = {"image": str(image), "label": str(label), "rows": label_rows}
        items.append(SourceItem(folder_split[image] or seeded[image], relative.with_suffix("").as_posix().replace("/", "__"),
                                image.relative_to(source).as_posix(), payload))
    return items


def load_item(info: DatasetInfo, item: SourceItem) -> LoadedItem:
    """Pixels; box rows become box-only instances, polygon rows filled masks."""
    image = load_rgb(item.payload["image"])
    height, width = image.shape[:2]
    instances = []
    for index, values in item.payload["rows"]:
        name = info.classes[index].name
        if len(values) == 4:
            cx, cy, w, h = values[0] * width, values[1] * height, values[2] * width, values[3] * height
            instances.append(box_instance(info, name, (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), (height, width)))
            continue
        points = np.round(np.array(values).reshape(-1, 2) * [width, height]).astype(np.int32)
        mask = np.zeros((height, width), np.uint8)
        cv2.fillPoly(mask, [points], 1)
        if not mask.any():
            raise DefectforgeError(f"{item.payload['label']}: a polygon of class {index} covers no pixel")
        instances.append(InstanceRecord(name, info.category_id(name), mask=mask.astype(bool)))
    return LoadedItem(image, None, instances, dict(NO_PROVENANCE))
