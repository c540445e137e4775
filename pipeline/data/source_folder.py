"""Reader of MVTec-AD-style folders: good images for train, defect folders with mask images.

<source>/train/good/*.png                      defect-free    -> split train
<source>/test/<defect>/*.png                   'good' or a defect -> split test
<source>/ground_truth/<defect>/<stem>_mask.png one mask per defect image; each connected
                                               part becomes one instance of class <defect>
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from conditioning.errors import DefectforgeError
from pipeline.data.records import InstanceRecord, load_grey, load_rgb
from pipeline.data.registry import DatasetInfo
from pipeline.data.sources import LoadedItem, SourceItem, require_dir

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
GOOD = "good"


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def list_items(info: DatasetInfo, source: Path | None) -> list[SourceItem]:
    """Good train images, then every test image with its mask file (checked to exist)."""
    source = require_dir(source, info.name)
    layout = info.layout
    good = source / layout.good
    if not good.is_dir():
        raise DefectforgeError(f"{good}: folder of good images not found (layout.good)")
    items = [
        SourceItem("train", f"{GOOD}_{p.stem}", p.relative_to(source).as_posix(), {"image": str(p)})
        for p in _images(good)
    ]
    test = source / layout.test
    if not test.is_dir():
        raise DefectforgeError(f"{test}: test folder not found (layout.test)")
    for folder in sorted(p for p in test.iterdir() if p.is_dir()):
        name = None if folder.name == GOOD else layout.defects.get(folder.name, folder.name)
        if name is not None and name not in info.class_names:
            raise DefectforgeError(
                f"{folder}: defect folder maps to class {name!r}, not in dataset.yaml classes "
                f"{info.class_names}; add it or map it in layout.defects"
            )
        for path in _images(folder):
            mask = None
            if name is not None:
                mask = (
                    source
                    / layout.ground_truth
                    / folder.name
                    / f"{path.stem}{layout.mask_suffix}.png"
                )
                if not mask.is_file():
                    raise DefectforgeError(f"{mask}: ground-truth mask of {path} not found")
            items.append(
                SourceItem(
                    "test",
                    f"{folder.name}_{path.stem}",
                    path.relative_to(source).as_posix(),
                    {
                        "image": str(path),
                        "mask": None if mask is None else str(mask),
                        "class": name,
                    },
                )
            )
    return items


def load_item(info: DatasetInfo, item: SourceItem) -> LoadedItem:
    """Pixels; instances from the connected parts of the mask; good images are their own clean reference."""
    image = load_rgb(item.payload["image"])
    provenance = {"spec_hash": None, "seed": None, "generator": None, "revision": None}
    mask_path = item.payload.get("mask")
    if mask_path is None:
        clean = image.copy() if info.clean_reference == "good_images" else None
        return LoadedItem(image, clean, [], provenance)
    mask = load_grey(mask_path) > 127
    if mask.shape != image.shape[:2]:
        raise DefectforgeError(
            f"{mask_path}: mask is {mask.shape[::-1]}, image {image.shape[1::-1]}"
        )
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    name = item.payload["class"]
    instances = [
        InstanceRecord(name, info.category_id(name), mask=labels == label)
        for label in range(1, count)
    ]
    if not instances:
        raise DefectforgeError(
            f"{mask_path}: mask is empty but {item.payload['image']} is in a defect folder"
        )
    return LoadedItem(image, None, instances, provenance)
