"""Validate a COCO instances file: pycocotools load, ids, boxes, RLE sizes, areas, box/mask agreement."""

from __future__ import annotations

import contextlib
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from conditioning.errors import DefectforgeError
from pipeline.data.coco_reader import images_root as default_root
from pipeline.data.coco_reader import load_coco_json, segmentation_rle
from pipeline.data.records import PROVENANCE_KEYS, decode_mask
from pipeline.paths import runs_root

BOX_TOLERANCE = 1.0
"""px a mask may stick out of its box (rounding)."""
MAX_LISTED = 20
"""At most this many names outside the images folder are listed."""
POLYGON_AREA_TOLERANCE = 0.1
"""relative: polygon areas are computed geometrically, rasterised masks differ a little."""


@dataclass
class CocoReport:
    """Result of `check_coco`: counts, problems (make it invalid) and warnings."""

    path: Path
    images: int = 0
    annotations: int = 0
    categories: int = 0
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_coco(
    path: str | Path, *, images_root: str | Path | None = None, check_files: bool = True
) -> CocoReport:
    """Check a COCO file; never raises for a bad file, lists every problem instead."""
    path = Path(path)
    report = CocoReport(path)
    try:
        document = load_coco_json(path)
    except DefectforgeError as error:
        report.problems.extend(getattr(error, "problems", None) or [str(error)])
        return report
    report.images, report.annotations = len(document["images"]), len(document["annotations"])
    report.categories = len(document["categories"])
    _pycocotools_load(path, report)
    images = _check_ids(document, report)
    category_ids = {c.get("id") for c in document["categories"]}
    for annotation in document["annotations"]:
        _check_annotation(annotation, images, category_ids, report)
    _check_images(path, document, images_root, check_files, report)
    return report


def _pycocotools_load(path: Path, report: CocoReport) -> None:
    from pycocotools.coco import COCO

    try:
        with contextlib.redirect_stdout(io.StringIO()):
            COCO(str(path))
    except Exception as error:  # noqa: BLE001 - any failure of the reference loader is a problem
        report.problems.append(
            f"{path}: pycocotools cannot load it: {type(error).__name__}: {error}"
        )


def _check_ids(document: dict[str, Any], report: CocoReport) -> dict[int, dict[str, Any]]:
    for key in ("images", "annotations", "categories"):
        ids = [item.get("id") for item in document[key]]
        bad = [i for i in ids if not isinstance(i, int) or isinstance(i, bool)]
        if bad:
            report.problems.append(f"{report.path}: {key}: ids must be integers (got {bad[0]!r})")
        dup = [i for i, n in Counter(map(repr, ids)).items() if n > 1]
        if dup:
            report.problems.append(f"{report.path}: {key}: duplicate id {dup[0]}")
    return {image.get("id"): image for image in document["images"]}


def _check_annotation(
    annotation: dict[str, Any], images: dict[int, dict], category_ids: set, report: CocoReport
) -> None:
    where = f"{report.path}: annotation {annotation.get('id')}"
    problems = report.problems
    image = images.get(annotation.get("image_id"))
    if image is None:
        problems.append(f"{where}: image_id {annotation.get('image_id')!r} is not an image id")
        return
    if annotation.get("category_id") not in category_ids:
        problems.append(
            f"{where}: category_id {annotation.get('category_id')!r} not in categories "
            f"{sorted(category_ids, key=str)}"
        )
    if annotation.get("iscrowd", 0) not in (0, 1):
        problems.append(f"{where}: iscrowd must be 0 or 1 (got {annotation.get('iscrowd')!r})")
    bbox = annotation.get("bbox")
    height, width = image.get("height", 0), image.get("width", 0)
    if not (
        isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(v, int | float) for v in bbox)
    ):
        problems.append(f"{where}: bbox must be [x, y, w, h] numbers (got {bbox!r})")
        return
    x, y, w, h = bbox
    if (
        w <= 0
        or h <= 0
        or x < -BOX_TOLERANCE
        or y < -BOX_TOLERANCE
        or x + w > width + BOX_TOLERANCE
        or y + h > height + BOX_TOLERANCE
    ):
        problems.append(f"{where}: bbox {bbox} is empty or outside the {width}x{height} image")
    segmentation = annotation.get("segmentation")
    if not segmentation:
        return
    try:
        rle = segmentation_rle(segmentation, height, width)
        if list(rle["size"]) != [height, width]:
            problems.append(
                f"{where}: RLE size {rle['size']} != image [height, width] [{height}, {width}]"
            )
            return
        mask = decode_mask(rle)
    except Exception as error:  # noqa: BLE001 - a malformed segmentation of any kind
        problems.append(f"{where}: segmentation cannot be decoded: {error}")
        return
    _check_mask(where, annotation, mask, isinstance(segmentation, list), report)


def _check_mask(
    where: str, annotation: dict, mask: np.ndarray, polygon: bool, report: CocoReport
) -> None:
    pixels = int(mask.sum())
    if pixels == 0:
        report.problems.append(f"{where}: mask is empty")
        return
    area = annotation.get("area")
    tolerance = max(1.0, POLYGON_AREA_TOLERANCE * pixels) if polygon else 0.5
    if not isinstance(area, int | float) or abs(area - pixels) > tolerance:
        report.problems.append(f"{where}: area {area!r} != mask pixel count {pixels}")
    ys, xs = np.nonzero(mask)
    x, y, w, h = annotation["bbox"]
    t = BOX_TOLERANCE
    if xs.min() < x - t or ys.min() < y - t or xs.max() + 1 > x + w + t or ys.max() + 1 > y + h + t:
        report.problems.append(
            f"{where}: mask spans x {xs.min()}..{xs.max()}, y {ys.min()}..{ys.max()}, outside its bbox {annotation['bbox']}"
        )


def _outside_names(document: dict, root: Path) -> list[str]:
    """Image names that resolve outside the images folder (and outside runs/, where defectforge's
    own COCO files point into prepared data with `..`): `../../etc/passwd` is not an image."""
    found = []
    for index, image in enumerate(document["images"]):
        for key in ("file_name", "clean_file_name"):
            name = image.get(key)
            if isinstance(name, str) and not _inside_allowed(root / name, root):
                found.append(
                    f"images[{index}]: `{key}` {name!r} resolves outside the images folder {root} "
                    "(pass --images-root, or fix the name)"
                )
    return found


def _inside_allowed(file: Path, root: Path) -> bool:
    resolved = file.resolve()
    return resolved.is_relative_to(root.resolve()) or resolved.is_relative_to(runs_root())


def _check_images(
    path: Path,
    document: dict,
    images_root: str | Path | None,
    check_files: bool,
    report: CocoReport,
) -> None:
    explicit = images_root is not None or "images_root" in (document.get("info") or {})
    root = Path(images_root) if images_root is not None else default_root(path, document)
    missing_provenance = [
        i.get("id") for i in document["images"] if any(k not in i for k in PROVENANCE_KEYS)
    ]
    if missing_provenance:
        report.warnings.append(
            f"{path}: {len(missing_provenance)} image(s) lack provenance keys "
            f"{list(PROVENANCE_KEYS)} (e.g. image {missing_provenance[0]})"
        )
    outside = _outside_names(document, root)
    report.problems += [f"{path}: {where}" for where in outside[:MAX_LISTED]]
    if not check_files:
        return
    missing = []
    for image in document["images"]:
        for key in ("file_name", "clean_file_name"):
            name = image.get(key)
            if name is not None and _inside_allowed(root / name, root) and not (root / name).is_file():
                missing.append(f"{key} {root / name}")
    if missing:
        message = f"{path}: {len(missing)} file(s) missing, e.g. {missing[0]}"
        (report.problems if explicit else report.warnings).append(
            message if explicit else message + " (pass --images-root)"
        )
