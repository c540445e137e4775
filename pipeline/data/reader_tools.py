"""What several source readers share: image globs, seeded per-class splits, masks and boxes as instances."""

from __future__ import annotations

import zlib
from collections.abc import Hashable
from pathlib import Path

import cv2
import numpy as np

from conditioning.errors import DefectforgeError
from pipeline.data.coco_reader import BOX_ONLY, box_rle
from pipeline.data.records import InstanceRecord, load_grey
from pipeline.data.registry import DatasetInfo

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
NO_PROVENANCE = {"spec_hash": None, "seed": None, "generator": None, "revision": None}
"""Provenance of a real image (nothing generated it)."""


def images_in(folder: Path) -> list[Path]:
    """Image files directly in `folder`, sorted."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def layout_folders(source: Path, **fields: str) -> tuple[Path, ...]:
    """`source / <relative folder>` for each `layout.<field>=folder`, in order; an error naming
    the first that is not a folder."""
    paths = tuple(source / folder for folder in fields.values())
    for path, field in zip(paths, fields, strict=True):
        if not path.is_dir():
            raise DefectforgeError(f"{path}: folder not found (layout.{field})")
    return paths


def glob_images(source: Path, pattern: str, field: str) -> list[Path]:
    """Image files matching `pattern` under `source`, sorted; an error naming `field` if none."""
    found = sorted(p for p in source.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not found:
        raise DefectforgeError(
            f"{source}: no image matches {pattern!r} ({field}); check the pattern, e.g. `*/*.jpg`"
        )
    return found


def seeded_split(groups: dict[Hashable, str], share: float, seed: int) -> dict[Hashable, str]:
    """`train` / `test` per key: in each group (class), round(share * n) keys go to test, chosen
    by a generator seeded from `seed` and the group's name. Same keys, share, seed -> same split."""
    by_group: dict[str, list[Hashable]] = {}
    for key, group in groups.items():
        by_group.setdefault(group, []).append(key)
    split = {}
    for group, keys in by_group.items():
        keys = sorted(keys, key=str)
        rng = np.random.default_rng([seed, zlib.crc32(group.encode())])
        test = set(rng.permutation(len(keys))[: round(share * len(keys))].tolist())
        split.update({key: "test" if i in test else "train" for i, key in enumerate(keys)})
    return split


def check_class(info: DatasetInfo, name: str, where: str, fix: str) -> str:
    """`name` if it is a class of the dataset, else an error saying where it came from."""
    if name not in info.class_names:
        raise DefectforgeError(
            f"{where}: class {name!r} is not in datasets/{info.name}/dataset.yaml classes "
            f"{info.class_names}; {fix}"
        )
    return name


def mask_instances(
    info: DatasetInfo, mask_path: str | Path, shape: tuple[int, int], class_name: str, image: str
) -> list[InstanceRecord]:
    """One instance per 8-connected part of a mask image (> 127 = defect)."""
    mask = load_grey(mask_path) > 127
    if mask.shape != tuple(shape):
        raise DefectforgeError(f"{mask_path}: mask is {mask.shape[::-1]}, image {image} is {tuple(shape)[::-1]}")
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    if count < 2:
        raise DefectforgeError(f"{mask_path}: mask is empty but {image} is listed as a defect image")
    category = info.category_id(class_name)
    return [InstanceRecord(class_name, category, mask=labels == label) for label in range(1, count)]


def box_instance(
    info: DatasetInfo, class_name: str, box_xyxy: tuple[float, float, float, float], shape: tuple[int, int]
) -> InstanceRecord:
    """A box-only instance (its mask is the box, `mask_source: box`), clipped to the image."""
    height, width = shape
    x0, y0 = max(0.0, box_xyxy[0]), max(0.0, box_xyxy[1])
    x1, y1 = min(float(width), box_xyxy[2]), min(float(height), box_xyxy[3])
    bbox = (x0, y0, x1 - x0, y1 - y0)
    return InstanceRecord(
        class_name, info.category_id(class_name), bbox, rle=box_rle(list(bbox), height, width),
        extra={"mask_source": BOX_ONLY},
    )
