"""Write labelled image records as a COCO instances file (RLE masks, provenance per image)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline.data.atomic import write_json
from pipeline.data.records import PROVENANCE_KEYS, ImageRecord


def coco_document(
    records: Sequence[ImageRecord],
    categories: Sequence[dict[str, Any]],
    *,
    root: Path,
    info: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The COCO dict: ids 1.. in record order, file names relative to `root`."""
    known = {int(c["id"]): c["name"] for c in categories}
    images, annotations = [], []
    for image_id, record in enumerate(records, start=1):
        image = {
            "id": image_id,
            "file_name": _relative(record.image_path, root),
            "width": int(record.width),
            "height": int(record.height),
            "clean_file_name": None
            if record.clean_path is None
            else _relative(record.clean_path, root),
        }
        image.update({key: record.provenance.get(key) for key in PROVENANCE_KEYS})
        image.update({k: v for k, v in record.provenance.items() if k not in image})
        images.append(image)
        for instance in record.instances:
            if known.get(instance.category_id) != instance.class_name:
                raise ValueError(
                    f"{record.image_path}: instance ({instance.class_name!r}, id "
                    f"{instance.category_id}) does not match categories {known}"
                )
            rle = instance.to_rle()
            if list(rle["size"]) != [record.height, record.width]:
                raise ValueError(
                    f"{record.image_path}: mask size {rle['size']} != image "
                    f"[{record.height}, {record.width}]"
                )
            annotation = {
                "id": len(annotations) + 1,
                "image_id": image_id,
                "category_id": instance.category_id,
                "bbox": [round(v, 2) for v in instance.bbox_xywh],
                "area": instance.area(),
                "segmentation": rle,
                "iscrowd": 0,
            }
            annotation.update({k: v for k, v in instance.extra.items() if k not in annotation})
            annotations.append(annotation)
    return {
        "info": dict(info or {}),
        "images": images,
        "annotations": annotations,
        "categories": [dict(c) for c in categories],
    }


def write_coco(
    path: str | Path,
    records: Sequence[ImageRecord],
    categories: Sequence[dict[str, Any]],
    *,
    info: dict[str, Any] | None = None,
    root: str | Path | None = None,
) -> Path:
    """Write `records` atomically as COCO JSON at `path`.

    File names are stored relative to `root` (default: the JSON's folder); `info.images_root`
    records where that root is relative to the JSON's folder, so readers find the images.
    """
    path = Path(path).resolve()
    root = path.parent if root is None else Path(root).resolve()
    document = coco_document(records, categories, root=root, info=info)
    document["info"]["images_root"] = os.path.relpath(root, path.parent)
    write_json(path, document)
    return path


def _relative(file: Path, root: Path) -> str:
    return Path(os.path.relpath(Path(file).resolve(), root)).as_posix()
