"""Reader of a DeepPCB checkout: official split, templates as clean references, derived masks.

List lines read `groupX/NNNNN/ID.jpg groupX/NNNNN_not/ID.txt` (relative to the list's folder);
the image files are `ID_test.jpg` / `ID_temp.jpg`; annotation lines are `x1 y1 x2 y2 type`
separated by spaces (upstream's README says commas), `type` = class id in dataset.yaml.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from conditioning.errors import DefectforgeError
from pipeline.data.diff_mask import best_shift, box_mask, shifted
from pipeline.data.records import InstanceRecord, load_grey
from pipeline.data.registry import SPLITS, DatasetInfo
from pipeline.data.sources import LoadedItem, SourceItem, require_dir


def list_items(info: DatasetInfo, source: Path | None) -> list[SourceItem]:
    """Every listed pair of both splits; checks files exist and annotations parse."""
    source = require_dir(source, "deeppcb")
    items = []
    for split in SPLITS:
        list_file = source / getattr(info.layout, f"{split}_list")
        if not list_file.is_file():
            raise DefectforgeError(
                f"{list_file}: DeepPCB list file not found; is {source} a DeepPCB checkout?"
            )
        for number, line in enumerate(list_file.read_text().splitlines(), start=1):
            if line.strip():
                items.append(_item(info, source, list_file, number, line, split))
    return items


def _item(
    info: DatasetInfo, source: Path, list_file: Path, number: int, line: str, split: str
) -> SourceItem:
    parts = line.split()
    if len(parts) != 2:
        raise DefectforgeError(
            f"{list_file}:{number}: expected `image.jpg annotation.txt`, got {line!r}"
        )
    image, annotation = (list_file.parent / p for p in parts)
    test, template = (image.with_name(f"{image.stem}_{kind}.jpg") for kind in ("test", "temp"))
    for path in (test, template, annotation):
        if not path.is_file():
            raise DefectforgeError(f"{path}: missing (listed in {list_file}:{number})")
    boxes = _read_boxes(info, annotation)
    origin = test.relative_to(source).as_posix()
    return SourceItem(
        split,
        image.stem,
        origin,
        {
            "test": str(test),
            "template": str(template),
            "annotation": str(annotation),
            "boxes": boxes,
        },
    )


def _read_boxes(info: DatasetInfo, path: Path) -> list[tuple[int, int, int, int, int]]:
    boxes = []
    ids = {c.id for c in info.classes}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.replace(",", " ").split()
        try:
            x1, y1, x2, y2, kind = (int(float(v)) for v in fields)
        except ValueError:
            raise DefectforgeError(
                f"{path}:{number}: expected `x1 y1 x2 y2 type` (5 integers), got {line!r}"
            ) from None
        if kind not in ids:
            raise DefectforgeError(
                f"{path}:{number}: type {kind} is not a class id of dataset.yaml ({sorted(ids)})"
            )
        if not (0 <= x1 < x2 and 0 <= y1 < y2):
            raise DefectforgeError(f"{path}:{number}: box {x1} {y1} {x2} {y2} is empty or negative")
        boxes.append((x1, y1, x2, y2, kind))
    if not boxes:
        raise DefectforgeError(f"{path}: no defect boxes (DeepPCB images have 3 to 15)")
    return boxes


def load_item(info: DatasetInfo, item: SourceItem) -> LoadedItem:
    """Binarise the pair, align the template, derive one mask per box."""
    layout = info.layout
    test = load_grey(item.payload["test"]) > layout.threshold
    template = load_grey(item.payload["template"]) > layout.threshold
    if test.shape != template.shape:
        raise DefectforgeError(
            f"{item.payload['template']}: size {template.shape} != tested image {test.shape}"
        )
    h, w = test.shape
    boxed = np.zeros(test.shape, bool)
    for x1, y1, x2, y2, _ in item.payload["boxes"]:
        if x2 > w or y2 > h:
            raise DefectforgeError(
                f"{item.payload['annotation']}: box {x1} {y1} {x2} {y2} exceeds the {w}x{h} image"
            )
        boxed[y1:y2, x1:x2] = True
    dy, dx = best_shift(test, template, layout.max_shift, exclude=boxed)
    aligned = shifted(template, dy, dx)
    instances = []
    for x1, y1, x2, y2, kind in item.payload["boxes"]:
        mask, method, fraction = box_mask(test, aligned, (x1, y1, x2, y2))
        extra = {"mask_source": method, "changed_fraction": round(fraction, 4)}
        instances.append(
            InstanceRecord(
                info.class_name(kind), kind, (x1, y1, x2 - x1, y2 - y1), mask, extra=extra
            )
        )
    provenance = {
        "spec_hash": None,
        "seed": None,
        "generator": None,
        "revision": info.source.revision,
        "template_shift": [dy, dx],
    }
    return LoadedItem(_grey(test), _grey(aligned), instances, provenance)


def _grey(binary: np.ndarray) -> np.ndarray:
    return np.where(binary, 255, 0).astype(np.uint8)
