"""Read a COCO detection/instance file into `ImageRecord`s (RLE, polygon or box-only)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from conditioning.errors import DefectforgeError
from pipeline.data.coco_fields import CocoFieldError, field_problems
from pipeline.data.records import PROVENANCE_KEYS, ImageRecord, InstanceRecord, encode_mask

BOX_ONLY = "box"
"""`extra["mask_source"]` of an instance whose file had no segmentation (mask = its box)."""


def load_coco_json(path: str | Path) -> dict[str, Any]:
    """The parsed JSON; DefectforgeError naming the file when it is not a COCO dict."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DefectforgeError(f"{path}: cannot read COCO JSON: {error}") from error
    except RecursionError:
        raise DefectforgeError(f"{path}: cannot read COCO JSON: nested too deeply") from None
    missing = [
        k
        for k in ("images", "annotations", "categories")
        if not isinstance(document, dict) or k not in document
    ]
    if missing:
        raise DefectforgeError(f"{path}: not a COCO file, missing top-level keys {missing}")
    problems = field_problems(str(path), document)
    if problems:
        more = f" (and {len(problems) - 1} more; run `defectforge data check`)" * (len(problems) > 1)
        raise CocoFieldError(problems[0] + more, problems)
    return document


def images_root(path: str | Path, document: dict[str, Any]) -> Path:
    """Folder that `file_name`s are relative to: `info.images_root` from the JSON's folder."""
    path = Path(path).resolve()
    relative = (document.get("info") or {}).get("images_root", ".")
    return (path.parent / relative).resolve()


def segmentation_rle(segmentation: Any, height: int, width: int) -> dict[str, Any] | None:
    """Compressed JSON RLE of a COCO segmentation (polygons, RLE or compressed RLE)."""
    if not segmentation:
        return None
    if isinstance(segmentation, list):
        rle = mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
    elif isinstance(segmentation.get("counts"), list):
        rle = mask_utils.frPyObjects(segmentation, height, width)
    else:
        return {"size": list(segmentation["size"]), "counts": segmentation["counts"]}
    return {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")}


def box_rle(bbox: list[float], height: int, width: int) -> dict[str, Any]:
    """RLE of a filled box (the mask of a detection-only annotation)."""
    x, y, w, h = (float(v) for v in bbox)
    mask = np.zeros((height, width), bool)
    mask[max(round(y), 0) : round(y + h), max(round(x), 0) : round(x + w)] = True
    return encode_mask(mask)


def read_coco(path: str | Path, *, root: str | Path | None = None) -> list[ImageRecord]:
    """All images of a COCO file, in file order, with instances and provenance.

    `root` overrides the folder that `file_name`s are relative to.
    """
    path = Path(path)
    document = load_coco_json(path)
    base = Path(root).resolve() if root is not None else images_root(path, document)
    names = {int(c["id"]): str(c["name"]) for c in document["categories"]}
    by_image: dict[int, list[dict[str, Any]]] = {}
    for annotation in document["annotations"]:
        by_image.setdefault(annotation["image_id"], []).append(annotation)
    records = []
    for image in document["images"]:
        height, width = int(image["height"]), int(image["width"])
        instances = []
        for annotation in by_image.get(image["id"], []):
            instances.append(_instance(path, annotation, names, height, width))
        clean = image.get("clean_file_name")
        provenance = {k: v for k, v in image.items() if k not in _IMAGE_KEYS}
        for key in PROVENANCE_KEYS:
            provenance.setdefault(key, None)
        records.append(
            ImageRecord(
                image_path=base / image["file_name"],
                clean_path=None if clean is None else base / clean,
                width=width,
                height=height,
                instances=instances,
                provenance=provenance,
                image_id=int(image["id"]),
            )
        )
    return records


_IMAGE_KEYS = {"id", "file_name", "width", "height", "clean_file_name"}
_ANNOTATION_KEYS = {"id", "image_id", "category_id", "bbox", "area", "segmentation", "iscrowd"}


def _instance(path: Path, annotation: dict, names: dict, height: int, width: int) -> InstanceRecord:
    category_id = int(annotation["category_id"])
    if category_id not in names:
        raise DefectforgeError(
            f"{path}: annotation {annotation.get('id')} has category_id {category_id}, "
            f"not in categories {sorted(names)}"
        )
    extra = {k: v for k, v in annotation.items() if k not in _ANNOTATION_KEYS}
    rle = segmentation_rle(annotation.get("segmentation"), height, width)
    if rle is None:
        rle = box_rle(annotation["bbox"], height, width)
        extra.setdefault("mask_source", BOX_ONLY)
    return InstanceRecord(
        names[category_id], category_id, tuple(annotation["bbox"]), rle=rle, extra=extra
    )
