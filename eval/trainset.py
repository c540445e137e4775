"""Assemble what the detector trains on (real k images + an arm's synthetic set, tiled when the
profile asks) and the real test split, as ultralytics datasets (pipeline/data/yolo_export)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eval.detector import TestSet
from eval.inputs import write_subset
from eval.tiles import tile_coco
from pipeline.data.coco_reader import read_coco
from pipeline.data.records import ImageRecord
from pipeline.data.yolo_export import export_yolo

MONITOR_IMAGES = 4
"""ultralytics validates once at the last epoch even with val=False: on a few training images,
never on the test split (the test split is only scored after training)."""


def export_test(records: list[ImageRecord], categories: list[dict[str, Any]], out_dir: Path) -> TestSet:
    """The real test split as COCO + ultralytics dataset (reused when already exported)."""
    coco = write_subset(records, categories, out_dir / "annotations.json")
    data_yaml = out_dir / "yolo" / "data.yaml"
    if not data_yaml.is_file():
        data_yaml = export_yolo([], out_dir / "yolo", [c["name"] for c in categories],
                                val=(coco, None))
    return TestSet(data_yaml=data_yaml, coco_path=coco, images_root=coco.parent)


def maybe_tile(coco: Path, tile: int | None, out_dir: Path, categories: list[dict[str, Any]]) -> Path:
    """The COCO set itself, or its tiles when the profile trains on tiles."""
    return coco if tile is None else tile_coco(coco, tile, out_dir, categories)


def export_train(
    sources: list[Path], categories: list[dict[str, Any]], out_dir: Path
) -> Path:
    """ultralytics dataset of the merged training sources; returns its data.yaml."""
    monitor = write_subset(read_coco(sources[0])[:MONITOR_IMAGES], categories,
                           out_dir / "monitor.json")
    return export_yolo([(s, None) for s in sources], out_dir / "yolo",
                       [c["name"] for c in categories], val=(monitor, None))


def train_image_count(sources: list[Path]) -> int:
    """Images the detector trains on (tiles counted one by one)."""
    return sum(len(read_coco(s)) for s in sources)
