"""Export COCO files to an ultralytics dataset: symlinked images, label txt files, data.yaml.

Train may merge several COCO files (real + synthetic); val is one file. Class indices follow
`class_names` (the dataset.yaml order), matched by category name: no 91->80 remapping.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import yaml

from conditioning.errors import DefectforgeError
from pipeline.data.atomic import check_replaceable, fresh_temp_dir, swap_dir, write_bytes
from pipeline.data.coco_reader import read_coco
from pipeline.data.records import ImageRecord, InstanceRecord

CocoSource = tuple[str | Path, str | Path | None]
"""(COCO json, folder its file_names are relative to, or None to use the file's own info)."""


def export_yolo(
    sources: Sequence[CocoSource],
    out_dir: str | Path,
    class_names: Sequence[str],
    *,
    val: CocoSource,
    segments: bool = False,
    budget_path: str | Path | None = None,
    overwrite: bool = False,
) -> Path:
    """Write `out_dir/{images,labels}/{train,val}` and `out_dir/data.yaml`; returns data.yaml.

    `budget_path` (a budget manifest) keeps only its chosen images of the COCO file it names.
    A non-empty `out_dir` that an earlier export did not write is refused unless `overwrite`.
    """
    out_dir = Path(out_dir).resolve()
    check_replaceable(out_dir, overwrite=overwrite)
    keep = _budget_filter(budget_path)
    tmp = fresh_temp_dir(out_dir)
    try:
        for split, split_sources in (("train", list(sources)), ("val", [val])):
            for index, (coco_path, root) in enumerate(split_sources):
                records = read_coco(coco_path, root=root)
                chosen = keep.get(str(Path(coco_path).resolve()))
                if chosen is not None:
                    records = [r for r in records if r.image_id in chosen]
                for record in records:
                    _write_one(tmp, split, f"s{index}", record, class_names, segments)
        data = {
            "path": str(out_dir),
            "train": "images/train",
            "val": "images/val",
            "nc": len(class_names),
            "names": dict(enumerate(class_names)),
        }
        write_bytes(tmp / "data.yaml", yaml.safe_dump(data, sort_keys=False).encode())
        swap_dir(tmp, out_dir, overwrite=overwrite)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir / "data.yaml"


def _budget_filter(budget_path: str | Path | None) -> dict[str, set[int]]:
    if budget_path is None:
        return {}
    from pipeline.data.budget import load_budget

    budget = load_budget(budget_path)
    return {str(Path(budget.coco_path).resolve()): set(budget.image_ids)}


def _write_one(
    tmp: Path,
    split: str,
    prefix: str,
    record: ImageRecord,
    class_names: Sequence[str],
    segments: bool,
) -> None:
    if not record.image_path.is_file():
        raise DefectforgeError(
            f"{record.image_path}: image missing (is the COCO file's images root right?)"
        )
    name = f"{prefix}_{record.image_path.stem}"
    image_link = tmp / "images" / split / f"{name}{record.image_path.suffix}"
    image_link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(record.image_path.resolve(), image_link)
    lines = [_label(instance, record, class_names, segments) for instance in record.instances]
    write_bytes(
        tmp / "labels" / split / f"{name}.txt", "".join(line + "\n" for line in lines).encode()
    )


def _label(
    instance: InstanceRecord, record: ImageRecord, class_names: Sequence[str], segments: bool
) -> str:
    if instance.class_name not in class_names:
        raise DefectforgeError(
            f"{record.image_path}: class {instance.class_name!r} is not in the dataset's classes "
            f"{list(class_names)}"
        )
    index = list(class_names).index(instance.class_name)
    w, h = record.width, record.height
    if segments:
        points = _polygon(instance)
        coords = " ".join(f"{x / w:.6f} {y / h:.6f}" for x, y in points)
        return f"{index} {coords}"
    x, y, bw, bh = instance.bbox_xywh
    return f"{index} {(x + bw / 2) / w:.6f} {(y + bh / 2) / h:.6f} {bw / w:.6f} {bh / h:.6f}"


def _polygon(instance: InstanceRecord) -> np.ndarray:
    """Outline of the largest part of the mask (its box's corners if too small)."""
    contours, _ = cv2.findContours(
        instance.mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
    )
    if contours:
        largest = max(contours, key=cv2.contourArea).reshape(-1, 2).astype(float)
        if len(largest) >= 3:
            return largest
    x, y, w, h = instance.bbox_xywh
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], float)
